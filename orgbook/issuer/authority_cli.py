"""``orgbook authority …``: register authorities, authorise them, withdraw, list, define
credential types, rotate the governance key.

What it owns: the sub-commands' arguments and output (JSON on stdout, the reason on stderr and
exit 2 for a refusal: :mod:`orgbook.cli`). An authority is a registered issuer (``orgbook
authority register`` is ``orgbook issuer create`` with no registry record types by default);
it is named by its id (``bc-licensing``) or its DID wherever a command takes one. Dates are RFC
3339 (``2026-01-01T00:00:00Z``) or a plain date (midnight UTC).

What it must not do: decide or sign anything itself (:mod:`orgbook.issuer.authorisations`,
:mod:`orgbook.issuer.governance`); heavy imports happen when a command runs, so building the
``orgbook`` parser stays cheap.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from orgbook.core.errors import BadInput
from orgbook.runtime.commandline import add_storage_options, print_json, settings_from_args

__all__ = ["register"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def register(subparsers: Any) -> None:
    authority = subparsers.add_parser(
        "authority",
        help="authorities and their authorisations (signed by the registry's governance key)",
        description="Authorities issue credential types they are authorised for: each "
        "authorisation is a ledger entry signed by the registry's governance key (created, "
        "sealed with ORGBOOK_KEY_PASSPHRASE and published on the ledger the first time one is "
        "signed). Nothing is edited in place: withdraw and authorise again.",
    )
    commands = authority.add_subparsers(dest="authority_command", metavar="ACTION")
    commands.required = True

    reg = commands.add_parser("register", help="register an authority (did:web DID and a key)")
    reg.add_argument("id", help="short id, e.g. bc-licensing")
    reg.add_argument("--name", required=True)
    reg.add_argument("--did", required=True, help="did:web identifier")
    reg.add_argument("--jurisdiction", required=True, help="ISO 3166 code, e.g. CA-BC")
    reg.add_argument("--types", default="", help="registry record types, if any (default none)")
    reg.set_defaults(func=_with_registry(_register))

    auth = commands.add_parser("authorise", help="authorise an authority to issue a VC type")
    auth.add_argument("authority", help="the authority's id or DID")
    auth.add_argument(
        "--type", required=True, dest="vc_type", help="VC type, e.g. PermitCredential"
    )
    auth.add_argument("--type-id", help="the type's id URL, if it has one")
    auth.add_argument(
        "--jurisdiction",
        required=True,
        action="append",
        help="organisations' jurisdiction (ISO 3166, e.g. CA-BC); repeat for several",
    )
    auth.add_argument("--from", dest="valid_from", help="in force from (default now)")
    auth.add_argument("--until", dest="valid_until", help="in force until (default open-ended)")
    auth.add_argument("--on-behalf-of", help="the authority it issues on behalf of (id or DID)")
    auth.set_defaults(func=_with_registry(_authorise))

    withdraw = commands.add_parser("withdraw", help="withdraw an authorisation")
    withdraw.add_argument("authorisation", help="the authorisation id (urn:uuid:…)")
    withdraw.add_argument("--reason")
    withdraw.set_defaults(func=_with_registry(_withdraw))

    listing = commands.add_parser("list", help="list authorisations (withdrawn ones too)")
    listing.add_argument("--authority", help="only this authority's (id or DID)")
    listing.set_defaults(func=_with_registry(_list, signing=False))

    define = commands.add_parser(
        "define-type",
        help="register a credential type (or a new version) from a definition file",
        description="FILE.json: {vcType, version, name {en, fr}, fields {member: {en, fr}}, "
        "schema (JSON Schema 2020-12 of the credentialSubject), supersessionKey, expires (P1Y "
        "or null), display {profile, search, web}}. Signed by the governance key; the first "
        "time, the six registry types are registered too. See docs/authorities.md.",
    )
    define.add_argument("file", type=Path, help="the definition, JSON")
    define.set_defaults(func=_with_registry(_define_type))

    feed = commands.add_parser(
        "issue",
        help="issue registered-type credentials from a JSON Lines feed",
        description="Each line {eventId, type, organisation, claims, validFrom?, validUntil?, "
        "onBehalfOf?}, issued by the authority under its authorisations (idempotent on "
        "eventId). Refused lines are reported on stderr with their line number (and in "
        "FILE.rejects.jsonl); the others are logged. The same as `orgbook ingest FILE "
        "--authority ID`.",
    )
    feed.add_argument("authority", help="the issuing authority's id or DID")
    feed.add_argument("file", type=Path, help="the feed, JSON Lines")
    feed.set_defaults(func=_with_registry(_issue_feed))

    rotate = commands.add_parser(
        "rotate-governance-key", help="publish a new governance key and retire the current one"
    )
    rotate.set_defaults(func=_with_registry(_rotate))

    for parser in (reg, auth, withdraw, listing, define, feed, rotate):
        add_storage_options(parser)


def _open(args: argparse.Namespace, *, signing: bool = True) -> Any:
    from orgbook.runtime.registry import open_registry

    return open_registry(settings_from_args(args), signing=signing)


def _with_registry(
    run: Callable[[argparse.Namespace, Any], int], *, signing: bool = True
) -> Callable[[argparse.Namespace], int]:
    """``run(args, registry)`` with the registry opened, and closed whatever happens."""

    def command(args: argparse.Namespace) -> int:
        registry = _open(args, signing=signing)
        try:
            return run(args, registry)
        finally:
            registry.close()

    return command


def _when(value: str | None, option: str) -> datetime | None:
    from orgbook.core.time import parse_time

    if value is None:
        return None
    text = value + "T00:00:00Z" if _DATE.fullmatch(value) else value
    try:
        return parse_time(text)
    except BadInput:
        raise BadInput(
            f"{option} must be an RFC 3339 date-time or a date, not {value!r}", field=option
        ) from None


def _did(conn: Any, name: str, option: str) -> str:
    from sqlalchemy import select

    from orgbook.core.errors import NotFound
    from orgbook.projections.tables import issuers

    if name.startswith("did:"):
        return name
    did = conn.execute(select(issuers.c.did).where(issuers.c.id == name)).scalar()
    if did is None:
        raise NotFound(
            f"no authority {name!r}: register it with `orgbook authority register`", field=option
        )
    return str(did)


def _register(args: argparse.Namespace, registry: Any) -> int:
    from orgbook.issuer.keys import create_issuer

    with registry.engine.begin() as conn:
        issuer = create_issuer(
            conn,
            registry.ledger,
            slug=args.id,
            did=args.did,
            name=args.name,
            jurisdiction=args.jurisdiction,
            credential_types=[t.strip() for t in args.types.split(",") if t.strip()],
            passphrase=registry.passphrase,
        )
        registry.ledger.sign_checkpoint(conn)
    print_json(issuer.to_json())
    return 0


def _authorise(args: argparse.Namespace, registry: Any) -> int:
    from orgbook.issuer.authorisations import grant

    valid_from = _when(args.valid_from, "--from")
    valid_until = _when(args.valid_until, "--until")
    with registry.engine.begin() as conn:
        record = grant(
            conn,
            registry.ledger,
            data_dir=Path(registry.settings.data_dir),
            passphrase=registry.passphrase,
            issuer_did=_did(conn, args.authority, "authority"),
            credential_type=args.vc_type,
            credential_type_id=args.type_id,
            jurisdictions=[j.strip() for item in args.jurisdiction for j in item.split(",")],
            valid_from=valid_from,
            valid_until=valid_until,
            on_behalf_of=_did(conn, args.on_behalf_of, "--on-behalf-of")
            if args.on_behalf_of
            else None,
        )
    print_json(record.to_json())
    return 0


def _withdraw(args: argparse.Namespace, registry: Any) -> int:
    from orgbook.issuer.authorisations import withdraw

    with registry.engine.begin() as conn:
        index = withdraw(
            conn,
            registry.ledger,
            args.authorisation,
            data_dir=Path(registry.settings.data_dir),
            passphrase=registry.passphrase,
            reason=args.reason,
        )
    print_json({"authorisation": args.authorisation, "withdrawnAt": index})
    return 0


def _list(args: argparse.Namespace, registry: Any) -> int:
    from orgbook.issuer.authorisations import authorisations_of
    from orgbook.storage.engine import reading

    with reading(registry.engine) as conn:
        did = _did(conn, args.authority, "--authority") if args.authority else None
        print_json([record.to_json() for record in authorisations_of(conn, did)])
    return 0


def _define_type(args: argparse.Namespace, registry: Any) -> int:
    import json

    from orgbook.issuer.credential_types import define_type

    try:
        definition = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{args.file} does not load as JSON: {exc}", field="file") from None
    settings = registry.settings
    with registry.engine.begin() as conn:
        registered = define_type(
            conn,
            registry.ledger,
            definition,
            data_dir=Path(settings.data_dir),
            passphrase=registry.passphrase,
            public_url=settings.public_url,
            schema_base=settings.schema_base,
        )
    print_json({"id": registered.definition.id, "ledgerIndex": registered.index})
    return 0


def _issue_feed(args: argparse.Namespace, registry: Any) -> int:
    """``orgbook ingest FILE --authority ID`` by another name (the same lines, rules and exit
    codes)."""
    from orgbook.issuer.cli import feed_authorised

    return feed_authorised(registry, args.authority, args.file)


def _rotate(args: argparse.Namespace, registry: Any) -> int:
    from datetime import UTC

    from orgbook.issuer.governance import rotate_governance_key

    with registry.engine.begin() as conn:
        key = rotate_governance_key(
            conn,
            registry.ledger,
            Path(registry.settings.data_dir),
            registry.passphrase,
            now=datetime.now(UTC),
        )
        registry.ledger.sign_checkpoint(conn)
    print_json({"governanceKey": key.key_id})
    print("The previous governance key is retired; its authorisations stay valid.", file=sys.stderr)
    return 0
