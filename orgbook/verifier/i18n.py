"""English and French for the web page: locale choice, messages, dates and numbers.

What it owns: the supported locales, choosing one for a request (``?lang=``, then the
``orgbook_lang`` cookie, then ``Accept-Language``), the message catalogues in ``locales/*.json``
(flat ``dotted.keys`` → text with ``{name}`` placeholders; plurals as ``key.one``/``key.other``)
and small locale-aware formatters for numbers, dates and times — enough for two locales, so no
Babel. What it must not do: know about HTTP frameworks, templates or the registry.

French follows the Office québécois de la langue française and the federal style guide: a narrow
no-break space (U+202F) groups thousands, the decimal sign is a comma, dates read
``1er novembre 2026`` / ``23 novembre 2026`` and times ``16 h 06``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Final

from orgbook.core.datafiles import data_path
from orgbook.core.time import parse_registry_time

__all__ = [
    "COOKIE_NAME",
    "DEFAULT_LOCALE",
    "LOCALES",
    "Translator",
    "catalogue",
    "format_date",
    "format_datetime",
    "format_number",
    "negotiate",
    "parse_when",
    "translator",
]

LOCALES: Final = ("en", "fr")
DEFAULT_LOCALE: Final = "en"
COOKIE_NAME: Final = "orgbook_lang"

NNBSP = "\u202f"  # narrow no-break space: French thousands separator, before ; : ! ?

_MONTHS: Final[Mapping[str, tuple[str, ...]]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def _as_locale(value: str | None) -> str | None:
    """``fr-CA`` → ``fr``; None when not one of :data:`LOCALES`."""
    if not value:
        return None
    primary = value.strip().split("-")[0].split("_")[0].lower()
    return primary if primary in LOCALES else None


def parse_accept_language(header: str | None) -> list[str]:
    """Supported locales in the order of preference that ``Accept-Language`` states."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        locale = _as_locale(tag)
        if locale is not None and quality > 0:
            ranked.append((-quality, position, locale))
    out: list[str] = []
    for _, _, locale in sorted(ranked):
        if locale not in out:
            out.append(locale)
    return out


def negotiate(
    query: str | None, cookie: str | None, accept_language: str | None
) -> tuple[str, bool]:
    """The locale for a request, and whether it was chosen explicitly by ``?lang=``."""
    explicit = _as_locale(query)
    if explicit is not None:
        return explicit, True
    remembered = _as_locale(cookie)
    if remembered is not None:
        return remembered, False
    preferred = parse_accept_language(accept_language)
    return (preferred[0] if preferred else DEFAULT_LOCALE), False


# --- numbers, dates -----------------------------------------------------------------------------


def format_number(value: int | float, locale: str) -> str:
    """``1234567`` → ``1,234,567`` (en) or ``1 234 567`` with U+202F (fr)."""
    negative = value < 0
    text = f"{abs(value):,}" if isinstance(value, int) else f"{abs(value):,.2f}"
    whole, _, fraction = text.partition(".")
    if locale == "fr":
        whole = whole.replace(",", NNBSP)
        text = whole + ("," + fraction if fraction else "")
    return ("-" if negative else "") + text


def parse_when(value: str | date | datetime | None) -> date | datetime | None:
    """An ISO 8601 date or RFC 3339 date-time (``…Z``) as a ``date``/aware ``datetime``."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return parse_registry_time(text)  # aware UTC; naive is taken as UTC
    except ValueError:
        return None


def format_date(value: str | date | datetime | None, locale: str) -> str:
    """``2026-11-23`` → ``November 23, 2026`` (en) or ``23 novembre 2026`` (fr).

    A value that does not parse is returned as given (registries send odd dates)."""
    when = parse_when(value)
    if when is None:
        return "" if value is None else str(value)
    day = when.date() if isinstance(when, datetime) else when
    month = _MONTHS[locale if locale in _MONTHS else DEFAULT_LOCALE][day.month - 1]
    if locale == "fr":
        return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
    return f"{month} {day.day}, {day.year}"


def format_datetime(value: str | datetime | None, locale: str) -> str:
    """``2026-11-23T16:06:23Z`` → ``November 23, 2026, 16:06 UTC`` (en) or
    ``23 novembre 2026, 16 h 06 UTC`` (fr)."""
    when = parse_when(value)
    if not isinstance(when, datetime):
        return (
            format_date(when, locale) if when is not None else ("" if value is None else str(value))
        )
    day = format_date(when, locale)
    if locale == "fr":
        return f"{day}, {when.hour} h {when.minute:02d} UTC"
    return f"{day}, {when.hour:02d}:{when.minute:02d} UTC"


# --- messages -----------------------------------------------------------------------------------


@cache
def catalogue(locale: str) -> Mapping[str, str]:
    """The messages of ``locale`` (``locales/<locale>.json``), loaded once."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    data = json.loads(
        (data_path("verifier", "locales") / f"{locale}.json").read_text(encoding="utf-8")
    )
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"locales/{locale}.json must be a flat object of strings")
    return data


@dataclass(frozen=True, slots=True)
class Translator:
    """Messages and formatters of one locale, as templates call them."""

    locale: str
    messages: Mapping[str, str]

    def __call__(self, key: str, /, **values: object) -> str:
        """The message ``key`` with ``{placeholders}`` filled; a missing key shows as itself."""
        text = self.messages.get(key)
        if text is None:
            return key
        if not values:
            return text
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    def plural(self, key: str, count: int, /, **values: object) -> str:
        """``key.one`` or ``key.other`` for ``count`` (French: 0 and 1 are singular)."""
        one = count in (0, 1) if self.locale == "fr" else count == 1
        return self(f"{key}.{'one' if one else 'other'}", count=self.number(count), **values)

    def label(self, group: str, value: str | None) -> str:
        """A vocabulary label (``status.active``…); an unknown value is shown as given."""
        if value is None:
            return ""
        return self.messages.get(f"{group}.{value}", value)

    def has(self, key: str) -> bool:
        return key in self.messages

    def number(self, value: int | float) -> str:
        return format_number(value, self.locale)

    def date(self, value: str | date | datetime | None) -> str:
        return format_date(value, self.locale)

    def datetime(self, value: str | datetime | None) -> str:
        return format_datetime(value, self.locale)


def translator(locale: str) -> Translator:
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    return Translator(locale, catalogue(locale))
