"""The admin API under ``/_emulator/``: accounts and keys, usage, faults, clock, reset."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from emulators.drive.errors import bad_request
from emulators.drive.web import backend, json_object, root

blueprint = Blueprint("drive_admin", __name__, url_prefix="/_emulator")


@blueprint.get("/health")
def health() -> Response:
    return jsonify({"status": "ok", "utc_day": backend().clock.utc_day()})


@blueprint.post("/accounts")
def accounts_create() -> Response:
    """Answer a service-account JSON key whose token_uri points at this emulator."""
    key = backend().accounts.create(json_object(), f"{root()}token")
    response = jsonify(key)
    response.status_code = 201
    return response


@blueprint.get("/accounts")
def accounts_list() -> Response:
    return jsonify({"accounts": backend().accounts.list_emails()})


@blueprint.get("/accounts/<email>")
def account_usage(email: str) -> Response:
    return jsonify(backend().accounts.usage(email))


@blueprint.patch("/accounts/<email>")
def account_update(email: str) -> Response:
    return jsonify(backend().accounts.update(email, json_object(optional=False)))


@blueprint.delete("/accounts/<email>")
def account_delete(email: str) -> Response:
    backend().accounts.delete(email)
    return Response(status=204)


@blueprint.put("/accounts/<email>/faults")
def faults_set(email: str) -> Response:
    backend().accounts.get(email)
    rules = json_object(optional=False).get("rules")
    if not isinstance(rules, list):
        raise bad_request("body must be {\"rules\": [...]}")
    return jsonify({"rules": backend().faults.set(email, rules)})


@blueprint.get("/accounts/<email>/faults")
def faults_get(email: str) -> Response:
    return jsonify({"rules": backend().faults.get(email)})


@blueprint.put("/clock")
def clock_set() -> Response:
    offset = json_object(optional=False).get("offset_seconds")
    if isinstance(offset, bool) or not isinstance(offset, int | float):
        raise bad_request("offset_seconds must be a number")
    backend().clock.offset_seconds = float(offset)
    return clock_get()


@blueprint.get("/clock")
def clock_get() -> Response:
    clock = backend().clock
    return jsonify({"offset_seconds": clock.offset_seconds, "now": clock.now(),
                    "utc_day": clock.utc_day()})


@blueprint.post("/reset")
def reset() -> Response:
    backend().reset()
    return jsonify({"reset": True})
