"""The offline verifier: a credential or a bundle in, a report out, as ``orgbook verify`` runs it.

What it owns: reading the input (a file of JSON: a bundle or a plain credential), choosing how
to verify it, the ``--online`` flow, remembering checkpoints, and printing reports.

* A **bundle** with the ledger key needs no network: the issuer's registration and keys come
  from ledger entries proven under a checkpoint the ledger key signed
  (:func:`orgbook.verification.bundle_checks.verify_bundle`).
* With ``--online URL`` it also reads the live registry: the current status lists, the latest
  checkpoint and a consistency proof from the bundle's checkpoint to it. Like Go's checksum
  database client, it remembers the latest checkpoint it saw per ledger origin (in
  ``$ORGBOOK_STATE_DIR`` or ``~/.local/state/orgbook/``) and refuses a registry whose checkpoint
  is not consistent with the remembered one: a fork, or a rewritten history.
* A **plain credential** is verified as any VC 2.0 verifier would (``did:key``, or ``did:web``
  over HTTPS, status lists over HTTPS); with ``--online``, a credential the registry issued is
  verified through its bundle.

What it must not do: exit or print on its own (``orgbook.verifier.cli`` does), or reach the
network other than through the resolver, status fetcher and client it is given.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from orgbook.core.canonical import loads_strict
from orgbook.core.did import DidResolver, LocalResolver
from orgbook.core.errors import BadInput, OrgBookError
from orgbook.ledger.note import Checkpoint, CosignatureVerifier, NoteVerifier
from orgbook.verification.bundle import is_bundle, logged_status_entries, parse_bundle
from orgbook.verification.bundle_checks import verify_bundle
from orgbook.verification.checkpoint import (
    bundle_checkpoint,
    consistency_failure,
    open_ledger_checkpoint,
)
from orgbook.verification.credential import verify_credential
from orgbook.verification.report import Check, Report
from orgbook.verifier.client import RegistryClient

__all__ = [
    "MAX_INPUT_BYTES",
    "CheckpointMemory",
    "Verification",
    "classify",
    "default_state_dir",
    "format_report",
    "parse_ledger_key",
    "read_document",
    "verify_document",
]

MAX_INPUT_BYTES = 16 * 1024 * 1024
STATE_ENV = "ORGBOOK_STATE_DIR"
Kind = Literal["credential", "bundle"]
MARKS = {"pass": "✓", "fail": "✗", "skip": "–"}


@dataclass(frozen=True, slots=True)
class Verification:
    """What was verified, the report, and notes for the reader (trust decisions taken)."""

    kind: Kind
    report: Report
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.report.to_dict(), "notes": list(self.notes)}


# --- input --------------------------------------------------------------------------------------


def read_document(path: str) -> Any:
    """The JSON value in ``path`` (``-`` for stdin); :class:`BadInput` when unusable."""
    import sys

    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}", field="FILE") from None
    if len(data) > MAX_INPUT_BYTES:
        raise BadInput(f"{path} is larger than {MAX_INPUT_BYTES} bytes", field="FILE")
    try:
        return loads_strict(data)
    except OrgBookError as exc:
        raise BadInput(f"{path} is not JSON: {exc.detail}", field="FILE") from None


def classify(value: Any) -> Kind:
    """``bundle`` or ``credential``; :class:`BadInput` for anything else."""
    if is_bundle(value):
        parse_bundle(value)
        return "bundle"
    if isinstance(value, Mapping):
        kinds = value.get("type")
        names = kinds if isinstance(kinds, list) else [kinds]
        if "VerifiableCredential" in names or "@context" in value:
            return "credential"
    raise BadInput("neither a credential nor a bundle (type OrgBookBundle)", field="FILE")


def parse_ledger_key(arg: str) -> NoteVerifier:
    """``--ledger-key``: a verifier key string, or ``@file`` holding one."""
    text = arg
    if arg.startswith("@"):
        try:
            text = Path(arg[1:]).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read the ledger key file {arg[1:]}: {exc}") from None
    try:
        return NoteVerifier.from_vkey(text.strip())
    except BadInput as exc:
        raise BadInput(f"--ledger-key: {exc.detail}", field="ledger-key") from None


# --- remembered checkpoints ---------------------------------------------------------------------


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(STATE_ENV):
        return Path(env[STATE_ENV])
    return Path.home() / ".local" / "state" / "orgbook"


class CheckpointMemory:
    """The latest checkpoint seen per ledger origin, one file each, replaced atomically."""

    __slots__ = ("directory",)

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, origin: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", origin)[:80]
        digest = hashlib.sha256(origin.encode()).hexdigest()[:12]
        return self.directory / "checkpoints" / f"{slug}-{digest}"

    def load(self, origin: str) -> str | None:
        try:
            return self._path(origin).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def save(self, origin: str, note: str) -> None:
        path = self._path(origin)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(note, "utf-8")
        os.replace(tmp, path)


# --- verification -------------------------------------------------------------------------------


def _replace(report: Report, check: Check) -> Report:
    return Report(tuple(check if c.name == check.name else c for c in report.checks))


def _prefetched(
    fetch: Callable[[str], Mapping[str, Any]] | None, credential: Mapping[str, Any]
) -> Callable[[str], Mapping[str, Any]] | None:
    """``fetch`` with the credential's status lists fetched now (errors kept for later)."""
    if fetch is None:
        return None
    got: dict[str, Mapping[str, Any] | Exception] = {}
    raw = credential.get("credentialStatus")
    for entry in (raw if isinstance(raw, list) else [raw])[:8]:
        url = entry.get("statusListCredential") if isinstance(entry, Mapping) else None
        if isinstance(url, str) and url not in got:
            try:
                got[url] = fetch(url)
            except Exception as exc:  # reported by the status check, as check_status would
                got[url] = exc

    def cached(url: str) -> Mapping[str, Any]:
        found = got[url] if url in got else fetch(url)
        if isinstance(found, Exception):
            raise found
        return found

    return cached


def _tiles_consistency(
    bundle: Mapping[str, Any], tiles: str, ledger_keys: Sequence[NoteVerifier]
) -> tuple[str | None, list[bytes] | None, Check | None]:
    """The tiles' checkpoint and a consistency proof to it from the bundle's checkpoint.

    ``(newer note, proof, None)`` for :func:`verify_bundle` to check; ``(None, None, failed
    consistency check)`` when the tiles give neither: unreadable, not signed by the ledger key,
    not hashing to their checkpoint, or older than the bundle's checkpoint.
    """
    from orgbook.verifier.tiles_client import consistency_from_tiles

    stated = bundle_checkpoint(bundle)
    if stated is None:
        return None, None, None  # verify_bundle reports the unreadable checkpoint
    try:
        newer_note, proof = consistency_from_tiles(tiles, ledger_keys, stated.size)
    except OrgBookError as exc:
        return None, None, Check("consistency", "fail", f"tiles {tiles}: {exc.detail}")
    return newer_note, proof, None


def _online_bundle(
    bundle: Mapping[str, Any],
    *,
    latest_note: str,
    status_lists: Callable[[str], Mapping[str, Any]] | None,
    online: RegistryClient,
    ledger_keys: Sequence[NoteVerifier],
    now: datetime,
    witnesses: Sequence[CosignatureVerifier],
    min_witnesses: int,
    memory: CheckpointMemory | None,
    notes: list[str],
    key_entries: Sequence[Any] = (),
    status_entries: Sequence[Any] | None = None,
) -> Report:
    # 1. the registry's latest checkpoint, and a proof from the bundle's to it
    stated = bundle_checkpoint(bundle)
    proof: list[bytes] | None = None
    latest: Checkpoint | None = None
    try:
        latest = open_ledger_checkpoint(latest_note, ledger_keys)
    except OrgBookError:
        latest = None  # verify_bundle's consistency check reports why
    if latest is not None and stated is not None and stated.size != latest.size:
        low, high = sorted((stated.size, latest.size))
        proof = online.consistency_proof(low, high)
    report = verify_bundle(
        bundle,
        ledger_keys=ledger_keys,
        now=now,
        witnesses=witnesses,
        min_witnesses=min_witnesses,
        newer_checkpoint=latest_note,
        consistency_proof=proof,
        status_lists=status_lists,
        key_entries=key_entries,
        status_entries=status_entries,
    )
    if latest is None or memory is None:
        return report
    # 2. the checkpoint remembered from before: the registry must be an extension of it
    seen_note = memory.load(latest.origin)
    seen: Checkpoint | None = None
    if seen_note is not None:
        try:
            seen = open_ledger_checkpoint(seen_note, ledger_keys)
        except OrgBookError as exc:
            notes.append(f"ignored the remembered checkpoint (it does not verify: {exc.detail})")
    if seen is not None:
        between = None
        if seen.size != latest.size:
            low, high = sorted((seen.size, latest.size))
            try:
                between = online.consistency_proof(low, high)
            except OrgBookError:
                between = None  # a registry that cannot prove it is refused below
        failure = consistency_failure(seen, latest, between)
        if failure is not None:
            refusal = Check(
                "consistency",
                "fail",
                f"refused: the registry's checkpoint (tree size {latest.size}) is not consistent "
                f"with the one seen before (tree size {seen.size}): {failure}",
            )
            return _replace(report, refusal)
        if seen.size > latest.size:
            notes.append(
                f"the registry serves an older checkpoint ({latest.size}) than one seen before "
                f"({seen.size}); both are consistent"
            )
            return report
    memory.save(latest.origin, latest_note)
    return report


def verify_document(
    value: Any,
    *,
    now: datetime | None = None,
    ledger_keys: Sequence[NoteVerifier] = (),
    witnesses: Sequence[CosignatureVerifier] = (),
    min_witnesses: int = 0,
    online: RegistryClient | None = None,
    resolver: DidResolver | None = None,
    status_lists: Callable[[str], Mapping[str, Any]] | None = None,
    memory: CheckpointMemory | None = None,
    tiles: str | None = None,
) -> Verification:
    """Verify a parsed bundle or credential; :class:`BadInput` if it is neither.

    Without ``online`` a bundle is verified with nothing but ``ledger_keys``. ``resolver`` and
    ``status_lists`` serve plain credentials (and are the only I/O used for them). ``now``
    defaults to the clock read *after* everything is fetched, so a status list signed during
    the fetch is not "from the future". ``tiles`` (a tile export's directory or base URL, as
    ``orgbook ledger tiles export`` writes it) checks an offline bundle's checkpoint for
    consistency with the tiles' newer one (:func:`_tiles_consistency`).
    """
    kind = classify(value)
    notes: list[str] = []
    keys = list(ledger_keys)
    if online is not None and not keys:
        vkey = online.ledger_key()
        keys.append(NoteVerifier.from_vkey(vkey))
        notes.append(f"ledger key {vkey} taken from {online.base_url} (pin it with --ledger-key)")
    bundle: Mapping[str, Any] | None = value if kind == "bundle" else None
    if bundle is None and online is not None and isinstance(value.get("id"), str):
        found = online.bundle(value["id"])
        if found is not None:
            bundle = {**found, "credential": value}
            notes.append(f"verified through the registry's bundle for {value['id']}")
    credential = bundle.get("credential") if bundle is not None else value
    fetch = _prefetched(
        online.status_list if online is not None else status_lists,
        credential if isinstance(credential, Mapping) else {},
    )
    key_entries: list[Any] = []
    status_entries: Sequence[Any] | None = None
    if online is not None and bundle is not None:
        latest_note = online.checkpoint()
        # The issuer's key history as the ledger has it now (each entry proven under a
        # checkpoint the ledger key signed): a status list signed after a key rotation is
        # checked against the key that signed it, as every other path does.
        cid = credential.get("id") if isinstance(credential, Mapping) else None
        fresh = online.bundle(cid) if isinstance(cid, str) and value is bundle else None
        raw_keys = fresh.get("issuerKeys") if fresh is not None else None
        key_entries = list(raw_keys) if isinstance(raw_keys, list) else []
        # And what the ledger says of the credential's status and its lists, as of now.
        status_entries = logged_status_entries(fresh) if fresh is not None else None
    if now is None:
        now = datetime.now(UTC)
    if bundle is not None:
        if online is not None:
            report = _online_bundle(
                bundle,
                latest_note=latest_note,
                status_lists=fetch,
                online=online,
                ledger_keys=keys,
                now=now,
                witnesses=witnesses,
                min_witnesses=min_witnesses,
                memory=memory,
                notes=notes,
                key_entries=key_entries,
                status_entries=status_entries,
            )
        else:
            newer_note, proof, failure = (
                _tiles_consistency(bundle, tiles, keys) if tiles is not None else (None, None, None)
            )
            report = verify_bundle(
                bundle,
                ledger_keys=keys,
                now=now,
                witnesses=witnesses,
                min_witnesses=min_witnesses,
                newer_checkpoint=newer_note,
                consistency_proof=proof,
            )
            if failure is not None:
                report = _replace(report, failure)
            notes.append("offline: status not checked (pass --online URL to check it)")
        return Verification(kind, report, tuple(notes))
    report = verify_credential(
        value, resolver=resolver or LocalResolver(), status_lists=fetch, now=now
    )
    return Verification(kind, report, tuple(notes))


def format_report(verification: Verification) -> str:
    """One line per check (``✓``/``✗``/``–`` name: reason), then the verdict."""
    lines = [
        f"{MARKS.get(c.outcome, '?')} {c.name}: {c.reason}" for c in verification.report.checks
    ]
    lines += [f"  note: {note}" for note in verification.notes]
    verdict = "VALID" if verification.report.valid else "INVALID"
    lines.append(f"{verdict} {verification.kind}")
    return "\n".join(lines)


def report_json(verification: Verification) -> str:
    return json.dumps(verification.to_dict(), ensure_ascii=False, indent=2)
