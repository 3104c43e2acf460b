"""A ``limits`` storage in a SQLite file: rate-limit counters shared by the workers of one host.

``limits`` (the maintained rate-limiting library) keeps its counters in memory (one process),
Redis, Valkey, Memcached or MongoDB (servers to run). ``orgbook serve --workers N`` on one host
needs neither: its workers share this file, registered with ``limits`` under the scheme
``orgbook+sqlite`` (``orgbook+sqlite:///path/to/ratelimit.sqlite3``). Replicas on several hosts
use one of ``limits``' own server storages (``ORGBOOK_RATE_LIMIT_STORAGE=redis://…``).

Counters are fixed windows; the sliding-window-counter strategy weighs the previous window's
count, as ``limits``' own storages do (``TimestampedSlidingWindow`` keys). An acquisition reads
both windows and increments in one ``BEGIN IMMEDIATE`` transaction, so concurrent workers cannot
both take the last token. The file holds nothing durable: ``synchronous=OFF``, and losing it
only forgets who used what. Expired windows are deleted now and then by whoever writes.

What it must not do: know about HTTP or routes (``orgbook.http.ratelimit`` does).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from limits.storage import Storage
from limits.storage.base import SlidingWindowCounterSupport, TimestampedSlidingWindow

__all__ = ["SCHEME", "SQLiteStorage"]

SCHEME = "orgbook+sqlite"
_PURGE_EVERY = 1000
"""Writes between two deletions of expired windows."""


class SQLiteStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """Rate-limit counters in a SQLite file, safe to share between processes."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 - limits' registry reads a plain list

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        path = uri.split("://", 1)[1]
        if not path or path == "/":
            raise ValueError(f"{uri!r}: give a file, {SCHEME}:///path/to/ratelimit.sqlite3")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._writes = 0
        self._conn = sqlite3.connect(
            self.path, timeout=10, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS counters"
            " (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)"
        )
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    # --- counters -------------------------------------------------------------------------------

    def _incr(self, key: str, expiry: float, amount: int, now: float) -> int:
        row = self._conn.execute(
            "INSERT INTO counters (key, value, expires) VALUES (?1, ?2, ?3)"
            " ON CONFLICT (key) DO UPDATE SET"
            " value = CASE WHEN expires <= ?4 THEN ?2 ELSE value + ?2 END,"
            " expires = CASE WHEN expires <= ?4 THEN ?3 ELSE expires END"
            " RETURNING value",
            (key, amount, now + expiry, now),
        ).fetchone()
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self._conn.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return int(row[0])

    def _get(self, key: str, now: float) -> tuple[int, float]:
        row = self._conn.execute(
            "SELECT value, expires FROM counters WHERE key = ? AND expires > ?", (key, now)
        ).fetchone()
        return (int(row[0]), float(row[1])) if row else (0, now)

    def _transaction(self) -> Any:
        return _Immediate(self._conn, self._lock)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._transaction():
            return self._incr(key, expiry, amount, time.time())

    def get(self, key: str) -> int:
        with self._lock:
            return self._get(key, time.time())[0]

    def get_expiry(self, key: str) -> float:
        with self._lock:
            return self._get(key, time.time())[1]

    def check(self) -> bool:
        try:
            with self._lock:
                self._conn.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._transaction():
            return self._conn.execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        with self._transaction():
            self._conn.execute("DELETE FROM counters WHERE key = ?", (key,))

    # --- sliding window counter -------------------------------------------------------------------

    def _window(self, key: str, expiry: int, now: float) -> tuple[int, float, int, float]:
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous, _ = self._get(previous_key, now)
        current, _ = self._get(current_key, now)
        # As limits' memory storage computes them.
        previous_ttl = 0.0 if previous == 0 else (1 - (((now - expiry) / expiry) % 1)) * expiry
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous, previous_ttl, current, current_ttl

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        if amount > limit:
            return False
        with self._transaction():
            now = time.time()
            previous, previous_ttl, current, _ = self._window(key, expiry, now)
            if math.floor(previous * previous_ttl / expiry + current) + amount > limit:
                return False
            _, current_key = self.sliding_window_keys(key, expiry, now)
            self._incr(current_key, 2 * expiry, amount, now)
            return True

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        with self._lock:
            return self._window(key, expiry, time.time())

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        previous_key, current_key = self.sliding_window_keys(key, expiry, time.time())
        self.clear(previous_key)
        self.clear(current_key)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _Immediate:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error) under the process's lock."""

    __slots__ = ("_conn", "_lock")

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            self._conn.execute("ROLLBACK" if kind is not None else "COMMIT")
        finally:
            self._lock.release()
