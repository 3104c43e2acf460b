"""The W3C CCG Verifiable Credentials API (VC-API) verifier routes: ``POST /credentials/verify``,
``POST /presentations/verify`` and ``POST /challenges``, public, at the root as the
specification names them (issue 19 item 3; docs/api.md, "VC-API").

What it owns: the VC-API request and response shapes, as the specification's OpenAPI publishes
them (tests/vectors/vc-api/, checked by tests/verifier/test_vcapi.py):

* ``POST /credentials/verify`` — ``{verifiableCredential, options}`` (options
  ``returnResults``, ``returnProblemDetails``, ``returnCredential``) → ``{verified, warnings,
  errors, results?, credential?}``; each failed check is an error (a ProblemDetails object:
  ``type``, ``title`` = the check's name, ``detail`` = its reason). The credential (or an
  orgbook bundle) is verified exactly as ``POST /api/v1/verify`` verifies it;
* ``POST /presentations/verify`` — ``{verifiablePresentation, options: {challenge, domain,
  returnPresentation}}`` → ``{checks, warnings, errors, presentation?}``: ``checks`` the names of
  the checks that passed, ``errors`` ``"name: reason"`` of those that failed (a presentation
  and each item it holds, as :mod:`orgbook.verifier.presentations` verifies them);
* ``POST /challenges`` — ``{challenge}``: random, stored, valid 10 minutes, single use
  (:mod:`orgbook.verifier.vcapi_store`). A presentation naming a challenge this verifier made
  uses it up; naming it again, or after it expired, fails the ``challenge`` check. A challenge
  this verifier did not make is the caller's own (a warning says its freshness is theirs).

A verification that completes answers 200 when verified, 400 when not (the VC test suites expect
400 for a credential that does not verify), with the same result body; a body that is not the
request shape is a problem+json 400. orgbook's own per-check report (``VerifyReportOut``) is in
the extension member ``orgbookReport`` when the query asks for it (``?report=orgbook``): the
specification's result schemas allow no other member, so by default there is none.

What it must not do: verify anything itself (:class:`~orgbook.verifier.service.VerificationService`
and :mod:`orgbook.verifier.presentations` do), or issue (``POST /credentials/issue`` is the issuer
area's, :mod:`orgbook.issuer.vcapi_issue`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from orgbook.core.canonical import loads_strict
from orgbook.core.errors import BadInput, UnsupportedMediaType
from orgbook.core.time import format_time
from orgbook.http.deps import EngineDep, OptionalRegistryDep, SettingsDep
from orgbook.http.middleware import OWN_ERROR_BODY_SCOPE_KEY
from orgbook.http.ratelimit import rate_limited
from orgbook.http.routing import PooledRoute
from orgbook.verifier import presentations, vcapi_store
from orgbook.verifier.models import CheckOut, VerifyReportOut
from orgbook.verifier.service import VerificationService, service_of

__all__ = ["router", "routes"]

VC_ERRORS = "https://www.w3.org/TR/vc-data-model-2.0/#"
PROBLEM_TYPES = {
    "schema": VC_ERRORS + "MALFORMED_VALUE_ERROR",
    "presentation": VC_ERRORS + "MALFORMED_VALUE_ERROR",
    "signature": "https://w3id.org/security#PROOF_VERIFICATION_ERROR",
    "holder_signature": "https://w3id.org/security#PROOF_VERIFICATION_ERROR",
    "issuer_key": "https://w3id.org/security#PROOF_VERIFICATION_ERROR",
    "validity_period": VC_ERRORS + "RANGE_ERROR",
    "challenge": "https://w3id.org/security#INVALID_CHALLENGE_ERROR",
    "domain": "https://w3id.org/security#INVALID_DOMAIN_ERROR",
}
CHECK_PROBLEM = "urn:orgbook:check:"
CREDENTIAL_OPTIONS = frozenset({"returnResults", "returnProblemDetails", "returnCredential"})
PRESENTATION_OPTIONS = frozenset({"challenge", "domain", "returnPresentation"})
REPORT = "Add orgbook's per-check report as the extension member `orgbookReport`."


def _json_body(member: str) -> dict[str, Any]:
    """The request body as OpenAPI states it: an object holding ``member`` and ``options``."""
    schema = {
        "type": "object",
        "required": [member],
        "properties": {member: {"type": "object"}, "options": {"type": "object"}},
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _json_only(request: Request) -> None:
    """415 unless the body is declared JSON (as ``POST /api/v1/verify``)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType("send the request as application/json")


def _service(request: Request) -> VerificationService:
    return service_of(request.app)


VerificationServiceDep = Annotated[VerificationService, Depends(_service)]

routes = APIRouter(route_class=PooledRoute, tags=["vc-api"], dependencies=[rate_limited("verify")])


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProblemDetails(_Model):
    type: str
    title: str
    detail: str


class VerifyCredentialResult(_Model):
    """The VC-API ``VerificationResult`` of ``POST /credentials/verify``."""

    verified: bool
    warnings: list[ProblemDetails]
    errors: list[ProblemDetails]
    results: dict[str, Any] | None = None
    credential: dict[str, Any] | None = None
    orgbookReport: VerifyReportOut | None = Field(default=None, description=REPORT)


class VerifyPresentationResult(_Model):
    """The VC-API ``VerificationResult`` of ``POST /presentations/verify``."""

    checks: list[str]
    warnings: list[str]
    errors: list[str]
    presentation: dict[str, Any] | None = None
    orgbookReport: VerifyReportOut | None = Field(default=None, description=REPORT)


class CreateChallengeResult(_Model):
    challenge: str


def _request(raw: bytes, member: str, allowed: frozenset[str]) -> tuple[Any, dict[str, Any]]:
    value = loads_strict(raw) if raw.strip() else None
    if not isinstance(value, Mapping) or not isinstance(value.get(member), Mapping):
        raise BadInput(
            f"the body is {{{member}, options}}: {member} is a JSON object", field=member
        )
    extra = sorted(set(value) - {member, "options"})
    if extra:
        raise BadInput(f"unknown member(s) of the request: {', '.join(extra)}", field=extra[0])
    options = value.get("options", {})
    if not isinstance(options, Mapping):
        raise BadInput("options is a JSON object", field="options")
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise BadInput(f"unknown option(s): {', '.join(unknown)}", field="options")
    for name, given in options.items():
        wanted = str if name in ("challenge", "domain") else bool
        if not isinstance(given, wanted):
            raise BadInput(f"options.{name} is a {wanted.__name__}", field=f"options.{name}")
    return value[member], dict(options)


def _checks(report: VerifyReportOut) -> list[CheckOut]:
    """The report's checks, then each item's (named ``item N: name``)."""
    found = list(report.checks)
    for number, item in enumerate(report.items or [], 1):
        found += [c.model_copy(update={"name": f"item {number}: {c.name}"}) for c in item.checks]
    return found


def _problem(check: CheckOut) -> ProblemDetails:
    base = check.name.rsplit(": ", 1)[-1]
    kind = PROBLEM_TYPES.get(base, CHECK_PROBLEM + base)
    return ProblemDetails(type=kind, title=check.name, detail=check.reason)


def _results(report: VerifyReportOut, credential: Mapping[str, Any]) -> dict[str, Any]:
    """The VC-API's verbose ``results`` from the checks that answer each of its keys."""
    by_name = {c.name: c for c in report.checks}

    def result(name: str, given: Any) -> dict[str, Any]:
        check = by_name.get(name)
        return {
            "valid": check is not None and check.outcome == "pass",
            "details": check.reason if check is not None else "not checked",
            "input": given,
        }

    found: dict[str, Any] = {}
    for key in ("validFrom", "validUntil"):
        if isinstance(credential.get(key), str):
            found[key] = result("validity_period", credential[key])
    for key, name in (("credentialSchema", "schema"), ("credentialStatus", "status")):
        given = credential.get(key)
        if given is not None:
            listed = given if isinstance(given, list) else [given]
            found[key] = [result(name, item) for item in listed]
    proofs = credential.get("proof")
    listed = proofs if isinstance(proofs, list) else [proofs] if proofs else []
    found["proof"] = [result("signature", p) for p in listed]
    return found


def _answer(request: Request, body: dict[str, Any], verified: bool) -> JSONResponse:
    """200 when verified; else 400 with the same result (not re-sent as problem+json)."""
    request.scope[OWN_ERROR_BODY_SCOPE_KEY] = True
    return JSONResponse(body, status_code=200 if verified else 400)


@routes.post(
    "/credentials/verify",
    summary="VC-API: verify a credential",
    description="W3C CCG VC-API `verifyCredential`: `{verifiableCredential, options}` → "
    "`{verified, warnings, errors}` (each failed check a ProblemDetails), with `results` "
    "(`options.returnResults`) and the `credential` (`options.returnCredential`). 200 when "
    "verified, 400 with the same body when not. The credential (or an orgbook bundle) is "
    "verified as `POST /api/v1/verify` verifies it.",
    response_model=VerifyCredentialResult,
    response_model_exclude_none=True,
    responses={
        400: {
            "model": VerifyCredentialResult,
            "description": "Not verified; or a malformed request (problem+json).",
            "content": _PROBLEM,
        }
    },
    openapi_extra=_json_body("verifiableCredential"),
    dependencies=[Depends(_json_only)],
)
async def verify_credential(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    registry: OptionalRegistryDep,
    service: VerificationServiceDep,
    report: Annotated[str | None, Query(pattern="^orgbook$", description=REPORT)] = None,
) -> JSONResponse:
    credential, options = _request(await request.body(), "verifiableCredential", CREDENTIAL_OPTIONS)
    out = await service.verify_async(engine, registry, settings, credential)
    failed = [c for c in out.checks if c.outcome == "fail"]
    result = VerifyCredentialResult(
        verified=out.valid,
        warnings=[],
        errors=[_problem(c) for c in failed],
        results=_results(out, credential) if options.get("returnResults") else None,
        credential=dict(credential) if options.get("returnCredential") else None,
        orgbookReport=out if report else None,
    )
    body = result.model_dump(mode="json", exclude_none=True, by_alias=True)
    if report:  # the report as POST /api/v1/verify gives it: its null members included
        body["orgbookReport"] = out.model_dump(mode="json", by_alias=True)
    return _answer(request, body, out.valid)


@routes.post(
    "/presentations/verify",
    summary="VC-API: verify a business's presentation",
    description="W3C CCG VC-API `verifyPresentation`: `{verifiablePresentation, options: "
    "{challenge, domain}}` → `{checks, warnings, errors}`: the checks that passed, the ones "
    "that failed (`name: reason`), of the presentation (holder's proof, challenge, domain, "
    "Digital Identity Anchor, same organisation) and of every item it holds (`item N: …`). A "
    "challenge from `POST /challenges` is single use and expires. 200 when verified, 400 with "
    "the same body when not.",
    response_model=VerifyPresentationResult,
    response_model_exclude_none=True,
    responses={
        400: {
            "model": VerifyPresentationResult,
            "description": "Not verified; or a malformed request (problem+json).",
            "content": _PROBLEM,
        }
    },
    openapi_extra=_json_body("verifiablePresentation"),
    dependencies=[Depends(_json_only)],
)
async def verify_presentation(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    registry: OptionalRegistryDep,
    service: VerificationServiceDep,
    report: Annotated[str | None, Query(pattern="^orgbook$", description=REPORT)] = None,
) -> JSONResponse:
    raw = await request.body()
    value = loads_strict(raw) if raw.strip() else None
    member = "presentation" if isinstance(value, Mapping) and "presentation" in value else None
    presentation, options = _request(raw, member or "verifiablePresentation", PRESENTATION_OPTIONS)
    challenge = options.get("challenge")
    now = datetime.now(UTC)
    use = (
        await run_in_threadpool(vcapi_store.use_challenge, engine, challenge, now=now)
        if isinstance(challenge, str)
        else None
    )
    out = await run_in_threadpool(
        presentations.verify_presentation_here,
        service,
        engine,
        registry,
        settings,
        presentation,
        challenge=challenge,
        domain=options.get("domain"),
        now=now,
    )
    warnings: list[str] = []
    if use is not None and use.outcome in ("used", "expired"):
        out = _refuse_challenge(out, use)
    elif use is not None and use.outcome == "unknown":
        warnings.append(
            "challenge: not one POST /challenges made here; its freshness is the caller's to ensure"
        )
    checks = _checks(out)
    result = VerifyPresentationResult(
        checks=[c.name for c in checks if c.outcome == "pass"],
        warnings=warnings,
        errors=[f"{c.name}: {c.reason}" for c in checks if c.outcome == "fail"],
        presentation=dict(presentation) if options.get("returnPresentation") else None,
        orgbookReport=out if report else None,
    )
    body = result.model_dump(mode="json", exclude_none=True, by_alias=True)
    if report:  # the report as POST /api/v1/verify gives it: its null members included
        body["orgbookReport"] = out.model_dump(mode="json", by_alias=True)
    return _answer(request, body, out.valid)


def _refuse_challenge(out: VerifyReportOut, use: vcapi_store.Use) -> VerifyReportOut:
    when = format_time(use.at, "trimmed") if use.at else "?"
    reason = (
        f"this verifier's challenge was already used at {when}: a replayed presentation"
        if use.outcome == "used"
        else f"this verifier's challenge expired at {when}: ask for a new one"
    )
    checks = [
        c.model_copy(update={"outcome": "fail", "reason": reason}) if c.name == "challenge" else c
        for c in out.checks
    ]
    return out.model_copy(update={"checks": checks, "valid": False})


@routes.post(
    "/challenges",
    summary="VC-API: a challenge for a presentation",
    description="W3C CCG VC-API `challenge`: an empty body → `{challenge}`, random, valid 10 "
    "minutes, single use: pass it as `options.challenge` of `POST /presentations/verify` (the "
    "holder signs it in its presentation).",
    response_model=CreateChallengeResult,
)
async def challenges(engine: EngineDep) -> CreateChallengeResult:
    value, _ = await run_in_threadpool(vcapi_store.create_challenge, engine)
    return CreateChallengeResult(challenge=value)


def router(settings: Any) -> APIRouter:
    """:data:`routes` (``settings`` unused: the shell's interface)."""
    del settings
    return routes
