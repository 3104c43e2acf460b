"""A search query made ready to run: checked, normalised, fingerprinted, its filters as SQL.

What it owns: the input bounds (:data:`MAX_TEXT`, :data:`MAX_LIMIT`) and their checks
(:func:`validate`, :func:`check_text`: a :class:`~orgbook.core.errors.BadInput` naming the
field), the :class:`Plan` of a :class:`~orgbook.search.model.SearchQuery` (its text normalised
with the index's letter rules, without legal forms, as number keys, and the fingerprint a cursor
is bound to; the words that mean the same and the numbers a reader may shorten expanded by
:mod:`orgbook.search.normalise`), and the filters as SQL conditions on ``search_org``
(:func:`query_filters`, :func:`filtered`; a credential type or issuer counts only while some
credential giving it is within its ``validUntil`` at the query's time, :func:`query_time`).
What it must not do: run statements (the tiers do).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, exists, or_
from sqlalchemy.sql.elements import ColumnElement

from orgbook.core.errors import BadInput
from orgbook.core.time import as_utc
from orgbook.search.model import STATUS_FILTERS, SearchQuery
from orgbook.search.normalise import (
    Folding,
    core_name,
    has_digit,
    number_variants,
    word_variants,
)
from orgbook.search.tables import search_org, search_tag

__all__ = [
    "MAX_LIMIT",
    "MAX_TEXT",
    "Plan",
    "check_text",
    "filtered",
    "plan_query",
    "query_filters",
    "query_time",
    "status_matches",
    "tag_held_at",
    "tag_holds",
    "validate",
]

MAX_TEXT = 200
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Plan:
    norm: str  # fold.normalise(text)
    core: str  # without legal suffixes
    cores: tuple[str, ...]  # core, and core with words that mean the same exchanged
    number_keys: tuple[str, ...]
    fingerprint: str
    fold: Folding


def check_text(value: str | None, name: str) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
        raise BadInput(f"{name} must be a string of at most {MAX_TEXT} characters", field=name)


def validate(q: SearchQuery) -> None:
    check_text(q.text, "text")
    for name in ("jurisdiction", "entity_type", "credential_type", "issuer"):
        check_text(getattr(q, name), name)
    if q.status is not None and q.status not in STATUS_FILTERS:
        raise BadInput(f"status must be one of {', '.join(STATUS_FILTERS)}", field="status")
    if isinstance(q.limit, bool) or not isinstance(q.limit, int) or not 1 <= q.limit <= MAX_LIMIT:
        raise BadInput(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")


def plan_query(q: SearchQuery, fold: Folding) -> Plan:
    text = q.text or ""
    norm = fold.normalise(text)
    keys: list[str] = []
    for candidate in (text, text.rsplit(":", 1)[-1]):  # a number, or an org id "CA-BC:BC123"
        key = fold.number_key(candidate)
        if has_digit(key):
            keys += [k for k in (key, *number_variants(key)) if k not in keys]
    filters = [q.jurisdiction and q.jurisdiction.upper(), q.status, q.entity_type]
    filters += [q.credential_type, q.issuer]
    digest = hashlib.sha256(json.dumps([norm, *filters]).encode()).hexdigest()[:16]
    core = core_name(norm)
    return Plan(norm, core, tuple(word_variants(core)), tuple(keys), digest, fold)


def status_matches(wanted: str, status: str) -> bool:
    """Whether an organisation of ``status`` passes the filter ``status=wanted`` (Python side of
    :func:`query_filters`: ``inactive`` is any status but ``active``)."""
    if wanted in ("active", "inactive"):
        return (status == "active") == (wanted == "active")
    return status == wanted


def query_filters(q: SearchQuery) -> list[ColumnElement[bool]]:
    o, t = search_org, search_tag
    out: list[ColumnElement[bool]] = []
    if q.jurisdiction:
        out.append(o.c.jurisdiction == q.jurisdiction.upper())
    if q.status in ("active", "inactive"):
        out.append(o.c.active == (q.status == "active"))
    elif q.status is not None:
        out.append(o.c.status == q.status)
    if q.entity_type:
        out.append(o.c.entity_type == q.entity_type)
    for kind, value in (("c", q.credential_type), ("i", q.issuer)):
        if value:
            at = query_time(q)
            out.append(
                exists().where(
                    t.c.org_id == o.c.org_id,
                    t.c.kind == kind,
                    t.c.value == value,
                    tag_held_at(at),
                )
            )
    return out


def query_time(q: SearchQuery) -> datetime:
    """The instant ``q``'s type and issuer filters are evaluated at (aware UTC): ``q.at``,
    or now."""
    return as_utc(q.at) if q.at is not None else datetime.now(UTC)


def tag_held_at(at: datetime) -> ColumnElement[bool]:
    """The ``search_tag`` rows held at ``at``: no ``valid_until``, or a later one (SQL side of
    :func:`tag_holds`; the filters and the facets' ``GROUP BY`` both use it)."""
    t = search_tag
    return or_(t.c.valid_until.is_(None), t.c.valid_until > at)


def tag_holds(valid_until: datetime | None, at: datetime) -> bool:
    """Whether a tag stored with ``valid_until`` is held at ``at`` (Python side of
    :func:`query_filters`; a naive ``valid_until``, as SQLite returns it, is UTC)."""
    return valid_until is None or as_utc(valid_until) > at


def filtered(stmt: Select[Any], org_id: Any, filters: list[ColumnElement[bool]]) -> Select[Any]:
    if not filters:
        return stmt
    return stmt.join(search_org, search_org.c.org_id == org_id).where(*filters)
