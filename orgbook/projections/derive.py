"""Every projection the API serves, derived from the ledger alone into a scratch database.

What the projection audit (:mod:`orgbook.projections.audit`) compares the served tables
with. One derivation, not two: organisations, credentials and their history, names,
relationships, status-list bits and the search index come from the same code as
``orgbook ledger replay`` (:func:`orgbook.projections.replay.replay`), run against a scratch
SQLite database while reading the entries from the audited one. ``replay`` keeps issuers and
their keys (they carry sealed private keys, which are not on the ledger); their public half is
on the ledger (``issuer.registered``, ``issuer.key.added``, ``issuer.key.retired``) and is
derived here, before the replay, which needs the issuers.

The replay also re-checks every issuance against the authorisations in force at its index: a
``credential.issued`` entry neither of a registry type its issuer is registered for nor covered
by an authorisation is a :class:`DerivationError`.

The scratch database also gets the audited index's letter rules (``search_fold``), so names
normalise the same way on both sides whatever the backend.

Reads the audited database only; writes only the scratch database. The caller has audited the
ledger first, so the stored ``kind`` column (checked against the hashed bytes) can select
entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select, update

from orgbook.core.errors import BadInput, LedgerIntegrityError
from orgbook.core.multibase import decode_multikey_ed25519
from orgbook.core.time import parse_time
from orgbook.ledger.entry import Entry
from orgbook.ledger.store import Ledger, StoredEntry, ledger_entries
from orgbook.storage.engine import make_engine
from orgbook.storage.migrations import upgrade

__all__ = ["ISSUER_KINDS", "DerivationError", "derive", "scratch_engine"]

ISSUER_KINDS = ("issuer.registered", "issuer.key.added", "issuer.key.retired")

Progress = Callable[[int, int], None]


class DerivationError(LedgerIntegrityError):
    """A sound ledger whose entries the projections cannot be derived from."""


class _ReadingFrom(Ledger):
    """The audited ledger as ``replay`` sees it: entries and size read from ``source``, whatever
    connection ``replay`` passes (its own is the scratch database it writes)."""

    def __init__(self, ledger: Ledger, source: Connection) -> None:
        super().__init__(origin=ledger.origin, verifiers=ledger.verifiers)
        self._source = source

    def size(self, conn: Connection) -> int:
        return super().size(self._source)

    def entries(self, conn: Connection, start: int, end: int) -> list[StoredEntry]:
        return super().entries(self._source, start, end)


@contextmanager
def scratch_engine(directory: str | Path | None = None) -> Iterator[Engine]:
    """A new SQLite database with every orgbook table, in a temporary directory (removed after).

    Durability is off (journal in memory, no syncs): it is thrown away, and a crash only means
    running the audit again.
    """
    with TemporaryDirectory(prefix="orgbook-audit-", dir=directory) as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'derived.sqlite3'}")

        @event.listens_for(engine, "connect")
        def _scratch(dbapi_conn: Any, _record: Any) -> None:
            # After orgbook.storage.engine's set-up (WAL): the journal in memory (the file only
            # grows, so it
            # holds little), no syncs.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=MEMORY")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.close()

        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def _timestamp(entry: Entry) -> datetime:
    return parse_time(entry.timestamp)


def _issuer_entries(source: Connection, batch: int) -> Iterator[Entry]:
    """The issuer entries in index order, by the (audited) ``kind`` column, a batch at a time."""
    last = -1
    while True:
        rows = source.execute(
            select(ledger_entries.c.idx, ledger_entries.c.data)
            .where(ledger_entries.c.kind.in_(ISSUER_KINDS), ledger_entries.c.idx > last)
            .order_by(ledger_entries.c.idx)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield Entry.from_leaf_bytes(bytes(row.data))
        last = int(rows[-1].idx)


def derive_issuers(source: Connection, scratch: Connection, *, batch: int = 1000) -> int:
    """The ``issuers`` and public ``issuer_keys`` rows, from the issuer entries; how many."""
    from orgbook.projections.tables import issuer_keys, issuers

    count = 0
    for entry in _issuer_entries(source, batch):
        payload, at = entry.payload, _timestamp(entry)
        try:
            if entry.kind == "issuer.registered":
                issuer = payload["issuer"]
                scratch.execute(
                    issuers.insert().values(
                        id=str(issuer["id"]),
                        did=str(issuer["did"]),
                        name=str(issuer["name"]),
                        jurisdiction=str(issuer["jurisdiction"]),
                        credential_types=json.dumps(list(issuer["credentialTypes"])),
                        created_at=at,
                        ledger_index=entry.index,
                        next_status_index=0,
                    )
                )
            elif entry.kind == "issuer.key.added":
                scratch.execute(
                    issuer_keys.insert().values(
                        key_id=str(payload["keyId"]),
                        issuer_id=str(payload["issuer"]),
                        public_key=decode_multikey_ed25519(str(payload["publicKeyMultibase"])),
                        sealed_private_key=None,
                        active=True,
                        created_at=at,
                        added_index=entry.index,
                    )
                )
            else:  # issuer.key.retired
                scratch.execute(
                    update(issuer_keys)
                    .where(issuer_keys.c.key_id == str(payload["keyId"]))
                    .values(active=False, retired_at=at, retired_index=entry.index)
                )
        except (KeyError, TypeError, BadInput) as exc:
            raise DerivationError(
                f"entry {entry.index}: malformed {entry.kind} payload ({exc!r})", index=entry.index
            ) from exc
        count += 1
    return count


def _derive_next_status_index(scratch: Connection) -> None:
    """Every issued credential took the next status index of its issuer, none was skipped."""
    from orgbook.projections.tables import credentials, issuers

    allocated = scratch.execute(
        select(credentials.c.issuer_id, func.max(credentials.c.status_index) + 1).group_by(
            credentials.c.issuer_id
        )
    ).all()
    for issuer_id, next_index in allocated:
        scratch.execute(
            update(issuers).where(issuers.c.id == issuer_id).values(next_status_index=next_index)
        )


def derive(
    source: Connection,
    ledger: Ledger,
    scratch: Connection,
    *,
    progress: Progress | None = None,
) -> None:
    """Derive every projection of ``source``'s ledger into ``scratch`` (its transaction)."""
    from orgbook.projections.replay import replay
    from orgbook.search import read_folding, store_folding

    rules = read_folding(source)
    if rules is not None:
        store_folding(scratch, rules)
    derive_issuers(source, scratch)
    done = [0]

    def replayed(entries: int, total: int) -> None:
        done[0] = entries
        if progress is not None:
            progress(entries, total)

    try:
        report = replay(scratch, _ReadingFrom(ledger, source), progress=replayed)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        # A sound ledger whose payloads replay cannot read: say so rather than crash.
        raise DerivationError(
            f"the projections cannot be derived from the entries from {done[0]} on ({exc!r})",
            index=done[0],
        ) from exc
    if report.unauthorised:
        index, reason = report.unauthorised[0]
        raise DerivationError(
            f"entry {index}: a credential issued without an authorisation in force ({reason})",
            index=index,
        )
    _derive_next_status_index(scratch)
