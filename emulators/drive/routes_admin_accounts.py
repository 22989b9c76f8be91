"""Admin API (``/_emulator/``) for what Google's admins and Google itself do to accounts:
revoke refresh tokens, fill storage behind fileserver's back, suspend an account, grant
domain-wide delegation, create shared drives with members, delete a file behind
fileserver's back. Local only, no auth (like the rest of ``/_emulator/``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from emulators.drive.errors import bad_request
from emulators.drive.tokens import DRIVE_SCOPE
from emulators.drive.web import backend, json_object

blueprint = Blueprint("drive_admin_accounts", __name__, url_prefix="/_emulator")


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be a boolean")
    return value


@blueprint.post("/accounts/<email>/revoke")
def account_revoke(email: str) -> Response:
    """Revoke the account's refresh tokens (the next refresh gets ``invalid_grant``)."""
    backend().accounts.get(email)
    return jsonify({"revoked": backend().accounts.tokens.revoke(email)})


@blueprint.post("/accounts/<email>/fill")
def account_fill(email: str) -> Response:
    """``{"bytes": N}`` more storage used outside Drive, or ``{}``: exactly full."""
    return jsonify(backend().accounts.fill(email, json_object().get("bytes")))


@blueprint.put("/accounts/<email>/suspension")
def account_suspend(email: str) -> Response:
    """``{"suspended": true, "keep_public_links": false}``."""
    body = json_object()
    return jsonify(backend().accounts.suspend(email, _bool(body, "suspended", True),
                                              _bool(body, "keep_public_links", False)))


@blueprint.post("/delegations")
def delegation_grant() -> Response:
    """``{"client_id": ID | "service_account": EMAIL, "scopes": [...]}`` (default: drive)."""
    body = json_object(optional=False)
    client_id = body.get("client_id")
    if client_id is None and isinstance(body.get("service_account"), str):
        client_id = backend().accounts.get(body["service_account"])["client_id"]
    scopes = body.get("scopes", [DRIVE_SCOPE])
    if not isinstance(client_id, str) or not client_id:
        raise bad_request("client_id (or service_account) is required")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise bad_request("scopes must be a list of strings")
    backend().accounts.tokens.grant_delegation(client_id, scopes)
    response = jsonify({"client_id": client_id, "scopes": sorted(set(scopes))})
    response.status_code = 201
    return response


@blueprint.delete("/delegations/<client_id>")
def delegation_revoke(client_id: str) -> Response:
    if not backend().accounts.tokens.revoke_delegation(client_id):
        raise bad_request(f"no delegation for client {client_id}")
    return Response(status=204)


@blueprint.post("/drives")
def drive_create() -> Response:
    """``{"name": ..., "members": {"email": "organizer|fileOrganizer|writer|..."},
    "item_limit": 400000}``."""
    response = jsonify(backend().drives.admin_create(json_object()))
    response.status_code = 201
    return response


@blueprint.get("/drives/<drive_id>")
def drive_describe(drive_id: str) -> Response:
    return jsonify(backend().drives.describe(drive_id))


@blueprint.put("/drives/<drive_id>/members/<email>")
def drive_member(drive_id: str, email: str) -> Response:
    backend().drives.row(drive_id)
    backend().drives.set_member(drive_id, email, json_object(optional=False).get("role"))
    return jsonify(backend().drives.describe(drive_id))


@blueprint.delete("/files/<file_id>")
def file_delete(file_id: str) -> Response:
    """Delete a file whoever owns it, as if removed outside fileserver."""
    backend().remove(file_id)
    return Response(status=204)
