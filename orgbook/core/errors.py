"""The one error tree of orgbook, split by who is at fault.

Every error orgbook raises on purpose derives from :class:`OrgBookError`. The HTTP layer turns
each into an RFC 9457 problem+json response through one handler (``status``, ``title`` and a
stable ``type`` URI per class); domain code never raises HTTP exceptions. Foreign exceptions
(jsonschema, nacl, sqlalchemy, httpx, json) are wrapped at the module that calls the library.

Messages are for humans and never carry secret material (no key bytes, no API keys).
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://orgbook.example/problems/"


class OrgBookError(Exception):
    """Root of every orgbook error."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def diagnostics(self) -> str:
        """A one-paragraph explanation for logs and the CLI."""
        where = f" (at {self.field})" if self.field else ""
        return f"{self.title}: {self.detail}{where}"

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem details object for this error."""
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return body


# --- the caller is at fault -------------------------------------------------------------------


class BadInput(OrgBookError):
    """The input cannot be used: malformed, wrong type, out of range."""

    status = 400
    title = "Bad input"
    slug = "bad-input"


class CanonicalizationError(BadInput):
    """A value that RFC 8785 (JCS) cannot represent: NaN, Infinity, lone surrogates, huge ints."""

    title = "Not canonicalizable"
    slug = "not-canonicalizable"


class InvalidRecord(BadInput):
    """A registry record that does not validate against its JSON Schema."""

    status = 422
    title = "Invalid record"
    slug = "invalid-record"


class PayloadTooLarge(BadInput):
    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


class UnsupportedMediaType(BadInput):
    """A request body in a media type the endpoint does not take (e.g. not ``application/json``)."""

    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class Unauthorized(OrgBookError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(OrgBookError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(OrgBookError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(OrgBookError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class RateLimited(OrgBookError):
    status = 429
    title = "Too many requests"
    slug = "rate-limited"


# --- what was presented does not verify --------------------------------------------------------


class VerificationError(OrgBookError):
    """A signature, proof or note does not verify. Deliberately terse: no oracle detail."""

    status = 422
    title = "Verification failed"
    slug = "verification-failed"


class MalformedNote(BadInput):
    """A signed note or checkpoint that does not parse."""

    title = "Malformed signed note"
    slug = "malformed-note"


# --- the registry itself is at fault -----------------------------------------------------------


class LedgerIntegrityError(OrgBookError):
    """The stored ledger contradicts itself (a bad hash, a broken chain, a rewritten history)."""

    status = 500
    title = "Ledger integrity failure"
    slug = "ledger-integrity"

    def __init__(self, detail: str, *, index: int | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.index = index


class InconsistentCheckpoint(LedgerIntegrityError):
    """A checkpoint that is not an append-only extension of one seen or signed before."""

    status = 409
    title = "Inconsistent checkpoint"
    slug = "inconsistent-checkpoint"


class ConfigurationError(OrgBookError):
    title = "Configuration error"
    slug = "configuration"


# --- someone we depend on is at fault ---------------------------------------------------------


class UpstreamError(OrgBookError):
    """A remote service (did:web host, registry, webhook target) failed or answered nonsense."""

    status = 502
    title = "Upstream failure"
    slug = "upstream"
