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
USER_KEY_FIELDS = ("type", "client_id", "client_secret", "refresh_token")
_DRIVE_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
MAX_NAME_LENGTH = 255
MAX_ACCOUNT_NAME = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DAILY_LIMIT = 10**15


def service_account_key(value: Any) -> dict[str, Any]:
    """A Google service-account key: an object with type, client_email, private_key, token_uri.

    Messages never quote the key's values: the key is a secret.
    """
    _require_fields(value, KEY_FIELDS)
    if value["type"] != "service_account":
        raise BadRequest('key type must be "service_account"')
    if not _EMAIL.match(value["client_email"]) or len(value["client_email"]) > 320:
        raise BadRequest("key client_email is not an e-mail address")
    if not _is_rsa_private_key(value["private_key"]):
        raise BadRequest("key private_key is not a PEM RSA private key")
    _http_url(value["token_uri"], "key token_uri")
    return value


def authorized_user_key(value: Any) -> dict[str, Any]:
    """An OAuth ``authorized_user`` key: client_id, client_secret, refresh_token (and an
    optional token_uri, Google's when absent), as ``gcloud auth application-default login``
    writes it. Messages never quote the values."""
    _require_fields(value, USER_KEY_FIELDS)
    if "token_uri" in value:
        if not isinstance(value["token_uri"], str):
            raise BadRequest("key token_uri must be an http(s) URL")
        _http_url(value["token_uri"], "key token_uri")
    return value


def credential(key: Any, shared_drive_id: Any = None, subject: Any = None) -> dict[str, Any]:
    """The key to store for an account of one of the three kinds (or a plain service
    account): an ``authorized_user`` key alone, or a ``service_account`` key with at most
    one of ``shared_drive_id`` (a shared drive it is a member of) and ``subject`` (the
    Workspace user it acts as by domain-wide delegation). Both go into the stored key."""
    if not isinstance(key, dict):
        raise BadRequest("key must be a JSON object (a service_account or authorized_user key)")
    kind = key.get("type")
    if kind == "authorized_user":
        if shared_drive_id is not None or subject is not None:
            raise BadRequest("shared_drive_id and subject go with a service_account key, "
                             "not an authorized_user one")
        return dict(authorized_user_key(key))
    if kind != "service_account":
        raise BadRequest('key type must be "service_account" or "authorized_user"',
                         details={"field": "key.type"})
    stored = {k: v for k, v in service_account_key(key).items()
              if k not in ("shared_drive_id", "subject")}
    if shared_drive_id is not None and subject is not None:
        raise BadRequest("send shared_drive_id or subject, not both")
    if shared_drive_id is not None:
        if not isinstance(shared_drive_id, str) or not _DRIVE_ID.match(shared_drive_id):
            raise BadRequest("shared_drive_id must be a shared drive id (letters, digits, - _)",
                             details={"field": "shared_drive_id"})
        stored["shared_drive_id"] = shared_drive_id
    if subject is not None:
        if not isinstance(subject, str) or not _EMAIL.match(subject) or len(subject) > 320:
            raise BadRequest("subject must be the e-mail address of the Workspace user to act as",
                             details={"field": "subject"})
        stored["subject"] = subject
    return stored


def _require_fields(value: Any, names: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise BadRequest("key must be a JSON object")
    missing = [name for name in names if not isinstance(value.get(name), str)
               or not value[name].strip()]
    if missing:
        kind = value.get("type") or "Drive"
        raise BadRequest(f"{kind} key is missing fields: " + ", ".join(missing),
                         details={"missing": missing})


def _http_url(value: str, name: str) -> None:
    if not value.startswith(("https://", "http://")):
        raise BadRequest(f"{name} must be an http(s) URL")


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
    """What an admin may set: ``active`` (also takes a ``full`` or ``paused`` account back at
    once) or ``disabled``; ``full`` and ``paused`` are set by the replicator."""
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
