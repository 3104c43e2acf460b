"""Feeds of registered-type credentials: ``orgbook ingest FILE --authority ID`` (and ``orgbook
authority issue``), line by line through the issuer API's one path.

What it owns: :func:`parse_line` (one JSON Lines line, the issuer API's request body
``{eventId, type, organisation, claims, validFrom?, validUntil?, onBehalfOf?}``, checked with
:class:`BadInput` naming the member at fault) and :func:`ingest_authorised`: each line issued by
:func:`orgbook.issuer.authorised.issue_authorised` in a transaction of its own, so a line is
either wholly logged and projected or not at all (never half-written), and the same rules as
``POST /api/v1/issuer/credentials`` hold: the type's schema (JSON pointers under ``/claims``),
the organisation in the register, no authorisation → refused with the reason and nothing
logged, idempotent on the event id (a feed run again logs nothing new). A refused line is
reported (line number, event id, the problem) to the caller and to the reject file, and the
others go on. What would refuse every line (an unknown authority, a ``--type`` not registered,
a signing key the passphrase does not unseal) raises before anything is written.

What it must not do: decide authorisation, validate claims or sign itself
(:mod:`orgbook.issuer.authorised` does), or let anything but an :class:`OrgBookError` from a
line escape as a traceback of that line (its problem is reported instead).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, select

from orgbook.core.canonical import loads_strict
from orgbook.core.errors import (
    BadInput,
    ConfigurationError,
    NotFound,
    OrgBookError,
    VerificationError,
)
from orgbook.core.time import parse_time
from orgbook.issuer.authorised import issue_authorised, resolve_type
from orgbook.issuer.keys import IssuerKeys
from orgbook.ledger.store import Ledger
from orgbook.projections.tables import issuers
from orgbook.storage.engine import reading

__all__ = ["FeedLine", "FeedResult", "ingest_authorised", "parse_line", "print_refusal"]

MEMBERS = ("eventId", "type", "organisation", "claims", "validFrom", "validUntil", "onBehalfOf")
_ORGANISATION = re.compile(r"^[^:\s]+:\S+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Reporter = Callable[[int, str | None, dict[str, Any]], None]
"""``report(line number, event id, problem)`` for each refused line."""


@dataclass(frozen=True, slots=True)
class FeedLine:
    event_id: str
    type: str
    organisation: str
    claims: Mapping[str, Any]
    valid_from: datetime | None
    valid_until: datetime | None
    on_behalf_of: str | None


@dataclass(frozen=True, slots=True)
class FeedResult:
    path: str
    lines: int
    issued: int
    unchanged: int
    rejected: int
    reject_file: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "lines": self.lines,
            "issued": self.issued,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejectFile": self.reject_file,
        }


def _text(item: Mapping[str, Any], member: str, *, limit: int, required: bool) -> str | None:
    value = item.get(member)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise BadInput(f"{member} is a string of 1 to {limit} characters", field=member)
    return value


def _time(item: Mapping[str, Any], member: str) -> datetime | None:
    value = item.get(member)
    if value is None:
        return None
    text = value + "T00:00:00Z" if isinstance(value, str) and _DATE.fullmatch(value) else value
    try:
        return parse_time(text)
    except BadInput:
        raise BadInput(
            f"{member} is an RFC 3339 date-time with a time zone (or a date), not {value!r}",
            field=member,
        ) from None


def parse_line(item: Any, default_type: str | None = None) -> FeedLine:
    """One feed line (parsed JSON) as a :class:`FeedLine`; ``default_type`` (``--type``) is
    the type of a line that names none, and a line naming another type is refused."""
    if not isinstance(item, Mapping):
        raise BadInput("a line is a JSON object {eventId, type, organisation, claims, …}")
    unknown = sorted(set(item) - set(MEMBERS))
    if unknown:
        raise BadInput(
            f"unknown member {unknown[0]!r} (a line has {', '.join(MEMBERS)})", field=unknown[0]
        )
    event_id = _text(item, "eventId", limit=200, required=True)
    named = _text(item, "type", limit=300, required=default_type is None)
    if named is not None and default_type is not None and named != default_type:
        raise BadInput(
            f"the line names type {named!r} but the feed is for {default_type!r} (--type)",
            field="type",
        )
    organisation = _text(item, "organisation", limit=200, required=True)
    if event_id is None or organisation is None or not _ORGANISATION.fullmatch(organisation):
        raise BadInput(
            "an organisation is named by its registered id, JURISDICTION:NUMBER "
            "(e.g. CA-BC:BC1234567)",
            field="organisation",
        )
    claims = item.get("claims")
    if not isinstance(claims, Mapping):
        raise BadInput("claims is an object: the credentialSubject's members", field="claims")
    valid_from, valid_until = _time(item, "validFrom"), _time(item, "validUntil")
    return FeedLine(
        event_id=event_id,
        type=named or str(default_type),
        organisation=organisation,
        claims=claims,
        valid_from=valid_from,
        valid_until=valid_until,
        on_behalf_of=_text(item, "onBehalfOf", limit=300, required=False),
    )


def print_refusal(number: int, event_id: str | None, problem: dict[str, Any]) -> None:
    """One refused line on stderr: ``line N (event E): detail [at field]``, and each schema
    problem's JSON pointer."""
    event = f" (event {event_id})" if event_id else ""
    field = problem.get("field")
    where = f" [at {field}]" if field else ""
    print(f"line {number}{event}: {problem.get('detail')}{where}", file=sys.stderr)
    errors = problem.get("errors")
    for error in errors[1:] if isinstance(errors, list) else []:
        if isinstance(error, Mapping):
            print(f"  {error.get('path')}: {error.get('message')}", file=sys.stderr)


def _preflight(
    engine: Engine, issuer_did: str, vc_type: str | None, passphrase: bytes
) -> str | None:
    """The canonical ``--type`` (its VC type or id URL, as given), after checking what would
    refuse every line; raises before anything is written."""
    with reading(engine) as conn:
        issuer_id = conn.execute(select(issuers.c.id).where(issuers.c.did == issuer_did)).scalar()
        if issuer_id is None:
            raise NotFound(f"{issuer_did} is not a registered authority", field="authority")
        try:
            IssuerKeys.active(conn, str(issuer_id), passphrase)
        except VerificationError as exc:
            raise ConfigurationError(
                f"the signing key of {issuer_did} does not unseal: is ORGBOOK_KEY_PASSPHRASE the "
                "passphrase it was sealed with?"
            ) from exc
        if vc_type is not None:
            resolve_type(conn, vc_type, field="--type", registered=True)
    return vc_type


def ingest_authorised(
    engine: Engine,
    ledger: Ledger,
    path: Path,
    *,
    issuer_did: str,
    passphrase: bytes,
    public_url: str,
    vc_type: str | None = None,
    reject_path: Path | None = None,
    report: Reporter | None = None,
) -> FeedResult:
    """Issue every line of the JSON Lines file ``path`` as ``issuer_did`` (see the module
    docstring); refused lines go to ``reject_path`` (default ``FILE.rejects.jsonl``, written
    only when a line is refused) and to ``report``."""
    if not path.is_file():
        raise BadInput(f"no such file: {path}", field="file")
    _preflight(engine, issuer_did, vc_type, passphrase)
    reject_path = reject_path or path.with_name(path.name + ".rejects.jsonl")
    counts = {"lines": 0, "issued": 0, "unchanged": 0, "rejected": 0}
    rejects: list[TextIO] = []

    def refuse(number: int, event_id: str | None, problem: dict[str, Any]) -> None:
        counts["rejected"] += 1
        if not rejects:
            rejects.append(reject_path.open("w", encoding="utf-8"))
        line = {"line": number, "eventId": event_id, "problem": problem}
        rejects[0].write(json.dumps(line, ensure_ascii=False) + "\n")
        rejects[0].flush()
        if report is not None:
            report(number, event_id, problem)

    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                counts["lines"] += 1
                event_id: str | None = None
                try:
                    item = loads_strict(raw.strip())
                    if isinstance(item, Mapping) and isinstance(item.get("eventId"), str):
                        event_id = item["eventId"]
                    line = parse_line(item, vc_type)
                    with engine.begin() as conn:
                        resolved, type_id = resolve_type(conn, line.type, field="type")
                        issued = issue_authorised(
                            conn,
                            ledger,
                            issuer_did=issuer_did,
                            vc_type=resolved,
                            type_id=type_id,
                            organisation=line.organisation,
                            claims=line.claims,
                            event_id=line.event_id,
                            valid_from=line.valid_from,
                            valid_until=line.valid_until,
                            on_behalf_of=line.on_behalf_of,
                            passphrase=passphrase,
                            public_url=public_url,
                        )
                except OrgBookError as exc:
                    refuse(number, event_id, exc.problem())
                    continue
                counts["issued" if issued.created else "unchanged"] += 1
    finally:
        for handle_out in rejects:
            handle_out.close()
    return FeedResult(
        path=str(path),
        lines=counts["lines"],
        issued=counts["issued"],
        unchanged=counts["unchanged"],
        rejected=counts["rejected"],
        reject_file=str(reject_path) if counts["rejected"] else None,
    )
