"""Unauthenticated routes: the OAuth2 token endpoint (public download links: routes_download)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emulators.drive.auth import JWT_BEARER
from emulators.drive.errors import DriveApiError
from emulators.drive.web import backend

blueprint = Blueprint("drive_public", __name__)


@blueprint.post("/token")
def token() -> Response:
    """JWT-bearer grant; errors in OAuth2's shape (``error``, ``error_description``)."""
    try:
        if request.form.get("grant_type") != JWT_BEARER:
            raise DriveApiError(400, "unsupported_grant_type", "Only the JWT-bearer grant.")
        return jsonify(backend().accounts.issue_token(request.form.get("assertion", "")))
    except DriveApiError as error:
        response = jsonify({"error": error.reason, "error_description": error.message})
        response.status_code = error.status
        return response
