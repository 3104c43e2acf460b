"""The ``schema`` check of a credential of a registered type, from the type's ledger entry.

A credential of a type registered on the ledger (:mod:`orgbook.core.credential_types`) names the
type's ``credentialSchema``, which no verifier ships. Its bundle carries the type's
``type.registered`` entry with an inclusion proof (``credentialType``), beside the authorisation
and the governance key entries, so the subject is checked against the schema the registry's
governance key registered, offline.

What it owns: :func:`check_registered_type` — the ``schema`` check for such a bundle: the data
model's verdict first (a credential that is not VC 2.0 fails whatever its type), then the type
entry proven under a checkpoint the ledger key signed, of kind ``type.registered``, a
definition that parses, signed by a governance key valid at its index (the bundle's proven
``governance.key.*`` entries), logged before the credential, naming the credential's VC type
and ``credentialSchema``; then the ``credentialSubject`` validated against the registered
schema, every problem as a JSON pointer under ``/credentialSubject``.

What it must not do: I/O, or trust a type entry that is not proven or not signed by the
governance key (the check fails, saying why).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orgbook.core.credential_types import REGISTERED_KIND, TypeDefinition
from orgbook.core.errors import BadInput
from orgbook.core.schemas.registered import validate_registered
from orgbook.ledger.entry import Entry
from orgbook.verification.authorisation import (
    GOVERNANCE_ADDED,
    GovernanceKeys,
    governance_failure,
)
from orgbook.verification.bundle import ProvenEntry
from orgbook.verification.checkpoint import LedgerTrust
from orgbook.verification.document import as_list
from orgbook.verification.inclusion import Part, why_unproven
from orgbook.verification.report import Check

__all__ = ["check_registered_type"]


def _fail(reason: str, details: Mapping[str, Any] | None = None) -> Check:
    return Check("schema", "fail", reason, details or {})


def _schema_ids(credential: Mapping[str, Any]) -> list[str]:
    return [
        item["id"]
        for item in as_list(credential.get("credentialSchema"))
        if isinstance(item, Mapping) and isinstance(item.get("id"), str)
    ]


def check_registered_type(
    credential: Any,
    data_model: Check | None,
    entry: Part,
    type_part: Part,
    governance: Sequence[Part],
    trust: LedgerTrust,
) -> Check:
    """``schema`` for a bundle carrying its type's ``type.registered`` entry (see the module
    docstring); ``data_model`` is the credential's own ``schema`` check (VC 2.0 conformance)."""
    if data_model is not None and not data_model.passed:
        return data_model
    if not isinstance(credential, Mapping):
        return _fail("the credential is not a JSON object")
    failure = why_unproven(trust, type_part)
    if failure is not None:
        return _fail(f"the credential type entry is not proven on the ledger: {failure}")
    assert isinstance(type_part, ProvenEntry)
    found: Entry = type_part.entry
    if found.kind != REGISTERED_KIND:
        return _fail(f"entry {found.index} is {found.kind}, not {REGISTERED_KIND}")
    document = found.payload.get("credentialType")
    try:
        definition = TypeDefinition.parse(document)
    except BadInput as exc:
        return _fail(f"entry {found.index} holds no usable type definition: {exc.detail}")
    keys = GovernanceKeys.from_entries(
        part.entry
        for part in governance
        if why_unproven(trust, part) is None and isinstance(part, ProvenEntry)
    )
    if not keys.keys:
        return _fail(f"the bundle carries no proven {GOVERNANCE_ADDED} entry for the type")
    unsigned = governance_failure(document, keys, found.index)
    if unsigned is not None:
        return _fail(f"the type definition at entry {found.index} is {unsigned}")
    if isinstance(entry, ProvenEntry) and found.index >= entry.entry.index:
        return _fail(
            f"the type was registered at entry {found.index}, after the credential's "
            f"({entry.entry.index})"
        )
    if definition.vc_type not in as_list(credential.get("type")):
        return _fail(f"the credential is not a {definition.vc_type} ({definition.id})")
    if definition.credential_schema not in _schema_ids(credential):
        return _fail(
            f"the credential's credentialSchema is not {definition.credential_schema}, the "
            f"schema of {definition.id}"
        )
    subject = credential.get("credentialSubject")
    problems = validate_registered(definition.id, definition.schema, subject)
    details = {"credentialType": definition.id, "registeredAt": found.index}
    if problems:
        listed = [{"path": "/credentialSubject" + p.path, "message": p.message} for p in problems]
        first = listed[0]
        more = f" (and {len(listed) - 1} more)" if len(listed) > 1 else ""
        return _fail(
            f"does not match the schema of {definition.id} (ledger entry {found.index}): "
            f"{first['path']}: {first['message']}{more}",
            {**details, "problems": listed},
        )
    return Check(
        "schema",
        "pass",
        f"conforms to the VC 2.0 data model and the schema of {definition.id}, registered at "
        f"ledger entry {found.index}",
        details,
    )
