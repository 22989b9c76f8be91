"""Request helpers shared by the route modules."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from emulators.drive.backend import Backend
from emulators.drive.errors import bad_request
from emulators.drive.uploads import Uploads


def backend() -> Backend:
    return current_app.config["backend"]


def uploads() -> Uploads:
    return current_app.config["uploads"]


def root() -> str:
    return request.host_url


def caller(method: str) -> str:
    """Authenticate the bearer token, then apply any fault injected for this method."""
    me = backend().accounts.email_for_token(request.headers.get("Authorization"))
    backend().faults.check(me, method)
    return me


def json_object(optional: bool = True) -> dict[str, Any]:
    if not request.content_length and optional:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", "parseError")
    return body


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise bad_request(f"Invalid value for {name}: {raw} (expected {low}..{high}).", "invalid")
    return int(raw)
