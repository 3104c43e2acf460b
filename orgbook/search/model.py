"""The search index's model: what the issuer indexes and what a search asks and answers.

What it owns: the frozen value types every other part of search and its callers share —
:class:`OrgDoc` (one organisation as the index knows it, with its :class:`NameEntry` names),
:class:`SearchQuery` and its :class:`SearchPage` of :class:`Hit`, and the autocomplete
:class:`Suggestion`. What it must not do: hold behaviour (validation is
:mod:`orgbook.search.plan`'s, indexing :mod:`orgbook.search.writer`'s) or import storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = [
    "STATUS_FILTERS",
    "FacetValue",
    "Facets",
    "Hit",
    "NameEntry",
    "OrgDoc",
    "SearchPage",
    "SearchQuery",
    "Suggestion",
]

STATUS_FILTERS = (
    "active",
    "inactive",
    "dissolved",
    "amalgamated",
    "continued-out",
    "cancelled",
    "restored",
)
"""What ``status`` may filter by: ``active``; ``inactive``, any status but ``active`` (an
organisation whose status is ``inactive`` included); or one other status exactly."""


@dataclass(frozen=True, slots=True)
class NameEntry:
    name: str
    kind: Literal["current", "former", "alternate"]
    language: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None


@dataclass(frozen=True, slots=True)
class OrgDoc:
    """What the index knows of one organisation (built by the issuer from its credentials)."""

    org_id: str
    jurisdiction: str
    registration_number: str
    business_number: str | None
    names: Sequence[NameEntry]
    status: str
    entity_type: str
    issuers: Sequence[str]
    credential_types: Sequence[str]
    # (kind, value, until): an issuer ("i") or credential type ("c") above that the
    # organisation holds only through credentials that expire, and the latest ``validUntil``
    # among them (aware UTC); the others hold until revoked.
    expiries: Sequence[tuple[str, str, datetime]] = ()


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str | None
    jurisdiction: str | None = None
    status: str | None = None  # one of STATUS_FILTERS
    entity_type: str | None = None
    credential_type: str | None = None
    issuer: str | None = None
    limit: int = 20
    cursor: str | None = None
    # The instant the credential type and issuer filters and facets are evaluated at (a type or
    # issuer held only through expired credentials no longer counts); None: now.
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    org_id: str
    name: str  # the current name
    matched_name: str  # the name (current, former, alternate) or number that matched
    match: Literal["number", "exact", "prefix", "fuzzy"]
    score: float
    jurisdiction: str
    registration_number: str
    status: str
    entity_type: str


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[Hit]
    total: int
    total_is_estimate: bool
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    org_id: str
    name: str
    matched_name: str
    registration_number: str
    jurisdiction: str
    status: str


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class Facets:
    """How many of a query's organisations have each filter value (:mod:`orgbook.search.facets`).

    Each facet counts the organisations that match the text and every *other* filter, so its
    counts say what choosing one of its values would give. ``exact`` is false when more than
    ``bound`` organisations had to be counted: the counts are then lower bounds, taken over the
    first ``bound`` of them. Values no organisation has are not listed.
    """

    jurisdiction: list[FacetValue]
    status: list[FacetValue]
    entity_type: list[FacetValue]
    credential_type: list[FacetValue]
    issuer: list[FacetValue]
    exact: bool
    bound: int
