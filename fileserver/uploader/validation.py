"""Validation of everything the Uploader accepts from a client; raises BadRequest."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fileserver.errors import BadRequest

KEY_FIELDS = ("type", "client_email", "private_key", "token_uri")
MAX_NAME_LENGTH = 255
MAX_ACCOUNT_NAME = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DAILY_LIMIT = 10**15


def service_account_key(value: Any) -> dict[str, Any]:
    """A Google service-account key: an object with type, client_email, private_key, token_uri.

    Messages never quote the key's values: the key is a secret.
    """
    if not isinstance(value, dict):
        raise BadRequest("key must be a service-account JSON object")
    missing = [name for name in KEY_FIELDS if not isinstance(value.get(name), str)
               or not value[name].strip()]
    if missing:
        raise BadRequest("key is missing fields: " + ", ".join(missing),
                         details={"missing": missing})
    if value["type"] != "service_account":
        raise BadRequest('key type must be "service_account"')
    if not _EMAIL.match(value["client_email"]) or len(value["client_email"]) > 320:
        raise BadRequest("key client_email is not an e-mail address")
    if not _is_rsa_private_key(value["private_key"]):
        raise BadRequest("key private_key is not a PEM RSA private key")
    if not value["token_uri"].startswith(("https://", "http://")):
        raise BadRequest("key token_uri must be an http(s) URL")
    return value


def _is_rsa_private_key(pem: str) -> bool:
    """Google signs service-account JWTs with RS256: the key must parse as an RSA key."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return isinstance(key, rsa.RSAPrivateKey)


def account_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name must be a non-empty string")
    name = value.strip()
    if len(name) > MAX_ACCOUNT_NAME or _has_control(name):
        raise BadRequest(f"name must be at most {MAX_ACCOUNT_NAME} printable characters")
    return name


def daily_limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_DAILY_LIMIT:
        raise BadRequest("daily_limit_bytes must be a positive integer")
    return value


def account_state(value: Any) -> str:
    if value not in ("active", "disabled"):
        raise BadRequest('state must be "active" or "disabled" (DELETE removes an account)')
    return value


def only_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest("unknown fields: " + ", ".join(unknown), details={"unknown": unknown})


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


def filename(value: Any) -> str:
    """A safe display name: no directories, no control characters, 1..255 characters."""
    if not isinstance(value, str):
        raise BadRequest("a file name is required")
    base = re.split(r"[/\\]", value)[-1]
    cleaned = "".join(c for c in base if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    cleaned = cleaned[:MAX_NAME_LENGTH].strip()
    if not cleaned or cleaned in (".", ".."):
        raise BadRequest("the file name is empty or invalid once paths and control "
                         "characters are removed")
    return cleaned


def content_type(value: str | None) -> str:
    text = (value or "").split(";")[0].strip().lower()
    if not text or len(text) > 127 or not re.match(r"^[\w.+-]+/[\w.+-]+$", text):
        return "application/octet-stream"
    return text
