"""Log records for operators: one JSON object per line, or plain text, with the request id.

The request id lives in a context variable (:data:`request_id_var`) that the HTTP middleware sets
for each request; :class:`RequestIdFilter` copies it onto every record, so any module can log with
``logging.getLogger(__name__)`` and the line says which request it belongs to. Fields passed as
``extra={...}`` appear as top-level keys in JSON lines. :func:`configure_logging` is the only
function here that changes global state, and only when called.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from orgbook.config import Settings

request_id_var: ContextVar[str | None] = ContextVar("orgbook_request_id", default=None)
"""The id of the HTTP request being served in this context, if any."""

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "taskName"}
)
_HANDLER_MARK = "_orgbook_handler"


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` from :data:`request_id_var` (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, then extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """``time level logger [request id] message key=value…`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        rid = getattr(record, "request_id", None)
        if rid:
            head, sep, tail = line.partition(f" {record.name} ")
            line = f"{head}{sep}[{rid}] {tail}"
        fields = [
            f" {k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD_ATTRS and not k.startswith("_")
        ]
        return line + "".join(fields)


def make_handler(*, json_lines: bool, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else PlainFormatter())
    handler.addFilter(RequestIdFilter())
    setattr(handler, _HANDLER_MARK, True)
    return handler


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Install one handler on the root logger (replacing one installed before) and set levels.

    Uvicorn's own loggers propagate to it; its access log is silenced unless
    ``settings.access_log`` (orgbook's middleware writes a structured access line instead).
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = make_handler(json_lines=settings.log_json, stream=stream)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    # Alembic announces its dialect at INFO on every schema check (each start-up): noise, not
    # events. Its warnings still show; `orgbook db upgrade` reports what it changed itself.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    return handler


__all__ = [
    "JsonFormatter",
    "PlainFormatter",
    "RequestIdFilter",
    "configure_logging",
    "make_handler",
    "request_id_var",
]
