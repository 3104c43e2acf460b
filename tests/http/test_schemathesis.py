"""Schemathesis over the whole HTTP API: the OpenAPI document and the server agree (issue 14 §4).

Every operation of ``create_app`` (public, issuer and subscriber APIs) is exercised in-process
(ASGI) over a small registry made with the test factories, by Schemathesis's own engine (what
``st run --checks all`` runs): the examples, coverage, fuzzing and stateful phases, with every
check enabled (``not_a_server_error``, schema, status, content type and header conformance,
negative data rejection, positive data acceptance, ``Allow`` on 405, ignored auth, use after
free…). The stateful phase follows the links the schema implies (create an API key, then revoke
it…). Examples are bounded, the seed fixed and there is no deadline: the run's length is
bounded by the number of cases, not by a clock.

Keys: the issuer API and the subscriptions are called with real keys. ``DELETE
/api/v1/issuer/api-keys/{id}`` may revoke the very key Schemathesis uses (the API allows it, on
purpose), so the auth provider checks its key before each call and makes a new one when it was
revoked: Schemathesis cannot lock itself out. Rate limits are off here (their 429 is declared
and tested in ``test_contract.py``); feed long-polls and streams are bounded to a second by the
deployment settings, which the OpenAPI document declares.

Where OpenAPI cannot say what the server checks, the operations below also expect 400 for
schema-valid requests (:data:`BEYOND_OPENAPI`); each is a constraint between parameters or
inside an opaque value that no JSON Schema of a parameter can express.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from orgbook.app import create_app
from orgbook.core.errors import Unauthorized
from orgbook.feeds import webhooks
from orgbook.issuer.keys import authenticate_api_key, create_api_key
from orgbook.runtime.registry import Registry
from tests.factories import build_registry

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ISSUER = "bc-registries"
MAX_EXAMPLES = 8

BEYOND_OPENAPI: dict[str, str] = {
    # An opaque cursor the server issued: a forged one is refused (`field: cursor`).
    "GET /api/v1/organisations": "cursor",
    # A type filter names a type the registry has: types are data (registered on the ledger),
    # so the set of slugs is not an enum of the schema.
    "GET /api/v1/feed": "type a registered type's slug",
    "GET /api/v1/feed/stream": "type a registered type's slug",
    # Exactly one of `index` and `leaf_hash`: a rule across two parameters.
    "GET /api/v1/ledger/proof/inclusion": "index xor leaf_hash",
    # "A credential or a bundle": a bundle's structure (tlog-proof text, entries) is checked by
    # the verifier and named in a 400 with its JSON pointer.
    "POST /api/v1/verify": "bundle structure",
    # A registry record is validated by the service against schemas/records/ (422 with every
    # problem); the URL of a webhook must be public http(s), its filter value fit its kind.
    "POST /api/v1/issuer/records": "registry record schemas",
    "POST /api/v1/subscriptions": "webhook URL and filter",
    # TRQP: context.time matches the RFC 3339 pattern but must also be a real date and time
    # (no 2026-13-45T99:…), which a pattern cannot say.
    "POST /authorization": "context.time a real date-time",
    "POST /recognition": "context.time a real date-time",
    # VC-API: a credential or presentation that does not verify is a 400 with the result, as
    # the specification answers; the documents themselves are opaque to the request schema.
    "POST /credentials/verify": "VC-API: 400 when not verified",
    "POST /presentations/verify": "VC-API: 400 when not verified",
    # OAuth 2.0 (RFC 6749 section 5.2): a pre-authorised code the registry did not give, or
    # gave and saw used or expire, is `invalid_grant`, a 400; the code is opaque to the schema.
    "POST /oid4vci/token": "OAuth: invalid_grant for an unknown pre-authorised code",
}


def _config() -> SchemathesisConfig:
    operations = [
        {
            "include-name": name,
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "422"]
                }
            },
        }
        for name in BEYOND_OPENAPI
    ]
    return SchemathesisConfig.from_dict(
        {
            "seed": 14,
            "workers": 1,
            "generation": {"max-examples": MAX_EXAMPLES},
            "operations": operations,
        }
    )


@dataclasses.dataclass
class Keys:
    registry: Registry
    issuer_key: str
    subscriber_key: str

    def live_issuer_key(self) -> str:
        """The issuer key, replaced by a new one if a test case revoked it."""
        with self.registry.engine.begin() as conn:
            try:
                authenticate_api_key(conn, self.issuer_key)
            except Unauthorized:
                self.issuer_key = create_api_key(conn, ISSUER, label="schemathesis").key
        return self.issuer_key


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Keys]]:
    registry = build_registry(tmp_path_factory.mktemp("schemathesis"), 6)
    settings = dataclasses.replace(
        registry.settings,
        rate_limit_per_minute=0,
        verify_rate_limit_per_minute=0,
        issuer_rate_limit_per_minute=0,
        feed_max_wait_seconds=1,
        feed_stream_max_seconds=1,
    )
    with registry.engine.begin() as conn:
        issuer_key = create_api_key(conn, ISSUER, label="schemathesis").key
        subscriber_key = webhooks.create_subscriber(conn, "schemathesis").key
    assert subscriber_key is not None
    app = create_app(settings, registry=registry)
    yield app, Keys(registry, issuer_key, subscriber_key)
    registry.close()


@pytest.fixture(scope="module")
def api_schema(served: tuple[Any, Keys]) -> Any:
    app, keys = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config())

    class BearerKeys:
        """The issuer key on the issuer API, the subscriber key on subscriptions."""

        def get(self, case: Any, ctx: Any) -> str | None:
            if case.path.startswith("/api/v1/issuer"):
                return keys.live_issuer_key()
            if case.path.startswith("/api/v1/subscriptions"):
                return keys.subscriber_key
            return None

        def set(self, case: Any, data: str | None, ctx: Any) -> None:
            if data is not None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    schema.auth(BearerKeys, refresh_interval=None)
    return schema


def _failures(schema: Any) -> list[str]:
    """Run every phase (examples, coverage, fuzzing, stateful), as ``st run --checks all``."""
    from schemathesis.engine import Status, events, from_schema

    found: list[str] = []
    phases: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseFinished) and event.phase.skip_reason is None:
            phases.add(str(event.phase.name.value))
        if isinstance(event, events.ScenarioFinished) and event.status in (
            Status.FAILURE,
            Status.ERROR,
        ):
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.append(
                            f"[{event.phase}] {event.recorder.label}: {check.name}: "
                            f"{failure.title}: {failure.message}\n"
                            f"{check.failure_info.code_sample}"
                        )
            if event.status == Status.ERROR:
                found.append(f"[{event.phase}] {event.recorder.label}: error")
        elif isinstance(event, events.NonFatalError):
            found.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            found.append(f"fatal: {event.exception!r}")
    missing = {"examples", "coverage", "fuzzing", "stateful"} - phases
    if missing:
        found.append(f"phases that did not run: {sorted(missing)}")
    return found


def test_api_contract(api_schema: Any) -> None:
    failures = _failures(api_schema)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)


def test_schemathesis_auth_cannot_be_locked_out(served: tuple[Any, Keys]) -> None:
    """Revoking the key in use gets a new one from the provider, not 401s from then on."""
    _, keys = served
    before = keys.live_issuer_key()
    with keys.registry.engine.begin() as conn:
        from orgbook.issuer.keys import revoke_api_key

        revoke_api_key(conn, before.split("_", 2)[1], issuer_id=ISSUER)
    after = keys.live_issuer_key()
    assert after != before
    with keys.registry.engine.connect() as conn:
        assert authenticate_api_key(conn, after) == ISSUER
