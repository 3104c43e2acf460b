"""Bulk export of the register, stamped with a signed checkpoint.

What it owns: one line per organisation with its credentials that are current *at the stamped
checkpoint* (tree size N): issued at an index below N and not superseded or revoked by an entry
below N — computed from ``credentials`` and ``credential_events``, so the export is exactly the
register as of the checkpoint even if the ledger grew since. Every credential carries its ledger
index and leaf hash; in JSON Lines it also carries its ledger entry, byte for byte (the signed
credential is ``entry.payload.credential``), so the leaf hash can be recomputed from the file.
The first line (JSONL) or the header comments (CSV) hold the signed checkpoint; the last line
counts what was written, so a truncated file is detected.

It reads one snapshot (``REPEATABLE READ`` on PostgreSQL, one read transaction on SQLite), streams
rows with a server-side cursor (``yield_per``) in organisation order and holds one organisation
at a time: memory does not grow with the register.

What it must not do: verify an export (:mod:`orgbook.feeds.export_verify`, which reads the format
this module writes) or serve it (:mod:`orgbook.feeds.api`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import IO, Any, Literal

import orjson
from sqlalchemy import Connection, Engine, and_, exists, select

from orgbook.core.errors import BadInput, NotFound
from orgbook.core.time import format_time
from orgbook.feeds.feed import ledger_size
from orgbook.ledger.note import Checkpoint, parse_note
from orgbook.ledger.store import ledger_checkpoints, ledger_entries
from orgbook.projections.tables import credential_events, credentials, organisations
from orgbook.storage.engine import reading

__all__ = [
    "CSV_COLUMNS",
    "ExportStamp",
    "ExportSummary",
    "export_lines",
    "snapshot",
    "write_export",
]

Format = Literal["jsonl", "csv"]
EXPORT_TYPE = "orgbook.export"
END_TYPE = "orgbook.export.end"
VERSION = 1
YIELD_PER = 2000
CSV_COLUMNS = (
    "id",
    "jurisdiction",
    "registration_number",
    "name",
    "status",
    "entity_type",
    "business_number",
    "registered_date",
    "street_address",
    "locality",
    "region",
    "postal_code",
    "country",
    "credentials",
)
"""``credentials``: ``type|ledger index|leaf hash|credential id`` items separated by ``;``."""


@dataclass(frozen=True, slots=True)
class ExportStamp:
    """The checkpoint an export reflects."""

    note: str
    size: int
    root: bytes
    origin: str


@dataclass(slots=True)
class ExportSummary:
    stamp: ExportStamp
    organisations: int = 0
    credentials: int = 0


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read snapshot: ``REPEATABLE READ`` on PostgreSQL, a read transaction on
    SQLite (WAL readers see the database as of their first read, and take no write lock)."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        with conn, conn.begin():
            yield conn
    else:
        with reading(engine) as conn:
            yield conn


def latest_stamp(conn: Connection) -> ExportStamp:
    """The latest signed checkpoint; :class:`NotFound` before the first."""
    note = conn.execute(
        select(ledger_checkpoints.c.note).order_by(ledger_checkpoints.c.size.desc()).limit(1)
    ).scalar()
    if note is None:
        raise NotFound("the ledger has no signed checkpoint yet: nothing to stamp an export with")
    checkpoint = Checkpoint.parse(parse_note(str(note)).text)
    return ExportStamp(str(note), checkpoint.size, checkpoint.root, checkpoint.origin)


# --- reading the register as of the checkpoint --------------------------------------------------


def _current_at(size: int, *, at_head: bool) -> Any:
    """Credentials current in the tree of ``size``, in organisation order.

    ``at_head``: the checkpoint is the whole ledger, so the projection's own ``suspended`` flag
    is exact and the per-credential suspension lookup is skipped.
    """
    c, ce, o, e = credentials, credential_events, organisations, ledger_entries
    ended = exists().where(
        and_(
            ce.c.credential_id == c.c.id,
            ce.c.kind.in_(("superseded", "revoked")),
            ce.c.ledger_index < size,
        )
    )
    suspension = (
        select(ce.c.kind)
        .where(
            ce.c.credential_id == c.c.id,
            ce.c.kind.in_(("suspended", "unsuspended")),
            ce.c.ledger_index < size,
        )
        .order_by(ce.c.ledger_index.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            c.c.organisation_id,
            o.c.jurisdiction,
            o.c.registration_number,
            c.c.id,
            c.c.type,
            c.c.ledger_index,
            e.c.leaf_hash,
            e.c.data,
            (c.c.suspended if at_head else suspension == "suspended").label("suspended"),
        )
        .select_from(c.join(o, o.c.id == c.c.organisation_id).join(e, e.c.idx == c.c.ledger_index))
        .where(c.c.ledger_index < size, ~ended)
        .order_by(c.c.organisation_id, c.c.type, c.c.ledger_index)
    )


@dataclass(slots=True)
class _Credential:
    id: str
    type: str
    index: int
    leaf_hash: bytes
    entry: bytes
    suspended: bool
    subject: dict[str, Any]


@dataclass(slots=True)
class _Organisation:
    id: str
    jurisdiction: str
    registration_number: str
    credentials: list[_Credential] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Name, status… from the credentials in the export (not from a newer projection)."""
        by_type: dict[str, dict[str, Any]] = {}
        address: dict[str, Any] = {}
        for cred in self.credentials:
            by_type.setdefault(cred.type, cred.subject)
            if cred.type == "address" and (
                not address or cred.subject.get("addressType") == "registered"
            ):
                address = cred.subject
        registration = by_type.get("registration", {})
        entity = registration.get("entityType")
        return {
            "id": self.id,
            "jurisdiction": self.jurisdiction,
            "registrationNumber": self.registration_number,
            "name": by_type.get("legal-name", {}).get("legalName")
            or registration.get("registeredName"),
            "status": by_type.get("status", {}).get("status"),
            "entityType": entity.get("code") if isinstance(entity, dict) else None,
            "businessNumber": by_type.get("business-number", {}).get("businessNumber"),
            "registeredDate": registration.get("registeredDate"),
            "address": {
                k: address.get(k)
                for k in (
                    "streetAddress",
                    "addressLocality",
                    "addressRegion",
                    "postalCode",
                    "addressCountry",
                )
            }
            if address
            else None,
        }


def _organisations(conn: Connection, size: int) -> Iterator[_Organisation]:
    at_head = ledger_size(conn) == size
    result = conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(
        _current_at(size, at_head=at_head)
    )
    for org_id, rows in groupby(result, key=lambda row: row.organisation_id):
        org: _Organisation | None = None
        for row in rows:
            if org is None:
                org = _Organisation(org_id, row.jurisdiction, row.registration_number)
            data = bytes(row.data)
            entry = orjson.loads(data)
            credential = entry.get("payload", {}).get("credential", {})
            if not isinstance(credential, dict):
                credential = {}
            subject = credential.get("credentialSubject", {})
            org.credentials.append(
                _Credential(
                    id=row.id,
                    type=row.type,
                    index=int(row.ledger_index),
                    leaf_hash=bytes(row.leaf_hash),
                    entry=data,
                    suspended=bool(row.suspended),
                    subject=subject if isinstance(subject, dict) else {},
                )
            )
        if org is not None:
            yield org


# --- writing ------------------------------------------------------------------------------------


def _now() -> str:
    return format_time(datetime.now(UTC), "seconds")


def _jsonl(conn: Connection, summary: ExportSummary) -> Iterator[bytes]:
    stamp = summary.stamp
    yield (
        orjson.dumps(
            {
                "type": EXPORT_TYPE,
                "version": VERSION,
                "format": "jsonl",
                "origin": stamp.origin,
                "treeSize": stamp.size,
                "rootHash": stamp.root.hex(),
                "checkpoint": stamp.note,
                "generatedAt": _now(),
            }
        )
        + b"\n"
    )
    for org in _organisations(conn, stamp.size):
        summary.organisations += 1
        summary.credentials += len(org.credentials)
        yield (
            orjson.dumps(
                {
                    "organisation": org.summary(),
                    "credentials": [
                        {
                            "id": cred.id,
                            "type": cred.type,
                            "ledgerIndex": cred.index,
                            "leafHash": cred.leaf_hash.hex(),
                            "suspended": cred.suspended,
                            "entry": orjson.Fragment(cred.entry),
                        }
                        for cred in org.credentials
                    ],
                }
            )
            + b"\n"
        )
    yield (
        orjson.dumps(
            {
                "type": END_TYPE,
                "organisations": summary.organisations,
                "credentials": summary.credentials,
            }
        )
        + b"\n"
    )


def _csv_row(values: list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


def _csv(conn: Connection, summary: ExportSummary) -> Iterator[bytes]:
    stamp = summary.stamp
    head = [
        f"# {EXPORT_TYPE} v{VERSION} format=csv tree_size={stamp.size} "
        f"root={stamp.root.hex()} generated={_now()}",
        "# checkpoint:",
        *(f"# {line}" for line in stamp.note.split("\n")[:-1]),
        "# end checkpoint",
    ]
    yield ("\n".join(head) + "\n").encode("utf-8")
    yield _csv_row(list(CSV_COLUMNS))
    for org in _organisations(conn, stamp.size):
        summary.organisations += 1
        summary.credentials += len(org.credentials)
        s = org.summary()
        address = s["address"] or {}
        yield _csv_row(
            [
                s["id"],
                s["jurisdiction"],
                s["registrationNumber"],
                s["name"],
                s["status"],
                s["entityType"],
                s["businessNumber"],
                s["registeredDate"],
                address.get("streetAddress"),
                address.get("addressLocality"),
                address.get("addressRegion"),
                address.get("postalCode"),
                address.get("addressCountry"),
                ";".join(f"{c.type}|{c.index}|{c.leaf_hash.hex()}|{c.id}" for c in org.credentials),
            ]
        )
    yield (
        f"# {END_TYPE} organisations={summary.organisations} credentials={summary.credentials}\n"
    ).encode()


def export_lines(conn: Connection, fmt: Format, summary: ExportSummary) -> Iterator[bytes]:
    """The export's bytes, line by line, from ``conn`` (a :func:`snapshot`)."""
    if fmt == "jsonl":
        return _jsonl(conn, summary)
    if fmt == "csv":
        return _csv(conn, summary)
    raise BadInput("format must be jsonl or csv", field="format")


def write_export(engine: Engine, fmt: Format, out: IO[bytes]) -> ExportSummary:
    """Write the export of the register at the latest checkpoint to ``out``."""
    with snapshot(engine) as conn:
        summary = ExportSummary(latest_stamp(conn))
        buffer: list[bytes] = []
        pending = 0
        for line in export_lines(conn, fmt, summary):
            buffer.append(line)
            pending += len(line)
            if pending >= 1 << 20:
                out.write(b"".join(buffer))
                buffer, pending = [], 0
        out.write(b"".join(buffer))
    return summary
