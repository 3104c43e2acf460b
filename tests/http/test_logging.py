"""Structured logs: one JSON object per line with the request id and extra fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from orgbook.runtime.logging import configure_logging, request_id_var
from tests.http import TestClient, make_app, make_settings


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False


def test_json_lines(tmp_path: Path, restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(tmp_path, log_json=True), stream=stream)
    token = request_id_var.set("rid-1")
    try:
        logging.getLogger("orgbook.test").info("issued %d", 3, extra={"issuer": "did:web:x"})
    finally:
        request_id_var.reset(token)
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("orgbook.test").exception("failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "issued 3"
    assert first["level"] == "INFO"
    assert first["logger"] == "orgbook.test"
    assert first["request_id"] == "rid-1"
    assert first["issuer"] == "did:web:x"
    assert first["time"].endswith("Z")
    assert second["request_id"] is None
    assert "ValueError: bad" in second["exception"]


def test_plain_lines(tmp_path: Path, restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(tmp_path), stream=stream)
    token = request_id_var.set("rid-2")
    try:
        logging.getLogger("orgbook.test").warning("hello", extra={"n": 1})
    finally:
        request_id_var.reset(token)
    line = stream.getvalue().strip()
    assert "WARNING" in line
    assert "orgbook.test [rid-2] hello n=1" in line


def test_configure_twice_keeps_one_handler(tmp_path: Path, restore_root: None) -> None:
    # Another test in this worker (an app's start-up) may have installed orgbook's handler
    # already: compare the foreign handlers, and count orgbook's own.
    def split() -> tuple[list[logging.Handler], list[logging.Handler]]:
        handlers = logging.getLogger().handlers
        ours = [h for h in handlers if getattr(h, "_orgbook_handler", False)]
        return [h for h in handlers if h not in ours], ours

    foreign, _ = split()
    configure_logging(make_settings(tmp_path))
    configure_logging(make_settings(tmp_path, log_json=True))
    after_foreign, ours = split()
    assert after_foreign == foreign
    assert len(ours) == 1


def test_access_log_is_off_by_default_and_structured_when_on(
    tmp_path: Path, restore_root: None
) -> None:
    stream = io.StringIO()
    configure_logging(make_settings(tmp_path, log_json=True), stream=stream)
    TestClient(make_app(tmp_path)).get("/healthz")
    assert "orgbook.access" not in stream.getvalue()
    client = TestClient(make_app(tmp_path, access_log=True))
    response = client.get("/healthz", headers={"X-Request-ID": "acc-1"})
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    access = [x for x in lines if x["logger"] == "orgbook.access"]
    assert len(access) == 1
    assert access[0]["status"] == 200
    assert access[0]["path"] == "/healthz"
    assert access[0]["request_id"] == response.headers["x-request-id"] == "acc-1"
    assert access[0]["duration_ms"] >= 0


def test_alembic_chatter_is_quiet_its_warnings_are_not(tmp_path: Path, restore_root: None) -> None:
    """Every start-up checks the schema; Alembic's INFO lines about its dialect are not events."""
    alembic = logging.getLogger("alembic.runtime.migration")
    level = logging.getLogger("alembic").level
    stream = io.StringIO()
    try:
        configure_logging(make_settings(tmp_path), stream=stream)
        alembic.info("Context impl SQLiteImpl.")
        alembic.warning("revision 0004 is missing")
    finally:
        logging.getLogger("alembic").setLevel(level)
    text = stream.getvalue()
    assert "Context impl" not in text
    assert "revision 0004 is missing" in text
