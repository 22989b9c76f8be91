"""Settings from environment variables and secrets from OpenFaaS secret files.

Nothing here is read at import time: every getter reads when called, so tests and the
local stack can point the code anywhere by setting the environment before the first call.
"""

from __future__ import annotations

import os
from pathlib import Path

from fileserver.errors import ConfigError

DEFAULT_SECRETS_DIR = "/var/openfaas/secrets"


def setting(name: str, default: str | None = None) -> str:
    """Return the environment variable ``name``; raise ConfigError if unset and no default."""
    value = os.environ.get(name, default)
    if value is None:
        raise ConfigError(f"setting {name} is not configured")
    return value


def int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"setting {name} must be an integer, got {raw!r}") from exc


def float_setting(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"setting {name} must be a number, got {raw!r}") from exc


def secrets_dir() -> Path:
    """Where OpenFaaS mounts secrets; ``SECRETS_DIR`` overrides it for the local stack."""
    return Path(os.environ.get("SECRETS_DIR", DEFAULT_SECRETS_DIR))


def secret(name: str) -> str:
    """Read secret ``name`` (e.g. ``admin-token``).

    Order: the environment variable ``FILESERVER_<NAME>`` (dashes become underscores, for
    operators who override one value), then the file ``SECRETS_DIR/name``.
    """
    env_name = "FILESERVER_" + name.upper().replace("-", "_")
    value = os.environ.get(env_name)
    if value:
        return value
    path = secrets_dir() / name
    try:
        return path.read_text().strip()
    except FileNotFoundError as exc:
        raise ConfigError(f"secret {name!r} not found (looked for ${env_name} and {path})") from exc


def optional_secret(name: str) -> str | None:
    """Secret ``name`` if it is configured, else None."""
    try:
        return secret(name)
    except ConfigError:
        return None


def url_setting(name: str, secret_name: str, default: str) -> str:
    """A server URL: env ``name`` if set, else secret ``secret_name`` (a URL holding a
    password, as deployed on faasd), else ``default`` (the local stack)."""
    return os.environ.get(name) or optional_secret(secret_name) or default


# Addresses of the other parts of the system, with the local stack's defaults.
def gateway_url() -> str:
    return setting("GATEWAY_URL", "http://127.0.0.1:8080").rstrip("/")


def nats_url() -> str:
    return setting("NATS_URL", "nats://127.0.0.1:14222")


def mongo_url() -> str:
    return url_setting("MONGO_URL", "mongo-url", "mongodb://127.0.0.1:27117")


def mongo_db_name() -> str:
    return setting("MONGO_DB", "fileserver")


def postgres_url() -> str:
    return url_setting("POSTGRES_URL", "postgres-url",
                       "postgresql+psycopg2://postgres@127.0.0.1:15432/fileserver")
