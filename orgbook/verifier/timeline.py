"""One timeline per organisation: its credentials as dated facts, current facts first.

What it owns: :func:`build_timeline` — from the organisation page's credential views (the
profile's credential summaries with their documents), a :class:`Timeline` of
:class:`TimelineItem`: the *current* facts (registration, name, status, addresses, business
number, relationships, then any other credential, each newest first) and the *earlier* ones
(superseded or revoked credentials, newest first by effective date, then ledger position),
which the page folds away. Each item says what its credential states in the reader's language
(:func:`orgbook.verifier.claims.statement`) and carries one badge: a suspended credential is
``suspended``, never also ``current``. A credential of a registered type of another
authority (a licence, a permit) is labelled from its type definition in the reader's language
(its name, and its ``display.web`` fields with their labels), never by its raw VC type.

What it must not do: query or render (``web.py`` gathers the views, ``_timeline.html`` renders).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orgbook.core.credential_types import TypeDefinition
from orgbook.verifier.claims import related_of, statement, subject_of
from orgbook.verifier.i18n import Translator
from orgbook.verifier.pages import CredentialView

__all__ = ["Timeline", "TimelineItem", "build_timeline"]

_FACT_ORDER = ("registration", "legal-name", "status", "address", "business-number", "relationship")


@dataclass(frozen=True, slots=True)
class TimelineItem:
    view: CredentialView
    label: str  # the credential's type, in the reader's language
    date: str  # the effective date
    statement: str  # what it states, in the reader's language ("" when not known)
    badge: str  # current | suspended | superseded | revoked
    related: tuple[str, str] | None  # a relationship's other organisation: (id, name)


@dataclass(frozen=True, slots=True)
class Timeline:
    current: list[TimelineItem]
    earlier: list[TimelineItem]


def _registered(
    kind: str, subject: Mapping[str, Any], types: Mapping[str, TypeDefinition], t: Translator
) -> tuple[str, str]:
    """``(type label, statement)`` of a credential from its registered type's definition."""
    definition = types.get(kind)
    if definition is None:
        return kind, ""
    label = definition.name.get(t.locale) or definition.name.get("en") or kind
    parts = []
    for name in definition.display.get("web", ()):
        value = subject.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
            parts.append(f"{definition.label(name, t.locale)}: {value}")
    return label, " · ".join(parts)


def _item(
    view: CredentialView,
    document: Mapping[str, Any],
    t: Translator,
    types: Mapping[str, TypeDefinition],
) -> TimelineItem:
    summary = view.summary
    subject = subject_of(document)
    badge = "suspended" if summary.suspended and summary.state == "current" else summary.state
    related = related_of(subject) if summary.type == "relationship" else None
    said = statement(summary.type, subject, t)
    label = t.label("credential_type", summary.type)
    if not t.has(f"credential_type.{summary.type}"):
        label, said = _registered(summary.type, subject, types, t)
    if related is not None:  # the page links the other organisation after the relationship
        said = t.label("rel_outgoing", str(subject.get("relationshipType", "")))
    return TimelineItem(
        view=view,
        label=label,
        date=summary.effective,
        statement=said,
        badge=badge,
        related=related,
    )


def build_timeline(
    views: Sequence[CredentialView],
    documents: Mapping[str, Mapping[str, Any]],
    t: Translator,
    types: Mapping[str, TypeDefinition] | None = None,
) -> Timeline:
    """The timeline of one organisation's credentials (see the module docstring); ``types``:
    the registered type definitions by slug, which label other authorities' credentials."""
    known = types or {}
    items = [_item(view, documents[view.summary.id], t, known) for view in views]
    rank = {kind: i for i, kind in enumerate(_FACT_ORDER)}
    current = [i for i in items if i.view.summary.state == "current"]
    current.sort(
        key=lambda i: (
            rank.get(i.view.summary.type, len(rank)),
            _desc(i.date),
            -i.view.summary.ledger_index,
        )
    )
    earlier = [i for i in items if i.view.summary.state != "current"]
    earlier.sort(key=lambda i: (i.date, i.view.summary.ledger_index), reverse=True)
    return Timeline(current=current, earlier=earlier)


def _desc(date: str) -> tuple[int, ...]:
    """A sort key that puts later dates first."""
    return tuple(-ord(ch) for ch in date)
