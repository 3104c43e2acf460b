"""orgbook's credential types and the unsigned W3C VC 2.0 documents they become.

What it owns: the :class:`CredentialType` catalogue (slug, VC ``type``, schema URL and version,
supersession key) exactly as docs/data-model.md states it; organisation identifiers
(``organisation_id``, ``subject_id``); deterministic credential ids (``credential_id``);
``build_credential`` (the VC 2.0 envelope around a subject) and ``sign_credential`` (an
``eddsa-jcs-2022`` Data Integrity proof through :mod:`orgbook.core.dataintegrity`).

What it must not do: decide which credentials a registry record produces (that is
``orgbook.issuer.mapping``), validate subjects (``orgbook.core.schemas``), read the clock or hold
keys
(``valid_from``, ``created`` and the ``signer`` are parameters). No I/O.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from orgbook.core.crypto import Signer
from orgbook.core.dataintegrity import add_proof, secure_canonical
from orgbook.core.errors import BadInput
from orgbook.core.schemas import CREDENTIALS_V2_CONTEXT, DEFAULT_SCHEMA_BASE, is_date_time_stamp

__all__ = [
    "CREDENTIALS_V2_CONTEXT",
    "DEFAULT_SCHEMA_BASE",
    "CredentialType",
    "build_credential",
    "credential_id",
    "organisation_id",
    "sign_credential",
    "sign_credential_canonical",
    "subject_id",
]

SUBJECT_PREFIX = "urn:orgbook:org:"
# uuid5 namespace for credential ids: uuid5(NAMESPACE_URL, "https://orgbook.example/credentials").
# Fixed forever: changing it would change every credential id.
CREDENTIAL_ID_NAMESPACE = uuid.UUID("8dd4b64d-432b-5986-af0e-490cc27ae59f")
_NAMESPACE_BYTES = CREDENTIAL_ID_NAMESPACE.bytes
_REGISTRATION_NUMBER_SAFE = "-._~!$&'()*+,;=:@"


class CredentialType(enum.Enum):
    """One credential type: ``(slug, VC type, schema version, supersession key fields)``.

    The supersession key names the subject fields that, with the organisation, identify "the
    current one": a newer credential with the same key supersedes the older.
    """

    REGISTRATION = ("registration", "OrganisationRegistrationCredential", "1.0", ())
    LEGAL_NAME = ("legal-name", "LegalNameCredential", "1.0", ())
    ADDRESS = ("address", "AddressCredential", "1.0", ("addressType",))
    STATUS = ("status", "OrganisationStatusCredential", "1.0", ())
    RELATIONSHIP = (
        "relationship",
        "OrganisationRelationshipCredential",
        "1.0",
        ("relationshipType", "relatedOrganisation.id"),
    )
    BUSINESS_NUMBER = ("business-number", "BusinessNumberCredential", "1.0", ())

    def __init__(
        self, slug: str, vc_type: str, version: str, supersession_fields: tuple[str, ...]
    ) -> None:
        self.slug = slug
        self.vc_type = vc_type
        self.version = version
        self.supersession_fields = supersession_fields

    def schema_url(self, schema_base: str = DEFAULT_SCHEMA_BASE) -> str:
        """Where the JSON Schema is served; its ``$id`` is ``schema_url()`` with the default."""
        return f"{schema_base.rstrip('/')}/credentials/{self.slug}/{self.version}.json"

    @property
    def schema_id(self) -> str:
        """The stable ``$id`` of this type's JSON Schema."""
        return self.schema_url(DEFAULT_SCHEMA_BASE)

    def supersession_key(self, subject: Mapping[str, Any]) -> tuple[str, ...]:
        """``(subject id, *key field values)``: credentials sharing it supersede one another."""
        values: list[str] = [str(subject.get("id", ""))]
        for name in self.supersession_fields:
            value: Any = subject
            for part in name.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            values.append("" if value is None else str(value))
        return tuple(values)

    @classmethod
    def from_slug(cls, slug: str) -> CredentialType:
        for member in cls:
            if member.slug == slug:
                return member
        raise BadInput(f"unknown credential type {slug!r}")

    @classmethod
    def from_vc_type(cls, types: str | Sequence[str]) -> CredentialType | None:
        """The orgbook type among a credential's ``type`` values, or None."""
        names = [types] if isinstance(types, str) else list(types)
        for member in cls:
            if member.vc_type in names:
                return member
        return None


def _check_part(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{what} must be a non-empty string")
    if any(c.isspace() and c != " " for c in value) or value != value.strip():
        raise BadInput(f"{what} has leading, trailing or control whitespace")
    return value


def organisation_id(jurisdiction: str, number: str) -> str:
    """``CA-BC:BC1287139``: the organisation's id in API paths and search results."""
    return f"{_check_part(jurisdiction, 'jurisdiction')}:{_check_part(number, 'number')}"


def subject_id(jurisdiction: str, number: str) -> str:
    """``urn:orgbook:org:CA-BC:BC1287139``: the ``credentialSubject.id`` for the organisation.

    The registration number is kept as the registry wrote it; characters a URN may not carry
    (spaces, ``#``, ``?``, ``/``, non-ASCII…) are percent-encoded so the id stays one URN.
    """
    if type(jurisdiction) is str and type(number) is str:
        return _subject_id(jurisdiction, number)  # an organisation's credentials share it
    return _subject_id.__wrapped__(jurisdiction, number)  # unhashable: BadInput, not TypeError


@lru_cache(maxsize=65536)
def _subject_id(jurisdiction: str, number: str) -> str:
    jurisdiction = _check_part(jurisdiction, "jurisdiction")
    if ":" in jurisdiction:
        raise BadInput("jurisdiction must not contain ':'")
    number = _check_part(number, "number")
    return SUBJECT_PREFIX + jurisdiction + ":" + quote(number, safe=_REGISTRATION_NUMBER_SAFE)


def credential_id(issuer_did: str, event_id: str, type_slug: str) -> str:
    """``urn:uuid:<uuid5>`` from issuer, registry event id and type: re-issuing reproduces it."""
    for value, what in ((issuer_did, "issuer DID"), (event_id, "event id"), (type_slug, "type")):
        if not isinstance(value, str) or not value:
            raise BadInput(f"{what} must be a non-empty string")
    # NUL separators: no two (issuer, event, type) triples share a name.
    name = "\x00".join((issuer_did, event_id, type_slug))
    # uuid.uuid5(CREDENTIAL_ID_NAMESPACE, name).urn, without building a UUID object (RFC 9562
    # section 5.5: SHA-1 of namespace + name, version 5, variant 10).
    sha1 = hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8"), usedforsecurity=False)
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def build_credential(
    *,
    credential_type: CredentialType,
    issuer: str,
    subject: Mapping[str, Any],
    credential_id: str,
    valid_from: str,
    valid_until: str | None = None,
    status_entries: Sequence[Mapping[str, Any]] = (),
    issuer_name: str | None = None,
    subject_jurisdiction: str | None = None,
    subject_number: str | None = None,
    schema_base: str = DEFAULT_SCHEMA_BASE,
) -> dict[str, Any]:
    """The unsigned VC 2.0 credential of ``credential_type`` about ``subject``.

    ``subject`` holds the type's fields; its ``id`` is filled from ``subject_jurisdiction`` and
    ``subject_number`` when given (otherwise ``subject`` must carry it). ``issuer`` is the
    issuer's DID; with ``issuer_name`` it becomes ``{id, name}``. Dates are RFC 3339 strings
    (XML Schema dateTimeStamp). The result is not validated against the schema: call
    :func:`orgbook.core.schemas.validate_credential` for that.
    """
    if not isinstance(credential_type, CredentialType):
        raise BadInput("credential_type must be a CredentialType")
    if not isinstance(issuer, str) or not issuer.startswith("did:"):
        raise BadInput("issuer must be a DID")
    if not isinstance(credential_id, str) or not credential_id:
        raise BadInput("credential_id must be a non-empty string")
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if value is not None and not is_date_time_stamp(value):
            raise BadInput(f"{name} must be an RFC 3339 date-time with a time zone", field=name)
    body = dict(subject)
    if subject_jurisdiction is not None or subject_number is not None:
        if subject_jurisdiction is None or subject_number is None:
            raise BadInput("subject_jurisdiction and subject_number go together")
        body["id"] = subject_id(subject_jurisdiction, subject_number)
    if not isinstance(body.get("id"), str) or not body["id"]:
        raise BadInput("the credential subject needs an id", field="credentialSubject.id")
    # id first: the subject reads naturally, whatever order the caller's mapping had.
    ordered_subject = {"id": body.pop("id"), **body}

    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", credential_type.vc_type],
        "issuer": {"id": issuer, "name": issuer_name} if issuer_name else issuer,
        "validFrom": valid_from,
    }
    if valid_until is not None:
        credential["validUntil"] = valid_until
    credential["credentialSchema"] = {
        "id": credential_type.schema_url(schema_base),
        "type": "JsonSchema",
    }
    if status_entries:
        credential["credentialStatus"] = [dict(entry) for entry in status_entries]
    credential["credentialSubject"] = ordered_subject
    return credential


def sign_credential(
    unsigned: Mapping[str, Any],
    signer: Signer,
    *,
    verification_method: str,
    created: str | datetime,
) -> dict[str, Any]:
    """The credential secured with an ``eddsa-jcs-2022`` ``assertionMethod`` proof."""
    if "proof" in unsigned:
        raise BadInput("credential is already signed")
    return add_proof(
        unsigned,
        signer,
        verification_method=verification_method,
        created=created,
        proof_purpose="assertionMethod",
    )


def sign_credential_canonical(
    unsigned: Mapping[str, Any],
    signer: Signer,
    *,
    verification_method: str,
    created: str | datetime,
    trusted: bool = False,
) -> tuple[dict[str, Any], bytes]:
    """:func:`sign_credential`, plus the signed credential's RFC 8785 bytes (computed once).

    ``trusted``: built by :func:`build_credential` around a subject that passed
    :func:`orgbook.core.canonical.is_fast_path_safe` (see
    :func:`orgbook.core.dataintegrity.secure_canonical`).
    """
    if "proof" in unsigned:
        raise BadInput("credential is already signed")
    return secure_canonical(
        unsigned,
        signer,
        verification_method=verification_method,
        created=created,
        proof_purpose="assertionMethod",
        trusted=trusted,
    )
