"""Settings from ORGBOOK_* variables: defaults, overrides, errors naming the variable."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from orgbook.config import PARSERS, Settings, env_name, get_settings
from orgbook.core.errors import ConfigurationError

DOCS = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_defaults_without_environment() -> None:
    s = get_settings(environ={})
    assert s.data_dir == Path("./orgbook-data")
    assert s.database_url == f"sqlite:///{(Path('./orgbook-data') / 'orgbook.sqlite3').resolve()}"
    assert s.public_url == "http://127.0.0.1:8000"
    assert s.ledger_origin == "127.0.0.1:8000/ledger"
    assert s.schema_base == "http://127.0.0.1:8000/schemas"  # resolves at the registry
    assert s.max_body_bytes == 1024 * 1024
    assert (s.rate_limit_per_minute, s.verify_rate_limit_per_minute) == (600, 120)
    assert s.cors_origins == ("*",)
    assert s.issuer_cors_origins == ()
    assert s.trusted_proxies == ()
    assert s.log_json is False
    assert s.access_log is False


def test_values_from_environment(tmp_path: Path) -> None:
    env = {
        "ORGBOOK_DATA_DIR": str(tmp_path),
        "ORGBOOK_PUBLIC_URL": "https://orgbook.gov.example/",
        "ORGBOOK_SCHEMA_BASE": "https://schemas.example/orgbook",
        "ORGBOOK_MAX_BODY_BYTES": "2_000_000",
        "ORGBOOK_RATE_LIMIT_PER_MINUTE": "0",
        "ORGBOOK_VERIFY_RATE_LIMIT_PER_MINUTE": "30",
        "ORGBOOK_CORS_ORIGINS": "https://a.example, https://b.example:8443",
        "ORGBOOK_ISSUER_CORS_ORIGINS": "https://admin.example",
        "ORGBOOK_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1, ::1",
        "ORGBOOK_LOG_JSON": "true",
        "ORGBOOK_LOG_LEVEL": "debug",
        "ORGBOOK_ACCESS_LOG": "on",
    }
    s = get_settings(environ=env)
    assert s.data_dir == tmp_path
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'orgbook.sqlite3'}"
    assert s.public_url == "https://orgbook.gov.example"
    assert s.ledger_origin == "orgbook.gov.example/ledger"
    assert s.schema_base == "https://schemas.example/orgbook"
    assert s.max_body_bytes == 2_000_000
    assert s.rate_limit_per_minute == 0
    assert s.verify_rate_limit_per_minute == 30
    assert s.cors_origins == ("https://a.example", "https://b.example:8443")
    assert s.issuer_cors_origins == ("https://admin.example",)
    assert s.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )
    assert s.log_json
    assert s.access_log
    assert s.log_level == "DEBUG"


def test_database_url_and_ledger_origin_explicit() -> None:
    env = {
        "ORGBOOK_DATABASE_URL": "postgresql://orgbook@db/orgbook",
        "ORGBOOK_LEDGER_ORIGIN": "orgbook.example/ledger/v1",
    }
    s = get_settings(environ=env, data_dir="/elsewhere")
    assert s.database_url == "postgresql://orgbook@db/orgbook"  # the data dir does not move it
    assert s.ledger_origin == "orgbook.example/ledger/v1"


def test_overrides_win_and_none_means_not_given(tmp_path: Path) -> None:
    env = {"ORGBOOK_MAX_BODY_BYTES": "10", "ORGBOOK_DATA_DIR": "/from-env"}
    s = get_settings(environ=env, max_body_bytes="20", data_dir=tmp_path, database_url=None)
    assert s.max_body_bytes == 20
    assert s.database_url.endswith(f"{tmp_path.name}/orgbook.sqlite3")


def test_empty_list_variables_mean_none() -> None:
    s = get_settings(environ={"ORGBOOK_CORS_ORIGINS": "", "ORGBOOK_TRUSTED_PROXIES": ""})
    assert s.cors_origins == ()
    assert s.trusted_proxies == ()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ORGBOOK_DATABASE_URL", "mysql://x/y"),
        ("ORGBOOK_DATABASE_URL", "not a url at all"),
        ("ORGBOOK_PUBLIC_URL", "ftp://x.example"),
        ("ORGBOOK_PUBLIC_URL", "orgbook.example"),
        ("ORGBOOK_PUBLIC_URL", "https://x.example/?q=1"),
        ("ORGBOOK_SCHEMA_BASE", "schemas"),
        ("ORGBOOK_MAX_BODY_BYTES", "1MiB"),
        ("ORGBOOK_MAX_BODY_BYTES", "0"),
        ("ORGBOOK_RATE_LIMIT_PER_MINUTE", "-1"),
        ("ORGBOOK_VERIFY_RATE_LIMIT_PER_MINUTE", "lots"),
        ("ORGBOOK_CORS_ORIGINS", "https://a.example/path"),
        ("ORGBOOK_ISSUER_CORS_ORIGINS", "*"),
        ("ORGBOOK_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("ORGBOOK_LOG_JSON", "maybe"),
        ("ORGBOOK_ACCESS_LOG", "2"),
        ("ORGBOOK_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        get_settings(environ={variable: value})
    assert variable in str(info.value)
    assert info.value.field == variable


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="colour"):
        get_settings(environ={}, colour="blue")


def test_bad_override_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="max_body_bytes"):
        get_settings(environ={}, max_body_bytes=True)


def test_settings_are_frozen() -> None:
    s = get_settings(environ={})
    with pytest.raises(AttributeError):
        s.max_body_bytes = 1  # type: ignore[misc]
    assert isinstance(s, Settings)


def test_every_variable_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in PARSERS:
        assert f"`{env_name(name)}`" in text, f"{env_name(name)} is not in docs/configuration.md"
