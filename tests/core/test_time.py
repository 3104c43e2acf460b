"""orgbook.core.time: the one date-time parser and formatter, byte for byte what orgbook signs.

The Data Integrity helpers' assertions (moved from test_dataintegrity.py), the precisions each
caller uses (ledger entries, validFrom, HTTP responses), and the registry records' looser dates.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from orgbook.core.errors import BadInput
from orgbook.core.time import (
    as_utc,
    format_time,
    is_date_time_stamp,
    parse_registry_time,
    parse_time,
    parse_time_or_none,
)


def test_datetime_helpers() -> None:
    assert parse_time("2023-02-24T23:36:38Z") == datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
    assert parse_time("2023-02-25T01:36:38.5+02:00") == datetime(
        2023, 2, 24, 23, 36, 38, 500000, tzinfo=UTC
    )
    assert format_time(
        datetime(2023, 2, 25, 1, 36, 38, tzinfo=timezone(timedelta(hours=2))), "trimmed"
    )
    assert format_time(datetime(2023, 1, 1, tzinfo=UTC), "trimmed") == "2023-01-01T00:00:00Z"
    assert format_time(datetime(2023, 1, 1, 0, 0, 0, 250000, tzinfo=UTC), "trimmed") == (
        "2023-01-01T00:00:00.25Z"
    )
    with pytest.raises(BadInput):
        format_time(datetime(2023, 1, 1), "trimmed")
    with pytest.raises(BadInput):
        parse_time("2023-01-01T00:00:00+15:00")


def test_format_time_precisions() -> None:
    when = datetime(2026, 11, 23, 12, 0, 0, 5, tzinfo=UTC)
    assert format_time(when) == "2026-11-23T12:00:00Z"
    assert format_time(when, "seconds") == "2026-11-23T12:00:00Z"
    assert format_time(when, "microseconds") == "2026-11-23T12:00:00.000005Z"
    assert format_time(when, "trimmed") == "2026-11-23T12:00:00.000005Z"
    assert format_time(when, "iso") == "2026-11-23T12:00:00.000005Z"
    whole = datetime(2026, 11, 23, 12, tzinfo=timezone(timedelta(hours=-8)))
    assert format_time(whole, "microseconds") == "2026-11-23T20:00:00.000000Z"
    assert format_time(whole, "iso") == "2026-11-23T20:00:00Z"
    with pytest.raises(BadInput):
        format_time(datetime(2026, 1, 1), "iso")


def test_as_utc_takes_naive_as_utc() -> None:
    assert as_utc(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    east = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(east).tzinfo is UTC
    assert as_utc(east).hour == 10


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-01-01T00:00:00Z", True),
        ("2024-01-01T00:00:00.123456789Z", True),
        ("2024-01-01T19:10:39-06:00", True),
        ("2024-01-01T00:00:00+14:00", True),
        ("2024-01-01T00:00:00+14:30", False),
        ("2024-01-01T00:00:00", False),
        ("2024-02-30T00:00:00Z", False),
        ("2024-01-01T24:00:00Z", False),
        ("2024-01-01 00:00:00Z", False),
        ("02024-01-01T00:00:00Z", False),
        ("2024-01-01", False),
        (None, False),
    ],
)
def test_date_time_stamps(value: object, ok: bool) -> None:
    assert (parse_time_or_none(value) is not None) is ok
    assert is_date_time_stamp(value) is ok
    if ok:
        assert parse_time(str(value)).tzinfo is UTC
    else:
        with pytest.raises(BadInput):
            parse_time(value)  # type: ignore[arg-type]


def test_registry_times() -> None:
    assert parse_registry_time("2021-02-03") == datetime(2021, 2, 3, tzinfo=UTC)
    assert parse_registry_time(" 2021-02-03 17:42 ") == datetime(2021, 2, 3, 17, 42, tzinfo=UTC)
    assert parse_registry_time("2021-02-03T17:42:00+0100") == datetime(
        2021, 2, 3, 16, 42, tzinfo=UTC
    )
    for bad in ("2021-02-30", "2021-02-03T24:00", "2021-02-03T10:00+01:60", "yesterday"):
        with pytest.raises(ValueError):
            parse_registry_time(bad)
