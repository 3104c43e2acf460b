"""Date-times as orgbook reads and writes them: one RFC 3339 / XML Schema parser, one formatter.

What it owns:

* :func:`parse_time` and :func:`parse_time_or_none`: an XML Schema ``dateTimeStamp`` (RFC 3339
  with a zone, as VC 2.0 §4.9 and Data Integrity require) as an aware UTC datetime, any number
  of fraction digits (microseconds kept, the rest dropped), ``24:00:00`` refused;
* :func:`parse_registry_time`: the looser ISO 8601 dates and date-times registry records carry
  (a bare date is 00:00 UTC, a date-time without an offset is UTC);
* :func:`as_utc`, and :func:`format_time` with the precisions orgbook signs and serves:
  ``"seconds"`` (``2026-11-23T12:00:00Z``, fractions dropped), ``"microseconds"``
  (``…T12:00:00.000000Z``, ledger entries), ``"trimmed"`` (seconds, or a fraction without
  trailing zeros: proofs' ``created``) and ``"iso"`` (Python's ``isoformat``: six digits when
  there are microseconds, none otherwise: HTTP responses).

What it must not do: read the clock, or format for people (``verifier.i18n`` does that).
Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal

from orgbook.core.errors import BadInput

__all__ = [
    "Precision",
    "as_utc",
    "format_time",
    "is_date_time_stamp",
    "parse_registry_time",
    "parse_time",
    "parse_time_or_none",
]

Precision = Literal["seconds", "microseconds", "trimmed", "iso"]

# XML Schema dateTimeStamp (VC 2.0 §4.9): a four-digit year or more without leading zeros, a
# zone always, offsets up to ±14:00.
_DATE_TIME_STAMP = re.compile(
    r"(?P<year>-?(?:[1-9][0-9]{3,}|0[0-9]{3}))-(?P<month>0[1-9]|1[0-2])"
    r"-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"T(?P<hour>[01][0-9]|2[0-4]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9])"
    r"(?:\.(?P<fraction>[0-9]+))?"
    r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})"
)
# Registry records: a date, or a date-time with "T" or a space, seconds and zone optional.
_REGISTRY_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?)?"
)
_FORMATS: dict[str, str] = {
    "seconds": "%Y-%m-%dT%H:%M:%SZ",
    "microseconds": "%Y-%m-%dT%H:%M:%S.%fZ",
}


def parse_time(text: str) -> datetime:
    """An XML Schema ``dateTimeStamp`` as an aware UTC datetime; :class:`BadInput` otherwise."""
    match = _DATE_TIME_STAMP.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise BadInput(f"not an XML Schema dateTimeStamp: {text!r}")
    tz = match["tz"]
    if tz == "Z":
        zone = UTC
    else:
        sign = -1 if tz[0] == "-" else 1
        hours, minutes = int(tz[1:3]), int(tz[4:6])
        if hours > 14 or minutes > 59 or (hours == 14 and minutes):
            raise BadInput(f"time zone offset out of range: {text!r}")
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        parsed = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),  # 24:00:00 is legal XML Schema; no verifier should meet it
            int(match["minute"]),
            int(match["second"]),
            int(fraction),
            tzinfo=zone,
        )
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise BadInput(f"not a valid date-time: {text!r} ({exc})") from exc


def parse_time_or_none(text: object) -> datetime | None:
    """:func:`parse_time`, or None for anything that is not a real ``dateTimeStamp``."""
    if not isinstance(text, str):
        return None
    try:
        return parse_time(text)
    except BadInput:
        return None


def is_date_time_stamp(value: object) -> bool:
    """True for an XML Schema dateTimeStamp that is also a real instant."""
    return parse_time_or_none(value) is not None


def parse_registry_time(text: str) -> datetime:
    """A registry's date or date-time as aware UTC; ValueError when it is not one, or when the
    calendar or clock does not exist (2023-02-30, 24:00)."""
    m = _REGISTRY_TIME.fullmatch(text.strip())
    if m is None:
        raise ValueError("not an ISO 8601 date or date-time")
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    d = date(int(year), int(month), int(day))
    if hour is None:
        return datetime.combine(d, time(0, 0), tzinfo=UTC)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz: timezone = UTC
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if minutes > 59:
            raise ValueError("offset minutes out of range")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    t = time(int(hour), int(minute), int(second or 0), micro)
    return datetime.combine(d, t, tzinfo=tz).astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive ``value`` is taken to be UTC already (as SQLite returns them)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(when: datetime, precision: Precision = "seconds") -> str:
    """``when`` as RFC 3339 UTC with ``Z`` at ``precision``; a naive ``when`` is :class:`BadInput`
    (call :func:`as_utc` first for a value known to be UTC)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise BadInput("date-times must be timezone-aware (UTC)")
    utc = when.astimezone(UTC)
    if precision == "iso":
        return utc.isoformat().replace("+00:00", "Z")
    if precision == "trimmed":
        if utc.microsecond:
            return utc.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0") + "Z"
        precision = "seconds"
    return utc.strftime(_FORMATS[precision])
