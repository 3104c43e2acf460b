"""Settings: the one place that reads ``ORGBOOK_*`` environment variables.

:func:`get_settings` reads the environment (and keyword overrides, e.g. from CLI flags) into a
frozen :class:`Settings`; nothing here runs at import time. Every variable is documented in
``docs/configuration.md``; an invalid value raises :class:`~orgbook.core.errors.ConfigurationError`
naming the variable, so a bad deployment fails at start-up rather than on the first request.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from orgbook.core.errors import ConfigurationError

IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV_PREFIX = "ORGBOOK_"
DEFAULT_DATA_DIR = "./orgbook-data"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
MIB = 1024 * 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the application needs to know about its deployment."""

    database_url: str
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    public_url: str = DEFAULT_PUBLIC_URL
    """Base URL clients reach this server at (status-list, DID and schema URLs are built on it)."""
    ledger_origin: str = ""
    """The C2SP checkpoint origin line; default derived from ``public_url``."""
    schema_base: str = ""
    """Where credential schemas are named and served; default ``<public_url>/schemas``."""
    max_body_bytes: int = MIB
    rate_limit_per_minute: int = 600
    """Public reads and searches, per client; 0 disables the limit."""
    verify_rate_limit_per_minute: int = 120
    issuer_rate_limit_per_minute: int = 1200
    rate_limit_max_clients: int = 100_000
    feed_max_wait_seconds: int = 30
    """Longest long-poll ``GET /api/v1/feed?wait=`` may ask for (0: no long-polling)."""
    feed_stream_max_seconds: int = 3600
    """Longest ``GET /api/v1/feed/stream?timeout=`` may ask for before the stream ends."""
    rate_limit_storage: str = ""
    """Where rate-limit counters live (a ``limits`` storage URI); empty: chosen by the server."""
    workers: int = 0
    """Server processes for ``orgbook serve``; 0: one per core."""
    threads: int = 0
    """Threads per process for routes that block (database reads), and as many for writes; 0:
    one on SQLite, four on a server database (``orgbook.http.routing.threads_for``)."""
    metrics_dir: str = ""
    """Where the workers of one server share their metrics (set by ``orgbook serve``)."""
    cors_origins: tuple[str, ...] = ("*",)
    """Origins allowed to call the public API from a browser."""
    issuer_cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the issuer API from a browser (none by default; never ``*``)."""
    trusted_proxies: tuple[IPNetwork, ...] = ()
    log_json: bool = False
    log_level: str = "INFO"
    access_log: bool = False

    def __post_init__(self) -> None:
        if not self.ledger_origin:
            object.__setattr__(self, "ledger_origin", default_ledger_origin(self.public_url))
        if not self.schema_base:  # schema URLs resolve at the registry itself
            object.__setattr__(self, "schema_base", self.public_url.rstrip("/") + "/schemas")


def default_ledger_origin(public_url: str) -> str:
    """``host[:port][/path]/ledger``: the schema-less origin line C2SP checkpoints expect."""
    parts = urlsplit(public_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/ledger"


def sqlite_url_in(data_dir: Path) -> str:
    """The default database: a SQLite file in the data directory (as :mod:`orgbook.storage.engine`
    does)."""
    return f"sqlite:///{(data_dir / 'orgbook.sqlite3').resolve()}"


# --- parsers: each takes the variable's name (for the message) and a raw value -----------------


def _fail(name: str, expected: str, value: object) -> ConfigurationError:
    return ConfigurationError(f"{name} must be {expected}, got {value!r}", field=name)


def _int(minimum: int) -> Callable[[str, object], int]:
    def parse(name: str, value: object) -> int:
        if isinstance(value, bool):
            raise _fail(name, f"an integer >= {minimum}", value)
        if isinstance(value, str):
            try:
                value = int(value.strip().replace("_", ""))
            except ValueError:
                raise _fail(name, f"an integer >= {minimum}", value) from None
        if not isinstance(value, int) or value < minimum:
            raise _fail(name, f"an integer >= {minimum}", value)
        return value

    return parse


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _fail(name, "a boolean (1/0, true/false, yes/no, on/off)", value)


def _http_url(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _fail(name, "an http(s) URL", value)
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise _fail(name, "an absolute http(s) URL without query or fragment", value)
    return text


def _database_url(name: str, value: object) -> str:
    from sqlalchemy.engine import make_url

    if not isinstance(value, str) or not value.strip():
        raise _fail(name, "a database URL", value)
    try:
        backend = make_url(value.strip()).get_backend_name()
    except Exception:
        raise _fail(name, "a database URL (sqlite:///… or postgresql://…)", value) from None
    if backend not in ("sqlite", "postgresql"):
        raise _fail(name, "a sqlite:// or postgresql:// URL", value)
    return value.strip()


def _path(name: str, value: object) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, str) and value.strip():
        return Path(value.strip())
    raise _fail(name, "a directory path", value)


def _line(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n"):
        raise _fail(name, "a non-empty single line", value)
    return value.strip()


def _items(value: object) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, Iterable):
        return [str(item).strip() for item in value if str(item).strip()]
    return [repr(value)]


def _origins(allow_any: bool) -> Callable[[str, object], tuple[str, ...]]:
    def parse(name: str, value: object) -> tuple[str, ...]:
        origins = _items(value)
        for origin in origins:
            if origin == "*":
                if not allow_any:
                    raise _fail(name, "a list of explicit origins ('*' is not allowed)", value)
                continue
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise _fail(
                    name, "a comma-separated list of origins like https://host[:port]", value
                )
        return tuple(origins)

    return parse


def _networks(name: str, value: object) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for item in _items(value):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise _fail(
                name, "a comma-separated list of IP addresses or CIDR networks", item
            ) from None
    return tuple(networks)


def _log_level(name: str, value: object) -> str:
    if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
        return value.strip().upper()
    raise _fail(name, "one of " + ", ".join(LOG_LEVELS), value)


PARSERS: dict[str, Callable[[str, object], Any]] = {
    "database_url": _database_url,
    "data_dir": _path,
    "public_url": _http_url,
    "ledger_origin": _line,
    "schema_base": _http_url,
    "max_body_bytes": _int(1),
    "rate_limit_per_minute": _int(0),
    "verify_rate_limit_per_minute": _int(0),
    "issuer_rate_limit_per_minute": _int(0),
    "rate_limit_max_clients": _int(1),
    "feed_max_wait_seconds": _int(0),
    "feed_stream_max_seconds": _int(1),
    "rate_limit_storage": _line,
    "workers": _int(0),
    "threads": _int(0),
    "metrics_dir": _line,
    "cors_origins": _origins(allow_any=True),
    "issuer_cors_origins": _origins(allow_any=False),
    "trusted_proxies": _networks,
    "log_json": _bool,
    "log_level": _log_level,
    "access_log": _bool,
}
"""Every setting read from the environment, by field name; the variable is ``ORGBOOK_<NAME>``."""


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def get_settings(*, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``ORGBOOK_*`` variables in ``environ`` (default ``os.environ``).

    ``overrides`` are field names (``database_url=``, ``data_dir=``…), e.g. from CLI flags; they
    win over the environment. A value of ``None`` in ``overrides`` means "not given".
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, parse in PARSERS.items():
        var = env_name(name)
        if var in env and (env[var] != "" or name.endswith(("origins", "proxies"))):
            values[name] = parse(var, env[var])
    known = {f.name for f in dataclasses.fields(Settings)}
    for name, value in overrides.items():
        if name not in known:
            raise ConfigurationError(f"unknown setting {name!r}", field=name)
        if value is None:
            continue
        values[name] = PARSERS[name](name, value) if name in PARSERS else value
    values.setdefault("data_dir", Path(DEFAULT_DATA_DIR))
    if "database_url" not in values:
        values["database_url"] = sqlite_url_in(values["data_dir"])
    return Settings(**values)


__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_PUBLIC_URL",
    "PARSERS",
    "ConfigurationError",
    "Settings",
    "default_ledger_origin",
    "env_name",
    "get_settings",
    "sqlite_url_in",
]
