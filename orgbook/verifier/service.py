"""Verification with what this registry knows: ``POST /api/v1/verify`` and the web page's Verify.

What it owns: :class:`VerificationService` — one per application (:func:`service_of`) — which
gathers what a verification needs from the database in one read transaction (the ledger's
latest checkpoint, the credential's bundle and a consistency proof, this registry's issuers, its
signed status lists: :class:`VerificationContext`), remembers what cannot change between
verifications, and answers the report (:func:`verify_value`, pure given the context) as the
API's :class:`~orgbook.verifier.models.VerifyReportOut`. The checks themselves are
:mod:`orgbook.verification`.

What it must not do: fetch anything from the network (keys come from the ledger and this
registry's issuers, status lists from its database), or answer anything but a report or an
:class:`~orgbook.core.errors.OrgBookError` for an unusable value (not an object, neither a
credential nor a bundle, a bundle whose structure is broken).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from orgbook.config import Settings
from orgbook.core.did import LocalResolver
from orgbook.core.errors import BadInput, NotFound, OrgBookError
from orgbook.ledger.note import Checkpoint
from orgbook.runtime.registry import Registry
from orgbook.storage.engine import is_sqlite, read_only, reading
from orgbook.verification.bundle import is_bundle, logged_status_entries, parse_bundle
from orgbook.verification.bundle_checks import verify_bundle
from orgbook.verification.checkpoint import bundle_checkpoint, stated_checkpoint
from orgbook.verification.credential import verify_credential
from orgbook.verification.report import Report
from orgbook.verifier import bundles, status_lists
from orgbook.verifier.claims import differing_fields, logged_credential
from orgbook.verifier.models import CheckOut, VerifyReportOut

__all__ = [
    "VerificationContext",
    "VerificationService",
    "service_of",
    "verify_value",
]


class VerificationService:
    """An application's verifications: what they remember, and running one.

    Keeps the immutable things (:class:`_Remembered`) and, for the API route on SQLite, one
    held read connection (:class:`_HeldReader`, used only from the event loop).
    """

    __slots__ = ("_reader", "remembered")

    def __init__(self, capacity: int = 4096) -> None:
        self.remembered = _Remembered(capacity)
        self._reader = _HeldReader()

    def gather(
        self,
        engine: Engine,
        registry: Registry | None,
        settings: Settings,
        value: Mapping[str, Any],
        *,
        held: bool = False,
    ) -> VerificationContext:
        """What the verification of ``value`` needs from the database (``held``: on the held
        SQLite connection, from the event loop only)."""
        reader = self._reader if held else None
        return _gather(engine, registry, settings, value, self.remembered, reader)

    def verify(
        self, engine: Engine, registry: Registry | None, settings: Settings, value: Any
    ) -> VerifyReportOut:
        """The report for a parsed body, read and verified in this thread (the web page's
        Verify runs it in the thread pool)."""
        body = _object(value)
        ctx = self.gather(engine, registry, settings, body)
        return verify_value(body, ctx, ledger_keys=_ledger_keys(registry), now=_now())

    async def verify_async(
        self, engine: Engine, registry: Registry | None, settings: Settings, value: Any
    ) -> VerifyReportOut:
        """:meth:`verify` for the API route, on the event loop.

        Verification is CPU-bound and runs here rather than behind a thread-pool hop; the
        database reads go to the thread pool on a server database, while SQLite answers them
        from a local file on the held connection (why: docs/performance.md, "Performance:
        verification").
        """
        body = _object(value)
        if is_sqlite(engine):
            ctx = self.gather(engine, registry, settings, body, held=True)
        else:
            ctx = await run_in_threadpool(self.gather, engine, registry, settings, body)
        return verify_value(body, ctx, ledger_keys=_ledger_keys(registry), now=_now())


_SERVICES = threading.Lock()


def service_of(app: Starlette) -> VerificationService:
    """The application's :class:`VerificationService`, made on first use (``app.state``)."""
    found = getattr(app.state, "verification", None)
    if isinstance(found, VerificationService):
        return found
    with _SERVICES:
        found = getattr(app.state, "verification", None)
        if not isinstance(found, VerificationService):
            found = VerificationService()
            app.state.verification = found
        return found


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadInput("a credential or a bundle is a JSON object", field="")
    return value


def _ledger_keys(registry: Registry | None) -> Any:
    return registry.ledger.verifiers if registry is not None else ()


def _now() -> datetime:
    return datetime.now(UTC)


# --- what a verification needs from the database ---------------------------------------------


class _Remembered:
    """What a verifier process keeps between verifications: only what cannot change.

    A credential's bundle under a given signed checkpoint, and a consistency proof between two
    given trees, are immutable (the ledger is append-only and the keys name the trees by their
    signed note or roots), so they are kept (least recently used out first) and looked up with
    no query. What can change — the latest checkpoint, status lists — is read every time.
    """

    __slots__ = ("_bundles", "_lock", "_proofs", "capacity")

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._bundles: OrderedDict[tuple[str, str], Mapping[str, Any]] = OrderedDict()
        self._proofs: OrderedDict[tuple[int, bytes, int, bytes], list[bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, table: OrderedDict[Any, Any], key: Any) -> Any:
        with self._lock:
            found = table.get(key)
            if found is not None:
                table.move_to_end(key)
            return found

    def _put(self, table: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            table[key] = value
            while len(table) > self.capacity:
                table.popitem(last=False)

    def bundle(
        self, conn: Any, registry: Registry, credential_id: str, latest: str
    ) -> Mapping[str, Any] | None:
        """The credential's bundle under ``latest`` (the checkpoint read in this transaction)."""
        key = (credential_id, latest)
        found: Mapping[str, Any] | None = self._get(self._bundles, key)
        if found is None:
            try:
                found = bundles.bundle_for(conn, registry.ledger, credential_id)
            except NotFound:
                return None
            self._put(self._bundles, key, found)
        return found

    def consistency_proof(
        self, conn: Any, registry: Registry, stated: Checkpoint, newest: Checkpoint
    ) -> list[bytes]:
        key = (stated.size, stated.root, newest.size, newest.root)
        found: list[bytes] | None = self._get(self._proofs, key)
        if found is None:
            found = registry.ledger.consistency_proof(conn, stated.size, newest.size)
            self._put(self._proofs, key, found)
        return list(found)


class _HeldReader:
    """One SQLite connection kept for the verify route's reads.

    ``orgbook.storage.engine`` opens SQLite connections without a pool, and opening one (with its
    PRAGMAs) costs more than a verification's queries (figures: docs/performance.md,
    "Performance: verification"). The verify route reads SQLite on the event loop, one request
    at a time, so it keeps one connection and starts a new read transaction (a new snapshot) on
    it per request. A request that finds it busy (another thread), or a connection that failed,
    falls back to a connection of its own.
    """

    __slots__ = ("__weakref__", "_held", "_lock")

    def __init__(self) -> None:
        self._held: list[tuple[Engine, Connection]] = []  # at most one
        self._lock = threading.Lock()
        weakref.finalize(self, _close_held, self._held)

    @contextmanager
    def reading(self, engine: Engine) -> Iterator[Connection]:
        if not self._lock.acquire(blocking=False):
            with reading(engine) as conn:
                yield conn
            return
        try:
            if self._held and self._held[0][0] is not engine:
                _close_held(self._held)
            if not self._held:
                self._held.append((engine, read_only(engine).connect()))
            conn = self._held[0][1]
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                _close_held(self._held)  # not reused after a failure
                raise
        finally:
            self._lock.release()


def _close_held(held: list[tuple[Engine, Connection]]) -> None:
    while held:
        _, conn = held.pop()
        with contextlib.suppress(Exception):
            conn.close()


@dataclass(frozen=True, slots=True)
class VerificationContext:
    """Everything a verification needs from the database, gathered in one thread-pool trip."""

    bundle: Mapping[str, Any] | None
    status: Mapping[str, Mapping[str, Any] | OrgBookError] | None
    latest: str | None
    consistency: list[bytes] | None
    documents: Mapping[str, Mapping[str, Any]]
    trusted: Mapping[str, frozenset[str]]  # issuer DID -> VC types
    key_entries: tuple[Any, ...] = ()  # the issuer's key history, proven under ``latest``
    status_entries: tuple[Any, ...] | None = None  # the ledger's status entries, likewise


def _gather(
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    value: Mapping[str, Any],
    remembered: _Remembered,
    reader: _HeldReader | None = None,
) -> VerificationContext:
    """Everything the verification of ``value`` needs from the database: one read transaction,
    a query for the latest checkpoint and one for the status lists when the bundle and the
    consistency proof are already remembered. ``reader`` (SQLite, one thread) holds its
    connection between requests.

    A status list that had to be signed on the way is logged in a transaction of its own, which
    the read transaction does not see: then everything is read again, once, so the ledger's
    entries and the lists come from one snapshot.
    """
    ctx, signed_anew = _gather_once(engine, registry, settings, value, remembered, reader)
    if signed_anew:
        ctx, _ = _gather_once(engine, registry, settings, value, remembered, reader)
    return ctx


def _gather_once(
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    value: Mapping[str, Any],
    remembered: _Remembered,
    reader: _HeldReader | None,
) -> tuple[VerificationContext, bool]:
    from orgbook.core.anchor import EXTRA_TYPE_SLUGS
    from orgbook.core.credentials import CredentialType
    from orgbook.projections.issuers import did_document, list_issuers

    bundle: Mapping[str, Any] | None = value if is_bundle(value) else None
    credential = value.get("credential") if bundle is not None else value
    credential = credential if isinstance(credential, Mapping) else {}
    latest: str | None = None
    consistency: list[bytes] | None = None
    documents: dict[str, Mapping[str, Any]] = {}
    trusted: dict[str, frozenset[str]] = {}
    key_entries: tuple[Any, ...] = ()
    status_entries: tuple[Any, ...] | None = None
    with reader.reading(engine) if reader is not None else reading(engine) as conn:
        if registry is not None:
            latest = registry.ledger.latest_checkpoint(conn)
            cid = credential.get("id")
            if latest is not None and isinstance(cid, str) and len(cid) <= 200:
                found = remembered.bundle(conn, registry, cid, latest)
                if found is not None:
                    # Keys are resolved from the ledger's key history as it stands now, so a
                    # status list signed after a rotation verifies against a bundle made before.
                    key_entries = tuple(found.get("issuerKeys", ()))
                    # Revocation is decided from the ledger's entries, not from editable rows.
                    status_entries = logged_status_entries(found)
                    if bundle is None:
                        # The presented credential is what is checked.
                        bundle = {**found, "credential": dict(credential)}
            if bundle is not None and latest is not None:
                consistency = _consistency_proof(conn, registry, bundle, latest, remembered)
        # Issuer documents and trust serve plain credentials this registry did not issue.
        for issuer in list_issuers(conn) if bundle is None else ():
            documents[issuer.did] = did_document(conn, issuer.id)
            vc_types = {t.slug: t.vc_type for t in CredentialType}
            vc_types.update({slug: vc for vc, slug in EXTRA_TYPE_SLUGS.items()})
            trusted[issuer.did] = frozenset(
                vc_types[slug] for slug in issuer.credential_types if slug in vc_types
            )
        status, signed_anew = _status_lists(conn, engine, registry, settings, credential)
    ctx = VerificationContext(
        bundle, status, latest, consistency, documents, trusted, key_entries, status_entries
    )
    return ctx, signed_anew


def _consistency_proof(
    conn: Any,
    registry: Registry,
    bundle: Mapping[str, Any],
    latest: str,
    remembered: _Remembered,
) -> list[bytes] | None:
    stated = bundle_checkpoint(bundle)
    if stated is None:
        return None
    try:
        newest = stated_checkpoint(latest)
    except OrgBookError:
        return None
    if stated.origin != newest.origin or stated.size > newest.size:
        return None
    return remembered.consistency_proof(conn, registry, stated, newest)


def _status_lists(
    conn: Any,
    engine: Engine,
    registry: Registry | None,
    settings: Settings,
    credential: Mapping[str, Any],
) -> tuple[dict[str, Mapping[str, Any] | OrgBookError] | None, bool]:
    """This registry's status lists the credential names (None if any list is someone else's),
    and whether any had to be signed anew."""
    urls = list(status_lists.status_urls(credential))
    base = settings.public_url.rstrip("/") + "/"
    if not urls or len(urls) > 8 or not all(url.startswith(base) for url in urls):
        return None, False
    found: dict[str, Mapping[str, Any] | OrgBookError] = {}
    signed = status_lists.cached_status_lists(conn, urls, public_url=settings.public_url)
    signed_anew = False
    for url in urls:
        try:
            cached = signed.get(url)
            signed_anew = signed_anew or cached is None
            found[url] = cached or status_lists.status_list_for_url(
                engine,
                url,
                public_url=settings.public_url,
                passphrase=registry.passphrase if registry else None,
                ledger=registry.ledger if registry else None,
            )
        except OrgBookError as exc:
            found[url] = exc
    return found, signed_anew


def _fetcher(
    status: Mapping[str, Mapping[str, Any] | OrgBookError] | None,
) -> Callable[[str], Mapping[str, Any]] | None:
    if status is None:
        return None

    def fetch(url: str) -> Mapping[str, Any]:
        found = status.get(url)
        if found is None:
            raise NotFound(f"status list {url} was not fetched")
        if isinstance(found, OrgBookError):
            raise found
        return found

    return fetch


# --- the report -----------------------------------------------------------------------------------


def _report_out(report: Report, kind: Literal["credential", "bundle"], cid: Any) -> VerifyReportOut:
    return VerifyReportOut(
        valid=report.valid,
        kind=kind,
        credential_id=cid if isinstance(cid, str) else None,
        checks=[
            CheckOut(
                name=c.name,
                outcome=c.outcome,
                reason=c.reason,
                details=dict(c.details) if c.details else None,
            )
            for c in report.checks
        ],
    )


def _with_differences(
    out: VerifyReportOut, presented: Any, bundle: Mapping[str, Any]
) -> VerifyReportOut:
    """``out`` with the fields where ``presented`` differs from the credential the bundle's
    ledger entry logged (what a reader of a tampered copy wants to know)."""
    logged = logged_credential(bundle)
    if logged is None:
        return out
    return out.model_copy(update={"differs_from_logged": differing_fields(presented, logged)})


def _looks_like_credential(value: Mapping[str, Any]) -> bool:
    kinds = value.get("type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return "@context" in value or "proof" in value or "VerifiableCredential" in names


def verify_value(
    value: Any, ctx: VerificationContext, *, ledger_keys: Any, now: datetime
) -> VerifyReportOut:
    """The report for a parsed body, given what the database said (pure, CPU only)."""
    if not isinstance(value, Mapping):
        raise BadInput("a credential or a bundle is a JSON object", field="")
    fetch = _fetcher(ctx.status)

    def with_ledger(bundle: Mapping[str, Any]) -> Report:
        return verify_bundle(
            bundle,
            ledger_keys=ledger_keys,
            now=now,
            status_lists=fetch,
            newer_checkpoint=ctx.latest,
            consistency_proof=ctx.consistency,
            key_entries=ctx.key_entries,
            status_entries=ctx.status_entries,
        )

    if is_bundle(value):
        parse_bundle(value)  # structure: BadInput naming the field at fault
        out = _report_out(with_ledger(value), "bundle", value["credential"].get("id"))
        return _with_differences(out, value["credential"], value)
    if not _looks_like_credential(value):
        raise BadInput(
            "neither a credential (@context, type VerifiableCredential, proof) nor a bundle "
            "(type OrgBookBundle)",
            field="/type",
        )
    if ctx.bundle is not None:  # a credential this registry issued: verified through its bundle
        out = _report_out(with_ledger(ctx.bundle), "credential", value.get("id"))
        return _with_differences(out, value, ctx.bundle)
    trusted = ctx.trusted

    def policy(issuer: str, vc_type: str) -> bool:
        return vc_type in trusted.get(issuer, frozenset())

    report = verify_credential(
        value,
        resolver=LocalResolver(ctx.documents),
        status_lists=fetch,
        now=now,
        trusted_issuers=policy,
    )
    return _report_out(report, "credential", value.get("id"))
