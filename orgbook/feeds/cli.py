"""``orgbook export …`` and ``orgbook webhooks …``: the command-line adapter of orgbook.feeds.

* ``orgbook export [--format jsonl|csv] [--out FILE]`` writes the register at the latest
  checkpoint (signing a new checkpoint first when the ledger grew and the key is at hand);
* ``orgbook export verify FILE --ledger-key VKEY (--online URL | --tiles URL_OR_DIR | --db URL)``:
  exit 0 when every credential is proven under the signed checkpoint, 1 when something does not
  verify, 2 when the input is unusable or some credentials could not be checked (a registry that
  rate-limits is waited for as ``Retry-After`` says, within ``--max-wait``); it never creates a
  database;
* ``orgbook webhooks subscriber create NAME | list | revoke ID``; ``orgbook webhooks list``,
  ``pause ID``, ``resume ID``; ``orgbook webhooks deliver [--once]`` runs the delivery worker.

This module parses arguments and prints; the work is in the modules of :mod:`orgbook.feeds`.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from orgbook.core.errors import BadInput, ConfigurationError, OrgBookError
from orgbook.runtime.commandline import add_storage_options, print_json, settings_from_args
from orgbook.storage.engine import make_engine, reading
from orgbook.storage.migrations import upgrade

__all__ = ["register"]


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="export the register (JSON Lines or CSV), stamped with a signed checkpoint",
        description="Write every organisation with its current credentials at the latest "
        "checkpoint. 'orgbook export verify FILE' checks an export against the ledger.",
    )
    add_storage_options(export)
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", metavar="FILE", help="output file (default: stdout)")
    export.add_argument("--quiet", action="store_true", help="no summary on stderr")
    export.set_defaults(func=run_export)
    actions = export.add_subparsers(dest="export_action", metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="verify an export against the ledger (exit 0 valid, 1 invalid, 2 unusable or "
        "not every credential could be checked)",
        description="Check an export's checkpoint with the ledger's key and every credential's "
        "inclusion under it: from a local database (--db/--data-dir), a registry (--online "
        "URL) or a static tile export (--tiles URL_OR_DIR). Exit 0 every credential proven; "
        "1 something does not verify (INVALID); 2 unusable input, or some credentials could not "
        "be checked (the registry rate-limited or failed): never counted as invalid.",
    )
    verify.add_argument("file", metavar="FILE")
    verify.add_argument(
        "--ledger-key", metavar="VKEY", required=True, help="the ledger's verifier key or @FILE"
    )
    source = verify.add_mutually_exclusive_group()
    source.add_argument("--online", metavar="URL", help="inclusion proofs from this registry")
    source.add_argument(
        "--tiles",
        metavar="URL_OR_DIR",
        help="inclusion proofs from a static tile export (orgbook ledger tiles export)",
    )
    verify.add_argument(
        "--max-wait",
        metavar="SECONDS",
        type=float,
        default=None,
        help="with --online: the longest to wait in all when the registry rate-limits "
        "(Retry-After); default 120",
    )
    add_storage_options(verify)
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(func=run_export_verify)

    hooks = subparsers.add_parser("webhooks", help="webhook subscribers, subscriptions, delivery")
    hook_actions = hooks.add_subparsers(dest="webhooks_action", metavar="ACTION")
    hook_actions.required = True

    subscriber = hook_actions.add_parser("subscriber", help="subscriber API keys")
    sub_actions = subscriber.add_subparsers(dest="subscriber_action", metavar="ACTION")
    sub_actions.required = True
    create = sub_actions.add_parser("create", help="a new subscriber; prints its API key once")
    create.add_argument("name")
    add_storage_options(create)
    create.set_defaults(func=run_subscriber_create)
    listing = sub_actions.add_parser("list", help="the subscribers")
    add_storage_options(listing)
    listing.set_defaults(func=run_subscriber_list)
    revoke = sub_actions.add_parser("revoke", help="revoke a key and pause its subscriptions")
    revoke.add_argument("id")
    add_storage_options(revoke)
    revoke.set_defaults(func=run_subscriber_revoke)

    show = hook_actions.add_parser("list", help="every subscription with its delivery status")
    add_storage_options(show)
    show.set_defaults(func=run_list)
    for name, func in (("pause", run_pause), ("resume", run_resume)):
        action = hook_actions.add_parser(name, help=f"{name} a subscription")
        action.add_argument("id")
        add_storage_options(action)
        action.set_defaults(func=func)

    deliver = hook_actions.add_parser("deliver", help="run the delivery worker")
    deliver.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    deliver.add_argument("--interval", type=float, default=1.0, help="idle poll, seconds")
    add_storage_options(deliver)
    deliver.set_defaults(func=run_deliver)


def _engine(args: argparse.Namespace) -> Engine:
    engine = make_engine(settings_from_args(args).database_url)
    upgrade(engine)
    return engine


# --- export -------------------------------------------------------------------------------------


def _sign_if_grown(args: argparse.Namespace, engine: Engine) -> None:
    """Sign a checkpoint covering the whole ledger when the key is available; else keep the
    latest one (the export is then the register as of that checkpoint)."""
    from orgbook.ledger.store import stored_origin
    from orgbook.runtime.registry import open_registry, resolve_passphrase

    with reading(engine) as conn:
        origin = stored_origin(conn)  # the ledger's own, whatever the public URL says
    settings = settings_from_args(args, ledger_origin=origin)
    try:
        passphrase = resolve_passphrase(settings, prompt=False)
        registry = open_registry(settings, passphrase=passphrase, engine=engine, create=False)
        with engine.begin() as conn:
            registry.ledger.sign_checkpoint(conn)
    except ConfigurationError as exc:
        if not args.quiet:
            print(
                f"orgbook export: using the latest signed checkpoint ({exc.detail})",
                file=sys.stderr,
            )


def run_export(args: argparse.Namespace) -> int:
    from orgbook.feeds.export import write_export

    engine = _engine(args)
    try:
        _sign_if_grown(args, engine)
        if args.out:
            partial = Path(args.out + ".partial")
            with partial.open("wb") as handle:
                summary = write_export(engine, args.format, handle)
            partial.replace(args.out)
        else:
            summary = write_export(engine, args.format, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    finally:
        engine.dispose()
    if not args.quiet:
        print(
            f"orgbook export: {summary.organisations:,} organisations, "
            f"{summary.credentials:,} credentials at tree size {summary.stamp.size:,}",
            file=sys.stderr,
        )
    return 0


def _local_engine(args: argparse.Namespace) -> Engine:
    """The local database to verify against, opened read-only in spirit: never created (no
    ``./orgbook-data`` appears because a flag was forgotten)."""
    from sqlalchemy.engine import make_url

    url = settings_from_args(args).database_url
    parsed = make_url(url)
    local_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    if local_file and not Path(str(parsed.database)).is_file():
        raise BadInput(
            f"no local ledger at {parsed.database}: verify with --online URL, "
            "--tiles URL_OR_DIR, or point --db/--data-dir at the registry's database",
            field="db",
        )
    return make_engine(url)


def _proof_source(args: argparse.Namespace, key: Any, client: Any) -> tuple[Any, Engine | None]:
    from orgbook.feeds.export_verify import LocalLeaves, OnlineProofs
    from orgbook.feeds.remote import MAX_WAIT, RegistryProofs, TileProofs
    from orgbook.verifier.tiles_client import open_source

    if args.online:
        wait = MAX_WAIT if args.max_wait is None else args.max_wait
        return OnlineProofs(RegistryProofs(args.online, client, max_wait=wait)), None
    if args.tiles:
        return TileProofs(open_source(args.tiles, client), [key]), None
    engine = _local_engine(args)
    return LocalLeaves(engine), engine


def run_export_verify(args: argparse.Namespace) -> int:
    """Exit 0 every credential proven, 1 INVALID, 2 unusable input or some unchecked."""
    import httpx
    from sqlalchemy.exc import SQLAlchemyError

    from orgbook.feeds.export_verify import verify_export
    from orgbook.verifier.offline import parse_ledger_key

    try:
        key = parse_ledger_key(args.ledger_key)
        if args.max_wait is not None and args.max_wait < 0:
            raise BadInput("--max-wait must be >= 0", field="max-wait")
        handle: IO[bytes] = Path(args.file).open("rb")  # noqa: SIM115 - closed below
    except (BadInput, OSError) as exc:
        detail = exc.diagnostics() if isinstance(exc, OrgBookError) else str(exc)
        print(f"orgbook export verify: {detail}", file=sys.stderr)
        return 2
    client = httpx.Client(timeout=30)
    engine: Engine | None = None
    try:
        try:
            source, engine = _proof_source(args, key, client)
            report = verify_export(handle, [key], source)
        except (BadInput, ConfigurationError) as exc:
            print(f"orgbook export verify: {exc.diagnostics()}", file=sys.stderr)
            return 2
        except OrgBookError as exc:
            print(f"orgbook export verify: {exc.diagnostics()}", file=sys.stderr)
            return 1
        except SQLAlchemyError as exc:
            print(
                f"orgbook export verify: cannot read the ledger from the database "
                f"({type(exc).__name__}): is it an orgbook registry?",
                file=sys.stderr,
            )
            return 2
    finally:
        handle.close()
        client.close()
        if engine is not None:
            engine.dispose()
    if args.json:
        print_json(
            {
                "valid": report.valid,
                "treeSize": report.tree_size,
                "organisations": report.organisations,
                "credentials": report.credentials,
                "proven": report.proven,
                "unchecked": report.unchecked,
                "problems": report.problems,
                "uncheckedReasons": report.unchecked_reasons,
            }
        )
    else:
        verdict = "INVALID" if report.invalid else "VALID" if report.valid else "NOT VERIFIED"
        print(
            f"export {verdict}: {report.organisations:,} organisations, "
            f"{report.credentials:,} credentials, {report.proven:,} proven under the checkpoint "
            f"at tree size {report.tree_size:,}"
        )
        for problem in report.problems:
            print(f"  {problem}")
    if report.unchecked:
        print(
            f"orgbook export verify: could not check {report.unchecked:,} credentials: "
            + "; ".join(report.unchecked_reasons),
            file=sys.stderr,
        )
    if report.invalid:
        return 1
    return 0 if report.valid else 2


# --- webhooks -----------------------------------------------------------------------------------


def run_subscriber_create(args: argparse.Namespace) -> int:
    from orgbook.feeds.webhooks import create_subscriber

    engine = _engine(args)
    with engine.begin() as conn:
        subscriber = create_subscriber(conn, args.name)
    engine.dispose()
    print(f"subscriber {subscriber.id} ({subscriber.name}); API key (shown once):")
    print(subscriber.key)
    return 0


def run_subscriber_list(args: argparse.Namespace) -> int:
    from orgbook.feeds.webhooks import list_subscribers

    engine = _engine(args)
    with reading(engine) as conn:
        found = list_subscribers(conn)
    engine.dispose()
    print_json(
        [
            {"id": s.id, "name": s.name, "createdAt": s.created_at, "revoked": s.revoked}
            for s in found
        ]
    )
    return 0


def run_subscriber_revoke(args: argparse.Namespace) -> int:
    from orgbook.feeds.webhooks import revoke_subscriber

    engine = _engine(args)
    with engine.begin() as conn:
        revoke_subscriber(conn, args.id)
    engine.dispose()
    print(f"subscriber {args.id} revoked; its subscriptions are paused")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from orgbook.feeds.webhooks import list_subscriptions

    engine = _engine(args)
    with reading(engine) as conn:
        found = list_subscriptions(conn)
    engine.dispose()
    print_json([{**s.to_json(), "subscriber": s.subscriber_id} for s in found])
    return 0


def run_pause(args: argparse.Namespace) -> int:
    from orgbook.feeds.webhooks import pause_subscription

    engine = _engine(args)
    with engine.begin() as conn:
        sub = pause_subscription(conn, args.id, "paused by an operator")
    engine.dispose()
    print(json.dumps(sub.to_json()))
    return 0


def run_resume(args: argparse.Namespace) -> int:
    from orgbook.feeds.webhooks import resume_subscription

    engine = _engine(args)
    with engine.begin() as conn:
        sub = resume_subscription(conn, args.id)
    engine.dispose()
    print(json.dumps(sub.to_json()))
    return 0


def run_deliver(args: argparse.Namespace) -> int:
    from orgbook.feeds.delivery import DeliveryWorker

    engine = _engine(args)
    worker = DeliveryWorker(engine)
    try:
        if args.once:
            delivered = worker.run_once()
            print(f"orgbook webhooks: {delivered} deliveries", file=sys.stderr)
            return 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print("orgbook webhooks: delivering (Ctrl-C to stop)", file=sys.stderr)
        try:
            worker.run(interval=args.interval, stop=stop)
        except KeyboardInterrupt:
            stop.set()
        return 0
    finally:
        worker.close()
        engine.dispose()
