"""``UtcDateTime``: how every date-time in an HTTP response is written, RFC 3339 UTC with ``Z``.

Databases hand datetimes back in their own ways (SQLite without a zone, PostgreSQL with the
session's); pydantic would write a naive one without any offset (``2026-12-04T14:42:32.603553``),
which no RFC 3339 parser accepts. Response models declare ``UtcDateTime`` instead of
``datetime``: a naive value is read as UTC (orgbook stores UTC only), an aware one is converted,
and the JSON is ``2026-12-04T14:42:32.603553Z``. The OpenAPI schema stays
``{"type": "string", "format": "date-time"}``. Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, WithJsonSchema

from orgbook.core.time import as_utc, format_time

__all__ = ["UtcDateTime", "format_utc"]


def format_utc(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` (microseconds when there are any); naive is UTC."""
    return format_time(as_utc(value), "iso")


UtcDateTime = Annotated[
    datetime,
    AfterValidator(as_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A date-time written as RFC 3339 UTC (``…Z``) in JSON responses."""
