"""Concurrent writers (threads and processes) and killed writers never break the ledger."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from orgbook.ledger.audit import audit
from orgbook.ledger.store import Ledger, ledger_entries

ORIGIN = "orgbook.example/ledger"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def assert_sound(engine: Engine, expected: int) -> None:
    ledger = Ledger(origin=ORIGIN)
    with engine.connect() as conn:
        assert ledger.size(conn) == expected
        indices = conn.execute(select(ledger_entries.c.idx).order_by(ledger_entries.c.idx))
        assert [int(i) for i in indices.scalars()] == list(range(expected))
        report = audit(conn, ledger)
    assert report.ok, report.reason
    assert report.size == expected


def test_threads_append_without_gaps_or_forks(engine: Engine) -> None:
    ledger = Ledger(origin=ORIGIN)
    errors: list[BaseException] = []
    writers, each = 8, 200

    def writer(n: int) -> None:
        try:
            for i in range(each):
                with engine.begin() as conn:
                    ledger.append(conn, "credential.issued", {"writer": n, "i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert_sound(engine, writers * each)
    seen: set[tuple[int, int]] = set()
    with engine.connect() as conn:
        for start in range(0, writers * each, 1000):
            for stored in ledger.entries(conn, start, start + 1000):
                seen.add((stored.entry.payload["writer"], stored.entry.payload["i"]))
    assert seen == {(n, i) for n in range(writers) for i in range(each)}  # each exactly once


WRITER = textwrap.dedent(
    """
    import sys
    from orgbook.storage.engine import make_engine
    from orgbook.ledger.store import Ledger

    url, name, count, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    engine = make_engine(url)
    ledger = Ledger(origin="orgbook.example/ledger")
    done = 0
    while count < 0 or done < count:
        with engine.begin() as conn:
            ledger.append_many(
                conn,
                [("credential.issued", {"writer": name, "i": done + k, "pad": "x" * 300})
                 for k in range(batch)],
            )
        done += batch
        print(done, flush=True)
    """
)


def spawn(url: str, name: str, count: int, batch: int) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, name, str(count), str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_processes_append_without_gaps_or_forks(engine: Engine, db_url: str) -> None:
    procs = [spawn(db_url, f"p{n}", 200, 1) for n in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert_sound(engine, 4 * 200)


def test_a_writer_killed_mid_batch_leaves_a_sound_ledger(engine: Engine, db_url: str) -> None:
    batch = 3000
    proc = spawn(db_url, "victim", -1, batch)
    assert proc.stdout is not None
    # Let two batches commit, then kill it while the third is in flight.
    assert proc.stdout.readline().strip() == str(batch)
    assert proc.stdout.readline().strip() == str(2 * batch)
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps it and closes the pipes
    assert proc.returncode == -signal.SIGKILL
    with engine.connect() as conn:
        size = Ledger(origin=ORIGIN).size(conn)
    assert size % batch == 0  # whole batches only
    assert size >= 2 * batch
    assert_sound(engine, size)
    # The lock died with the process: the next writer goes straight on.
    ledger = Ledger(origin=ORIGIN)
    with engine.begin() as conn:
        assert ledger.append(conn, "credential.issued", {"after": "crash"}).index == size
    assert_sound(engine, size + 1)
