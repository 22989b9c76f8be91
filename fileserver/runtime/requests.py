"""Input parsing helpers that raise BadRequest with a clear message."""

from __future__ import annotations

from typing import Any

from flask import request

from fileserver.errors import BadRequest, UnsupportedMediaType

MAX_PAGE_SIZE = 500


def json_body() -> dict[str, Any]:
    """The request body as a JSON object, or 400/415."""
    if not request.is_json:
        raise UnsupportedMediaType("expected Content-Type: application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def query_str(name: str, *, required: bool = False, max_length: int = 200) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"query parameter {name!r} is required")
        return None
    if len(value) > max_length or any(ord(c) < 32 for c in value):
        raise BadRequest(f"query parameter {name!r} is invalid")
    return value


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"query parameter {name!r} must be an integer") from exc
    if not low <= value <= high:
        raise BadRequest(f"query parameter {name!r} must be between {low} and {high}")
    return value


def paging(default_limit: int = 50) -> tuple[int, int]:
    """``(limit, offset)`` from ``?limit=&offset=``, validated."""
    limit = _int_arg("limit", default_limit, 1, MAX_PAGE_SIZE)
    offset = _int_arg("offset", 0, 0, 10_000_000)
    return limit, offset
