"""RFC 8785 JSON Canonicalization Scheme: the only way orgbook produces bytes to sign or hash.

``canonicalize`` is the single path to signed and hashed bytes (ledger leaves, Data Integrity
proofs, checkpoints' inputs). It is deliberately separate from how JSON is sent on the wire.

Two implementations, one answer:

* ``rfc8785`` (Trail of Bits), a complete pure-Python RFC 8785 implementation, is the reference.
* ``orjson`` with sorted keys produces byte-identical output for the values orgbook signs: no
  floats, integers within ±2^53, object keys in the Basic Multilingual Plane (where UTF-16 code
  unit order equals code point order). A guard walks the value first and falls back to the
  reference when any of those appear. The tests assert byte equality of both paths on published
  vectors and on generated values.

Canonical bytes compose: a member's canonical bytes are the same inside any parent. A
:class:`Canonical` (a value with the RFC 8785 bytes ``canonicalize`` produced for it) can stand
in for that value anywhere inside what is canonicalised, and its bytes are embedded as they are,
so a large value (a signed credential inside a ledger entry) is canonicalised once.
:func:`merge_objects` joins canonical objects whose key ranges do not overlap.

``loads_strict`` parses JSON the way JCS expects its input: duplicate object keys, NaN and
Infinity literals and lone surrogates are rejected with a clear error instead of silently
collapsing or passing through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785

from orgbook.core.errors import CanonicalizationError

__all__ = [
    "Canonical",
    "canonicalize",
    "canonicalize_reference",
    "canonicalize_trusted",
    "is_fast_path_safe",
    "loads_strict",
    "merge_objects",
]

_MAX_SAFE_INT = 2**53 - 1
_ORJSON_OPTS = orjson.OPT_SORT_KEYS


class Canonical:
    """A JSON value with its RFC 8785 bytes, embedded verbatim wherever it is canonicalised.

    Build it with :meth:`of` (which canonicalises the value) so the bytes are the value's
    canonical form; the value must not be changed afterwards.
    """

    __slots__ = ("data", "value")

    def __init__(self, value: Any, data: bytes) -> None:
        self.value = value
        self.data = data

    @classmethod
    def of(cls, value: Any) -> Canonical:
        return cls(value, canonicalize(value))

    def __repr__(self) -> str:
        return f"Canonical({self.data[:60]!r}…)"


def _fragment(value: Any) -> Any:
    if type(value) is Canonical:
        return orjson.Fragment(value.data)
    raise TypeError(f"type {type(value).__name__} is not JSON")


def _plain(value: Any) -> Any:
    """``value`` with every :class:`Canonical` replaced by the value it stands for."""
    kind = type(value)
    if kind is Canonical:
        return value.value
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    return value


def merge_objects(*objects: bytes) -> bytes:
    """The canonical bytes of the union of canonical objects given in key order.

    Every key of each object must sort (RFC 8785: by UTF-16 code units) after every key of the
    objects before it, as when one object is split around a key; empty objects are skipped.
    """
    inner = [obj[1:-1] for obj in objects if len(obj) > 2]
    return b"{" + b",".join(inner) + b"}"


def _fast_path_safe(value: Any, depth: int = 0) -> bool:
    """True when orjson's sorted output is exactly RFC 8785 for ``value``."""
    if depth > 200:
        return False
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            # Non-BMP characters sort differently under UTF-16 code units (JCS) than under code
            # points (orjson); also catches lone surrogates for the reference path to reject.
            if not key.isascii() and any(ord(c) > 0xD7FF for c in key):
                return False
            # Scalars inline (most members are strings): a call per member doubles the walk.
            item_kind = type(item)
            if item_kind is str or item is None or item_kind is bool:
                continue
            if item_kind is int:
                if -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                    continue
                return False
            if not _fast_path_safe(item, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_leaf_safe(item) or _fast_path_safe(item, depth + 1) for item in value)
    return _leaf_safe(value) or kind is Canonical


def _leaf_safe(value: Any) -> bool:
    """A scalar the fast path renders as JCS does (strings, booleans, null, safe integers).

    False for containers (and for floats and unsafe integers): the caller walks those.
    """
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    return kind is int and -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT


def canonicalize_reference(value: Any) -> bytes:
    """RFC 8785 bytes through the reference implementation only."""
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.IntegerDomainError as exc:
        raise CanonicalizationError(
            "integer outside the JSON-safe range ±(2^53-1) cannot be canonicalized"
        ) from exc
    except rfc8785.FloatDomainError as exc:
        raise CanonicalizationError("NaN and Infinity have no JSON representation") from exc
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalizationError(f"cannot canonicalize: {exc}") from exc
    except (TypeError, ValueError, RecursionError) as exc:
        raise CanonicalizationError(f"cannot canonicalize: {exc}") from exc


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Raises :class:`CanonicalizationError` for values JCS cannot represent (NaN, ±Infinity,
    integers beyond ±(2^53-1), lone surrogates, non-string keys, non-JSON types).
    """
    # The guard's walk recurses too (up to 200 levels): called from a deep stack, it can run
    # out of frames as well as _plain, and neither may raise RecursionError to the caller.
    try:
        if _fast_path_safe(value):
            try:
                return orjson.dumps(value, default=_fragment, option=_ORJSON_OPTS)
            except (TypeError, orjson.JSONEncodeError):
                pass  # lone surrogates and the like: let the reference produce the precise error
        plain = _plain(value)
    except RecursionError as exc:
        raise CanonicalizationError("JSON nested too deeply") from exc
    return canonicalize_reference(plain)


def is_fast_path_safe(value: Any) -> bool:
    """Whether ``value`` holds nothing the orjson fast path renders differently from RFC 8785:
    no floats, no integers beyond ±(2^53-1), no object keys outside the BMP."""
    return _fast_path_safe(value)


_TRUSTED_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def canonicalize_trusted(value: Any) -> bytes:
    """:func:`canonicalize` without the guard's walk, for values whose builder vouches for them.

    Only for values orgbook itself assembled from checked parts: no floats anywhere and every
    object key below U+D800 (e.g. fixed ASCII member names around data that passed
    :func:`is_fast_path_safe`). orjson still refuses integers beyond ±(2^53-1) and lone
    surrogates, and those fall back to :func:`canonicalize`.
    """
    try:
        return orjson.dumps(value, default=_fragment, option=_TRUSTED_OPTS)
    except (TypeError, orjson.JSONEncodeError):
        return canonicalize(value)


def _reject_constant(name: str) -> Any:
    raise CanonicalizationError(f"{name} is not valid JSON (RFC 8259) and has no JCS form")


def _pairs_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise CanonicalizationError(f"duplicate object key {key!r}")
        result[key] = item
    return result


MAX_DEPTH = 128
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    """Also enforces :data:`MAX_DEPTH`. Iterative, so deep input cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not _encodes_utf8(item):
                return True
            continue
        if depth >= MAX_DEPTH and isinstance(item, Mapping | list):
            raise CanonicalizationError(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, Mapping):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _parse_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise CanonicalizationError(f"number {text[:40]} is out of the IEEE 754 double range")
    return number


def loads_strict(data: bytes | str) -> Any:
    """Parse JSON text strictly (I-JSON, RFC 7493): no duplicate keys, NaN or lone surrogates."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalizationError(f"JSON text is not UTF-8: {exc.reason}") from exc
        valid_utf8 = True
    else:
        text = data
        valid_utf8 = text.isascii() or _encodes_utf8(text)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs_no_duplicates,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
        )
    except json.JSONDecodeError as exc:
        raise CanonicalizationError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise CanonicalizationError("JSON nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise CanonicalizationError(f"unrepresentable JSON number: {exc}") from exc
    # A surrogate can only come from a \\uD800-\\uDFFF escape or from a str that is not valid
    # UTF-8, and nothing nests MAX_DEPTH deep with fewer brackets: then the walk finds nothing.
    walk = (
        not valid_utf8
        or _SURROGATE_ESCAPE.search(text) is not None
        or text.count("{") + text.count("[") >= MAX_DEPTH
    )
    if walk and _has_lone_surrogate(value):
        raise CanonicalizationError("JSON text contains a lone surrogate escape")
    return value


def _encodes_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
