"""The schema layer: the shapes orgbook accepts, for credentials and registry records alike.

What it owns, a module each:

* :mod:`.catalogue`: the JSON Schemas in ``orgbook/resources/schemas/`` by ``$id``, loaded once
  into one ``referencing`` registry (the only loader of schemas in orgbook), and the formats
  they assert;
* :mod:`.compiled`: the one schema-to-code compiler, a fast path that accepts a conforming
  instance in microseconds and never accepts what ``jsonschema`` rejects;
* :mod:`.validation`: ``validate_against``, ``validate_credential`` and ``validate_record``,
  returning :class:`SchemaProblem` values (a JSON pointer and a message) instead of raising;
* :mod:`.vc`: ``validate_data_model``, the W3C VC Data Model 2.0 rules for any credential or
  presentation.

What it must not do: read anything but its schema files, reach the network (``$ref`` never
leaves the local registry), or raise for anything in an instance. This module re-exports the
public names: ``from orgbook.core.schemas import validate_credential``.
"""

from __future__ import annotations

from orgbook.core.schemas.catalogue import (
    DEFAULT_SCHEMA_BASE,
    known_schema_ids,
    schema_by_id,
    schema_registry,
    schemas_dir,
    stable_schema_id,
)
from orgbook.core.schemas.compiled import accepts, compiled_check
from orgbook.core.schemas.validation import (
    SchemaProblem,
    schema_validator,
    validate_against,
    validate_credential,
    validate_record,
)
from orgbook.core.schemas.vc import (
    CREDENTIALS_V2_CONTEXT,
    is_date_time_stamp,
    is_url,
    validate_data_model,
)

__all__ = [
    "CREDENTIALS_V2_CONTEXT",
    "DEFAULT_SCHEMA_BASE",
    "SchemaProblem",
    "accepts",
    "compiled_check",
    "is_date_time_stamp",
    "is_url",
    "known_schema_ids",
    "schema_by_id",
    "schema_registry",
    "schema_validator",
    "schemas_dir",
    "stable_schema_id",
    "validate_against",
    "validate_credential",
    "validate_data_model",
    "validate_record",
]
