"""``orgbook issuer …`` and ``orgbook ingest``: register issuers, manage keys, feed records.

``orgbook ingest FILE`` feeds registry records (:mod:`orgbook.issuer.bulk`); ``orgbook ingest
FILE --authority ID [--type T]`` feeds credentials of registered types by an authority, each line
the issuer API's request body (:mod:`orgbook.issuer.authorised_feed`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from orgbook.core.credentials import CredentialType
from orgbook.core.errors import BadInput
from orgbook.runtime.commandline import (
    add_storage_options,
    command_logging,
    print_json,
    settings_from_args,
)

ALL_TYPES = ",".join(t.slug for t in CredentialType)


def register(subparsers: Any) -> None:
    issuer = subparsers.add_parser("issuer", help="register issuers and manage their keys")
    commands = issuer.add_subparsers(dest="issuer_command", metavar="ACTION")
    commands.required = True

    create = commands.add_parser("create", help="register an issuer (recorded on the ledger)")
    create.add_argument("id", help="short id, e.g. bc-registries")
    create.add_argument("--name", required=True, help="display name of the registry")
    create.add_argument("--did", required=True, help="did:web identifier, e.g. did:web:example.org")
    create.add_argument("--jurisdiction", required=True, help="ISO 3166 code, e.g. CA-BC")
    create.add_argument(
        "--types", default=ALL_TYPES, help=f"credential types it may issue (default: {ALL_TYPES})"
    )
    create.add_argument("--api-key", action="store_true", help="also create an API key")
    create.set_defaults(func=_create)

    rotate = commands.add_parser("rotate-key", help="new signing key; the old one is retired")
    rotate.add_argument("id")
    rotate.set_defaults(func=_rotate)

    retire = commands.add_parser("retire-key", help="retire one signing key")
    retire.add_argument("id")
    retire.add_argument("key_id", help="the key's DID URL (did:web:…#key-N)")
    retire.set_defaults(func=_retire)

    listing = commands.add_parser("list", help="list issuers")
    listing.set_defaults(func=_list)

    did = commands.add_parser("did", help="print an issuer's DID document")
    did.add_argument("id")
    did.set_defaults(func=_did)

    api_key = commands.add_parser("api-key", help="create or revoke issuer API keys")
    api_key.add_argument("action", choices=["create", "revoke"])
    api_key.add_argument("id", help="issuer id (create) or API key id (revoke)")
    api_key.add_argument("--label", default="", help="a note on what the key is for")
    api_key.set_defaults(func=_api_key)

    revoke = commands.add_parser("revoke", help="revoke, suspend or unsuspend a credential")
    revoke.add_argument("id", help="issuer id")
    revoke.add_argument("credential_id")
    revoke.add_argument("--reason", required=True)
    revoke.add_argument("--action", choices=["revoke", "suspend", "unsuspend"], default="revoke")
    revoke.set_defaults(func=_revoke)

    for parser in (create, rotate, retire, listing, did, api_key, revoke):
        add_storage_options(parser)

    ingest = subparsers.add_parser(
        "ingest",
        help="issue credentials from a feed file (JSON Lines or CSV), resumable",
        description="Issue credentials from a feed file, resuming where an earlier run stopped. "
        "Exit 0 every record issued or unchanged; 1 some records rejected (summary printed, "
        "rejects in the reject file); 2 unusable input or configuration (unknown issuer, "
        "ORGBOOK_KEY_PASSPHRASE missing or wrong, record schemas missing): nothing rejected, "
        "nothing written. With --authority, FILE is JSON Lines of credentials of registered "
        "types, each line the issuer API's body {eventId, type, organisation, claims, "
        "validFrom?, validUntil?, onBehalfOf?}, issued by that authority under its "
        "authorisations (idempotent on eventId; refused lines on stderr and in the reject "
        "file). See docs/authorities.md.",
    )
    ingest.add_argument("file", type=Path)
    ingest.add_argument("--issuer", help="issuer id (default: the only issuer)")
    ingest.add_argument(
        "--authority",
        help="feed credentials of registered types issued by this authority (id or DID)",
    )
    ingest.add_argument(
        "--type",
        dest="credential_type",
        help="with --authority: the VC type (or type id URL) of lines that name none; a line "
        "naming another type is refused",
    )
    ingest.add_argument("--format", choices=["jsonl", "csv"], help="default: by file extension")
    ingest.add_argument("--batch-size", type=int, default=1000)
    ingest.add_argument("--rejects", type=Path, help="reject file (default: FILE.rejects.jsonl)")
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_storage_options(ingest)
    ingest.set_defaults(func=_ingest)


def _open(args: argparse.Namespace, *, signing: bool = True) -> Any:
    from orgbook.runtime.registry import open_registry

    return open_registry(settings_from_args(args), signing=signing)


def _create(args: argparse.Namespace) -> int:
    from orgbook.issuer.keys import create_api_key, create_issuer

    registry = _open(args)
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    with registry.engine.begin() as conn:
        issuer = create_issuer(
            conn,
            registry.ledger,
            slug=args.id,
            did=args.did,
            name=args.name,
            jurisdiction=args.jurisdiction,
            credential_types=types,
            passphrase=registry.passphrase,
        )
        out: dict[str, Any] = issuer.to_json()
        if args.api_key:
            key = create_api_key(conn, issuer.id, label="created with the issuer")
            out["apiKey"] = key.key
        registry.ledger.sign_checkpoint(conn)
    print_json(out)
    if args.api_key:
        print("The API key is shown once: store it now.", file=sys.stderr)
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from orgbook.issuer.keys import rotate_key

    registry = _open(args)
    with registry.engine.begin() as conn:
        key_id = rotate_key(conn, registry.ledger, args.id, passphrase=registry.passphrase)
        registry.ledger.sign_checkpoint(conn)
    print_json({"issuer": args.id, "activeKey": key_id})
    return 0


def _retire(args: argparse.Namespace) -> int:
    from orgbook.issuer.keys import retire_key

    registry = _open(args)
    with registry.engine.begin() as conn:
        retire_key(conn, registry.ledger, args.id, args.key_id)
        registry.ledger.sign_checkpoint(conn)
    print_json({"issuer": args.id, "retired": args.key_id})
    return 0


def _list(args: argparse.Namespace) -> int:
    from orgbook.issuer.keys import list_issuers

    registry = _open(args, signing=False)
    with registry.engine.connect() as conn:
        print_json([issuer.to_json() for issuer in list_issuers(conn)])
    return 0


def _did(args: argparse.Namespace) -> int:
    from orgbook.issuer.keys import did_document

    registry = _open(args, signing=False)
    with registry.engine.connect() as conn:
        print_json(did_document(conn, args.id))
    return 0


def _api_key(args: argparse.Namespace) -> int:
    from orgbook.issuer.keys import create_api_key, revoke_api_key

    registry = _open(args, signing=False)
    with registry.engine.begin() as conn:
        if args.action == "create":
            key = create_api_key(conn, args.id, label=args.label)
            print_json({"id": key.id, "issuer": key.issuer_id, "apiKey": key.key})
            print("The API key is shown once: store it now.", file=sys.stderr)
        else:
            revoke_api_key(conn, args.id)
            print_json({"id": args.id, "revoked": True})
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from orgbook.issuer.service import Issuance

    registry = _open(args)
    index = Issuance(registry).change_status(
        args.id, args.credential_id, args.action, reason=args.reason
    )
    print_json({"credential": args.credential_id, "action": args.action, "ledgerIndex": index})
    return 0


def _only_issuer(registry: Any) -> str:
    from orgbook.issuer.keys import list_issuers

    with registry.engine.connect() as conn:
        issuers = list_issuers(conn)
    if len(issuers) != 1:
        names = ", ".join(i.id for i in issuers) or "none"
        raise BadInput(f"say which issuer with --issuer (issuers: {names})", field="issuer")
    return issuers[0].id


def _ingest(args: argparse.Namespace) -> int:
    """Exit 0: every record issued (or unchanged); 1: some records rejected (summary printed,
    rejects in the reject file); 2: unusable input or configuration, found before any record is
    rejected or written (raised to :func:`orgbook.cli.main`)."""
    from orgbook.issuer.bulk import ingest_file
    from orgbook.issuer.service import Issuance

    if args.authority is not None:
        return _ingest_authorised(args)
    if args.credential_type is not None:
        raise BadInput("--type goes with --authority (a feed of registered types)", field="type")
    registry = _open(args)
    issuer_id = args.issuer or _only_issuer(registry)
    with command_logging(registry.settings):
        result = ingest_file(
            Issuance(registry),
            issuer_id,
            args.file,
            fmt=args.format,
            batch_size=args.batch_size,
            reject_path=args.rejects,
            progress=not args.no_progress,
        )
    print_json(
        {
            "file": result.path,
            "records": result.records,
            "credentials": result.credentials,
            "issued": result.issued,
            "history": result.history,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
            "resumedFromLine": result.resumed_from_line,
            "rejectFile": result.reject_file,
        }
    )
    if result.rejected:
        print(
            f"orgbook ingest: {result.rejected:,} records rejected (see {result.reject_file})",
            file=sys.stderr,
        )
        return 1
    return 0


def _ingest_authorised(args: argparse.Namespace) -> int:
    """``orgbook ingest FILE --authority ID``: exit 0 every line issued or unchanged, 1 some
    refused (each on stderr, and in the reject file), 2 unusable input or configuration."""
    if args.issuer is not None:
        raise BadInput("give --authority or --issuer, not both", field="authority")
    if args.format not in (None, "jsonl"):
        raise BadInput("a feed of registered types is JSON Lines", field="format")
    registry = _open(args)
    try:
        return feed_authorised(
            registry, args.authority, args.file, vc_type=args.credential_type, rejects=args.rejects
        )
    finally:
        registry.close()


def feed_authorised(
    registry: Any,
    authority: str,
    file: Path,
    *,
    vc_type: str | None = None,
    rejects: Path | None = None,
) -> int:
    """Issue an authority's feed (``orgbook ingest --authority``, ``orgbook authority issue``):
    the result on stdout, each refused line on stderr; exit 0 or 1 (some lines refused)."""
    from orgbook.issuer.authorised_feed import ingest_authorised, print_refusal

    with registry.engine.connect() as conn:
        did = authority_did(conn, authority)
    with command_logging(registry.settings):
        result = ingest_authorised(
            registry.engine,
            registry.ledger,
            file,
            issuer_did=did,
            passphrase=registry.passphrase,
            public_url=registry.settings.public_url,
            vc_type=vc_type,
            reject_path=rejects,
            report=print_refusal,
        )
    print_json(result.to_json())
    if result.rejected:
        print(
            f"orgbook ingest: {result.rejected:,} lines refused (see {result.reject_file})",
            file=sys.stderr,
        )
        return 1
    return 0


def authority_did(conn: Any, name: str, option: str = "authority") -> str:
    """The DID of an authority named by its id (``bc-licensing``) or its DID."""
    from sqlalchemy import select

    from orgbook.core.errors import NotFound
    from orgbook.projections.tables import issuers

    column = issuers.c.did if name.startswith("did:") else issuers.c.id
    did = conn.execute(select(issuers.c.did).where(column == name)).scalar()
    if did is None:
        raise NotFound(
            f"no authority {name!r}: register it with `orgbook authority register`", field=option
        )
    return str(did)
