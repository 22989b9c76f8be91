"""Unauthenticated routes: the OAuth2 token endpoint (public download links: routes_download)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emulators.drive.errors import DriveApiError
from emulators.drive.web import backend

blueprint = Blueprint("drive_public", __name__)


@blueprint.post("/token")
def token() -> Response:
    """JWT-bearer and refresh-token grants (emulators/drive/tokens.py); errors in OAuth2's
    shape (``error``, ``error_description``)."""
    try:
        return jsonify(backend().accounts.tokens.grant(request.form.to_dict()))
    except DriveApiError as error:
        response = jsonify({"error": error.reason, "error_description": error.message})
        response.status_code = error.status
        return response
