"""Verifying a bulk export (:mod:`orgbook.feeds.export`) against the ledger.

What it owns: :func:`verify_export`: the checkpoint's signature with the ledger's key; for each
JSONL credential, that its entry hashes to its leaf hash, names it, its organisation and index;
and that every (index, leaf hash) is in the tree of the checkpoint — either from a local database
(:class:`LocalLeaves`), by re-deriving the whole tree's root from the stored leaf hashes (one
pass, no per-credential proof), or online (:class:`OnlineProofs`), with one RFC 9162 inclusion
proof per credential (or from a static tile export: :mod:`orgbook.feeds.remote`). A credential
whose proof cannot be had is counted *unchecked*, never invalid.

What it must not do: write exports or trust the file: everything it reports is recomputed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import orjson
from sqlalchemy import Engine, select

from orgbook.core.canonical import canonicalize
from orgbook.core.errors import BadInput, OrgBookError, RateLimited, VerificationError
from orgbook.feeds.export import CSV_COLUMNS, END_TYPE, EXPORT_TYPE, VERSION, Format
from orgbook.ledger.merkle import leaf_hash as compute_leaf_hash
from orgbook.ledger.merkle import node_hash, verify_inclusion
from orgbook.ledger.note import NoteVerifier, open_checkpoint
from orgbook.ledger.store import ledger_nodes
from orgbook.storage.engine import reading

__all__ = ["ExportVerification", "LocalLeaves", "OnlineProofs", "ProofSource", "verify_export"]


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
