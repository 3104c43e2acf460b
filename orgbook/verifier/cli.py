"""``orgbook verify``: the verifier's command.

``orgbook verify FILE`` verifies a bundle or a credential and prints one line per check (or
JSON with ``--json``); exit 0 valid, 1 invalid (including a registry refused for an inconsistent
checkpoint), 2 unusable input (a bundle without ``--ledger-key`` or ``--online`` among them).
(``orgbook serve``, which serves every area, is :mod:`orgbook.commands.serve`.)

What it must not do: verification logic (``orgbook.verifier.offline``, ``checks``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from orgbook.core.errors import BadInput, OrgBookError

__all__ = ["register", "run_verify"]


def register(subparsers: Any) -> None:
    verify = subparsers.add_parser(
        "verify",
        help="verify a credential or a bundle (offline with --ledger-key)",
        description="Verify a bundle (offline, with the ledger's verifier key) or a credential. "
        "Exit 0 valid, 1 invalid, 2 unusable input.",
    )
    verify.add_argument("file", metavar="FILE", help="bundle or credential JSON ('-': stdin)")
    verify.add_argument(
        "--ledger-key",
        metavar="VKEY",
        help="the ledger's C2SP verifier key, or @FILE holding it (GET /api/v1/ledger/key)",
    )
    verify.add_argument(
        "--online",
        metavar="URL",
        help="also check status lists and checkpoint consistency against this registry",
    )
    verify.add_argument(
        "--witness",
        metavar="VKEY",
        action="append",
        default=[],
        help="a witness's cosignature verifier key (repeatable)",
    )
    verify.add_argument(
        "--min-witnesses",
        metavar="K",
        type=int,
        default=0,
        help="cosignatures required from the --witness keys (default 0)",
    )
    verify.add_argument(
        "--tiles",
        metavar="URL_OR_DIR",
        help="check the bundle's checkpoint for consistency with a tile export's newer one "
        "(orgbook ledger tiles export); needs --ledger-key",
    )
    verify.add_argument("--challenge", help="a presentation: the challenge you gave the holder")
    verify.add_argument("--domain", help="a presentation: your domain, which its proof must name")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    import httpx

    from orgbook.core.did import ChainResolver, LocalResolver
    from orgbook.core.presentation import is_presentation
    from orgbook.ledger.note import CosignatureVerifier
    from orgbook.verification.bundle import is_bundle
    from orgbook.verifier.client import RegistryClient, fetch_json
    from orgbook.verifier.did_web import HttpsDidWebResolver
    from orgbook.verifier.offline import (
        CheckpointMemory,
        default_state_dir,
        format_report,
        parse_ledger_key,
        read_document,
        report_json,
        verify_document,
    )
    from orgbook.verifier.presentations import (
        format_presentation,
        split_request,
        verify_presentation_offline,
    )

    try:
        value = read_document(args.file)
        keys = [parse_ledger_key(args.ledger_key)] if args.ledger_key else []
        witnesses = [CosignatureVerifier.from_vkey(w) for w in args.witness]
        if args.min_witnesses < 0:
            raise BadInput("--min-witnesses must be >= 0", field="min-witnesses")
        if args.tiles and not keys:
            raise BadInput("--tiles needs --ledger-key to trust the tiles", field="tiles")
        if args.tiles and args.online:
            raise BadInput("--tiles and --online are alternatives", field="tiles")
        if not keys and not args.online and is_bundle(value) and not is_presentation(value):
            raise BadInput(
                "a bundle is verified against the ledger's verifier key, and none was given: "
                "pass --ledger-key VKEY (or @FILE; the registry publishes it at "
                "GET /api/v1/ledger/key, `orgbook ledger info` prints it), or check against "
                "the registry itself with --online URL",
                field="ledger-key",
            )
    except BadInput as exc:
        print(f"orgbook verify: {exc.diagnostics()}", file=sys.stderr)
        return 2
    with httpx.Client() as client:
        online = RegistryClient(args.online, client) if args.online else None

        def status_list(url: str) -> Any:
            if not url.startswith("https://"):
                raise BadInput(f"status list {url} is not an https URL")
            return fetch_json(client, url)

        resolver = ChainResolver(LocalResolver(), HttpsDidWebResolver(client))
        asked = split_request(value, args.challenge, args.domain)
        if asked is not None:  # a business's presentation (docs/businesses.md)
            result = verify_presentation_offline(
                asked[0],
                challenge=asked[1],
                domain=asked[2],
                resolver=resolver,
                verify_item=lambda item: verify_document(
                    item,
                    ledger_keys=keys,
                    witnesses=witnesses,
                    min_witnesses=args.min_witnesses,
                    online=online,
                    resolver=resolver,
                    status_lists=status_list,
                ),
            )
            out = json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
            print(out if args.json else format_presentation(result))
            return 0 if result.valid else 1
        try:
            verification = verify_document(
                value,
                ledger_keys=keys,
                witnesses=witnesses,
                min_witnesses=args.min_witnesses,
                online=online,
                resolver=resolver,
                status_lists=status_list,
                memory=CheckpointMemory(default_state_dir()) if online is not None else None,
                tiles=args.tiles,
            )
        except BadInput as exc:
            print(f"orgbook verify: {exc.diagnostics()}", file=sys.stderr)
            return 2
        except OrgBookError as exc:  # the registry (--online) failed us: no verdict
            print(f"orgbook verify: {exc.diagnostics()}", file=sys.stderr)
            return 1
    print(report_json(verification) if args.json else format_report(verification))
    return 0 if verification.report.valid else 1
