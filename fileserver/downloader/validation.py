"""Input checks shared by the Downloader's services; each raises BadRequest with a clear message."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from fileserver.contracts.stats_ingest import ID_RULE, MAX_INTEGER, is_id
from fileserver.contracts.timestamps import parse_utc
from fileserver.errors import BadRequest

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def ident(value: Any, field: str) -> str:
    if not is_id(value):
        raise BadRequest(f"{field} must be {ID_RULE}")
    return value


def integer(value: Any, field: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_INTEGER:
        raise BadRequest(f"{field} must be an integer >= {low}")
    return value


def sha256_hex(value: Any) -> str | None:
    """An optional sha-256 as 64 lowercase hex digits."""
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256.match(value):
        raise BadRequest("sha256 must be 64 lowercase hexadecimal digits")
    return value


def version_arg(raw: str | None) -> int:
    """``?version=N`` of a DELETE."""
    if raw is None or not raw.isdigit() or len(raw) > 18:
        raise BadRequest("query parameter 'version' must be a non-negative integer")
    return int(raw)


def text(value: Any, field: str, max_length: int = 1024, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise BadRequest(f"{field} must be a non-empty string of at most {max_length} characters")
    return value


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{field} must be true or false")
    return value


def http_url(value: Any, field: str) -> str:
    url = text(value, field, 2048)
    assert url is not None
    if not url.startswith(("http://", "https://")):
        raise BadRequest(f"{field} must be an http(s) URL")
    return url


def day(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{field} must be a date YYYY-MM-DD") from exc


def timestamp(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be an ISO-8601 timestamp")
    try:
        parsed = parse_utc(value)
    except ValueError as exc:
        raise BadRequest(f"{field} must be an ISO-8601 timestamp") from exc
    if parsed.tzinfo is None:
        raise BadRequest(f"{field} must carry a time zone (UTC)")
    return parsed
