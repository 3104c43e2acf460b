"""The compiled schema fast path (orgbook.core.schemas.compiled): it accepts every valid credential
without jsonschema, and never accepts an instance jsonschema rejects (mutated credentials of each
type, hypothesis-driven), so validation results are exactly jsonschema's."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgbook.core import schemas
from orgbook.core.credentials import CredentialType
from orgbook.core.schemas import compiled
from tests.core.test_schemas import unsigned

# Values a mutation may put anywhere: wrong types, near-misses of every pattern and format.
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    -1,
    2**60,
    "",
    " ",
    "x",
    "BC",
    "CA-BC",
    "ca-bc",
    "2024-02-30",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:00:00",
    "did:web:registry.test",
    "did:web:",
    "urn:orgbook:org:CA-BC:BC1",
    "urn:uuid:3f1e6a52-7d5b-5c61-9a0e-6b1f2c3d4e5f",
    "https://www.w3.org/ns/credentials/v2",
    "not a url",
    "VerifiableCredential",
    "JsonSchema",
    "a" * 2001,
    [],
    [None],
    ["VerifiableCredential"],
    ["https://www.w3.org/ns/credentials/v2"],
    {},
    {"id": "did:web:registry.test"},
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(document: dict[str, Any], path: tuple[Any, ...], how: str, odd: Any) -> Any:
    mutated: Any = copy.deepcopy(document)
    if not path:
        return odd if how == "replace" else mutated
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "replace":
        parent[last] = odd
    elif how == "add" and isinstance(parent[last], dict):
        parent[last]["unexpected"] = odd
    elif how == "add" and isinstance(parent[last], list):
        parent[last].append(odd)
    return mutated


def _jsonschema_valid(schema_id: str, instance: Any) -> bool:
    return not any(schemas.schema_validator(schema_id).iter_errors(instance))


@pytest.mark.parametrize("ctype", list(CredentialType), ids=lambda t: t.slug)
def test_every_credential_schema_compiles_and_accepts_its_sample(ctype: CredentialType) -> None:
    assert compiled.compiled_check(ctype.schema_id) is not None
    assert compiled.accepts(ctype.schema_id, unsigned(ctype))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ctype=st.sampled_from(list(CredentialType)),
    pick=st.integers(min_value=0),
    how=st.sampled_from(["delete", "replace", "add"]),
    odd=st.sampled_from(ODD_VALUES),
)
def test_compiled_check_never_accepts_what_jsonschema_rejects(
    ctype: CredentialType, pick: int, how: str, odd: Any
) -> None:
    document = unsigned(ctype)
    paths = _paths(document)
    mutated = _mutate(document, paths[pick % len(paths)], how, odd)
    if compiled.accepts(ctype.schema_id, mutated):
        assert _jsonschema_valid(ctype.schema_id, mutated)
        assert schemas.validate_against(ctype.schema_id, mutated) == []
    else:
        # Doubted: validate_against is jsonschema's answer, whatever it is.
        problems = schemas.validate_against(ctype.schema_id, mutated)
        assert (problems == []) == _jsonschema_valid(ctype.schema_id, mutated)


def test_a_schema_with_an_unsupported_keyword_has_no_fast_path() -> None:
    schema_id = "https://orgbook.example/schemas/x.json"
    schema = {"$id": schema_id, "uniqueItems": True}
    with pytest.raises(compiled.Unsupported):
        compiled.Compiler(schemas.catalogue.catalogue()).build(schema, schema_id, root=True)


def test_strict_equality_implies_jsonschema_equality() -> None:
    validator = jsonschema.Draft202012Validator({"const": [1, {"a": True}]})
    assert compiled.strictly_equal([1, {"a": True}], [1, {"a": True}])
    for other in ([True, {"a": True}], [1.0, {"a": True}], [1, {"a": 1}]):
        assert not compiled.strictly_equal(other, [1, {"a": True}])
    assert validator.is_valid([1, {"a": True}])
