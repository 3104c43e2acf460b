"""Bulk export of the register, stamped with a signed checkpoint, and its verification.

**Export.** One line per organisation with its credentials that are current *at the stamped
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

**Verification** (:func:`verify_export`): the checkpoint's signature with the ledger's key; for
each JSONL credential, that its entry hashes to its leaf hash, names it, its organisation and
index; and that every (index, leaf hash) is in the tree of the checkpoint — either from a local
database, by re-deriving the whole tree's root from the stored leaf hashes (one pass, no per-
credential proof), or online, with one RFC 9162 inclusion proof per credential (or from a
static tile export: :mod:`orgbook.feeds.remote`). A credential whose proof cannot be had is
counted *unchecked*, never invalid.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import IO, Any, Literal, Protocol

import orjson
from sqlalchemy import Connection, Engine, and_, exists, select

from orgbook.canonical import canonicalize
from orgbook.db import reading
from orgbook.errors import BadInput, NotFound, OrgBookError, RateLimited, VerificationError
from orgbook.feeds.feed import ledger_size
from orgbook.issuer.store import credential_events, credentials, organisations
from orgbook.ledger.merkle import leaf_hash as compute_leaf_hash
from orgbook.ledger.merkle import node_hash, verify_inclusion
from orgbook.ledger.note import Checkpoint, NoteVerifier, open_checkpoint, parse_note
from orgbook.ledger.store import ledger_checkpoints, ledger_entries, ledger_nodes

__all__ = [
    "CSV_COLUMNS",
    "ExportStamp",
    "ExportSummary",
    "ExportVerification",
    "LocalLeaves",
    "OnlineProofs",
    "export_lines",
    "snapshot",
    "verify_export",
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
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


# --- verification -------------------------------------------------------------------------------


@dataclass(slots=True)
class ExportVerification:
    """What :func:`verify_export` found.

    ``invalid`` when something does not verify (``problems``); ``valid`` only when nothing does
    not verify *and* every credential was checked. A credential whose proof could not be had
    (the registry rate-limited or failed, tiles missing) is ``unchecked``: neither proven nor
    invalid.
    """

    tree_size: int = 0
    organisations: int = 0
    credentials: int = 0
    proven: int = 0
    problems: list[str] = field(default_factory=list)
    max_problems: int = 20
    end_marker: tuple[int, int] | None = None
    """(organisations, credentials) as the export's last line counts them."""
    unchecked: int = 0
    unchecked_reasons: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> bool:
        return bool(self.problems)

    @property
    def valid(self) -> bool:
        return not self.problems and not self.unchecked

    def fail(self, message: str) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(message)
        elif len(self.problems) == self.max_problems:
            self.problems.append("… (further problems not listed)")

    def skip(self, count: int, reason: str) -> None:
        """``count`` credentials could not be checked, for ``reason``."""
        self.unchecked += count
        if len(self.unchecked_reasons) < self.max_problems:
            self.unchecked_reasons.append(reason)


class ProofSource(Protocol):
    """Checks that every expected leaf is in the tree (size, root); reports into ``report``."""

    def check(
        self, expected: dict[int, bytes], size: int, root: bytes, report: ExportVerification
    ) -> None: ...


class LocalLeaves:
    """Proofs from a local database: re-derive the root of the first ``size`` leaves in one pass
    over the stored leaf hashes, checking each expected leaf on the way."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check(
        self, expected: dict[int, bytes], size: int, root: bytes, report: ExportVerification
    ) -> None:
        n = ledger_nodes
        stack: list[tuple[int, bytes]] = []
        count = 0
        with reading(self.engine) as conn:
            rows = conn.execution_options(stream_results=True, yield_per=20_000).execute(
                select(n.c.idx, n.c.hash).where(n.c.level == 0, n.c.idx < size).order_by(n.c.idx)
            )
            for idx, h in rows:
                h = bytes(h)
                if idx != count:
                    report.fail(f"the local ledger has no leaf {count}")
                    return
                want = expected.get(idx)
                if want is not None:
                    if want == h:
                        report.proven += 1
                    else:
                        report.fail(f"entry {idx}: leaf hash differs from the local ledger's")
                count += 1
                level = 0
                while stack and stack[-1][0] == level:
                    h = node_hash(stack.pop()[1], h)
                    level += 1
                stack.append((level, h))
        if count != size:
            report.fail(f"the local ledger has {count} entries, fewer than the checkpoint's {size}")
            return
        computed = stack.pop()[1] if stack else b""
        while stack:
            computed = node_hash(stack.pop()[1], computed)
        if size and computed != root:
            report.fail("the local ledger's root differs from the checkpoint's: not this ledger")
            report.proven = 0


class OnlineProofs:
    """One RFC 9162 inclusion proof per credential from a registry (``--online URL``).

    A proof ``fetch`` cannot get leaves its credential unchecked, not invalid; once ``fetch``
    says the registry is rate-limiting beyond what it waits for (:class:`RateLimited`), the
    remaining credentials are unchecked without asking again.
    """

    def __init__(self, fetch: Callable[[int, int], list[bytes]]) -> None:
        self.fetch = fetch

    def check(
        self, expected: dict[int, bytes], size: int, root: bytes, report: ExportVerification
    ) -> None:
        indices = sorted(expected)
        for position, index in enumerate(indices):
            try:
                proof = self.fetch(index, size)
            except RateLimited as exc:
                report.skip(len(indices) - position, exc.detail)
                return
            except OrgBookError as exc:
                report.skip(1, f"entry {index}: no inclusion proof ({exc.detail})")
                continue
            if verify_inclusion(expected[index], index, size, proof, root):
                report.proven += 1
            else:
                report.fail(f"entry {index}: not included under the checkpoint")


def _parse_header(first: bytes, handle: IO[bytes]) -> tuple[Format, str]:
    if first.startswith(b"{"):
        head = orjson.loads(first)
        if head.get("type") != EXPORT_TYPE or head.get("version") != VERSION:
            raise BadInput("not an orgbook export (version 1)")
        return "jsonl", str(head.get("checkpoint", ""))
    if not first.startswith(f"# {EXPORT_TYPE} v{VERSION} format=csv".encode()):
        raise BadInput("not an orgbook export (version 1)")
    lines: list[str] = []
    if handle.readline().rstrip(b"\n") != b"# checkpoint:":
        raise BadInput("the CSV export has no checkpoint comment")
    while True:
        line = handle.readline().decode("utf-8").rstrip("\n")
        if not line or line == "# end checkpoint":
            break
        lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    return "csv", "\n".join(lines) + "\n"


def _check_entry(org_id: str, item: dict[str, Any], report: ExportVerification) -> None:
    index, cid = item.get("ledgerIndex"), item.get("id")
    try:
        entry = item["entry"]
        data = canonicalize(entry)
    except (KeyError, OrgBookError):
        report.fail(f"credential {cid}: no usable ledger entry")
        return
    if compute_leaf_hash(data).hex() != item.get("leafHash"):
        report.fail(f"credential {cid}: its entry does not hash to its leaf hash")
    payload = entry.get("payload", {}) if isinstance(entry, dict) else {}
    credential = payload.get("credential", {}) if isinstance(payload, dict) else {}
    if (
        entry.get("index") != index
        or entry.get("kind") != "credential.issued"
        or payload.get("organisation") != org_id
        or not isinstance(credential, dict)
        or credential.get("id") != cid
    ):
        report.fail(f"credential {cid}: its entry is not its issuance to {org_id} at {index}")


def _data_lines(text: IO[str], report: ExportVerification) -> Iterator[str]:
    """The CSV lines that are not comments; the end marker is noted in ``report``."""
    for line in text:
        if line.startswith(f"# {END_TYPE} "):
            fields = dict(part.split("=", 1) for part in line.split()[2:] if "=" in part)
            try:
                report.end_marker = (int(fields["organisations"]), int(fields["credentials"]))
            except (KeyError, ValueError):
                report.fail("malformed end marker")
        elif not line.startswith("#"):
            if report.end_marker is not None:
                report.fail("lines after the end marker")
            yield line


def _items(fmt: Format, handle: IO[bytes], report: ExportVerification) -> Iterator[tuple[int, str]]:
    """(ledger index, leaf hash hex) of every credential; checks JSONL entries on the way."""
    if fmt == "jsonl":
        for raw in handle:
            line = orjson.loads(raw)
            if report.end_marker is not None:
                report.fail("lines after the end marker")
            if line.get("type") == END_TYPE:
                report.end_marker = (int(line["organisations"]), int(line["credentials"]))
                continue
            org_id = line["organisation"]["id"]
            report.organisations += 1
            for item in line["credentials"]:
                report.credentials += 1
                _check_entry(org_id, item, report)
                yield int(item["ledgerIndex"]), str(item["leafHash"])
        return
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    try:
        rows = csv.reader(_data_lines(text, report))
        if next(rows, None) != list(CSV_COLUMNS):
            report.fail("unexpected CSV columns")
            return
        for row in rows:
            report.organisations += 1
            for part in row[-1].split(";") if row and row[-1] else []:
                report.credentials += 1
                _type, index, leaf, _cid = part.split("|", 3)
                yield int(index), leaf
    finally:
        text.detach()  # the caller owns (and closes) the binary handle


def verify_export(
    handle: IO[bytes], verifiers: list[NoteVerifier], proofs: ProofSource
) -> ExportVerification:
    """Verify an export read from ``handle`` (binary) against the ledger's keys and ``proofs``."""
    report = ExportVerification()
    first = handle.readline()
    fmt, note = _parse_header(first, handle)
    # 1. The checkpoint: signed by the ledger's key.
    try:
        checkpoint, _ = open_checkpoint(note, verifiers)
    except OrgBookError as exc:
        raise VerificationError(f"the export's checkpoint does not verify: {exc.detail}") from exc
    report.tree_size = checkpoint.size
    # 2. Each credential: its entry hashes to its leaf hash (JSONL), below the tree size.
    expected: dict[int, bytes] = {}
    for index, leaf in _items(fmt, handle, report):
        if not 0 <= index < checkpoint.size:
            report.fail(f"entry {index} is beyond the checkpoint's tree size {checkpoint.size}")
            continue
        try:
            expected[index] = bytes.fromhex(leaf)
        except ValueError:
            report.fail(f"entry {index}: malformed leaf hash")
    # 3. The end marker: nothing cut off.
    if report.end_marker is None:
        report.fail("the export is truncated: no end marker")
    elif report.end_marker != (report.organisations, report.credentials):
        report.fail("the end marker's counts differ from what the export holds")
    # 4. Inclusion of every (index, leaf hash) under the checkpoint.
    proofs.check(expected, checkpoint.size, checkpoint.root, report)
    if report.proven + report.unchecked != len(expected) and not report.invalid:
        report.fail(f"only {report.proven} of {len(expected)} credentials proven")
    return report
