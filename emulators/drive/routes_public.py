"""Unauthenticated routes: the OAuth2 token endpoint and the public ``/uc`` download link."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request

from emulators.drive.errors import DriveApiError, bad_request, not_found
from emulators.drive.routes_api import stream_file
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


@blueprint.get("/uc")
def public_download() -> Response:
    """``/uc?id=ID&export=download``: anyone-with-the-link files only."""
    file_id = request.args.get("id")
    if not file_id:
        raise bad_request("The id parameter is required.", "required")
    row = backend().readable(None, file_id)
    if row["trashed"]:
        raise not_found(file_id)
    backend().faults.check(row["owner"], "uc.download")
    threshold = current_app.config.get("scan_warning_bytes") or 0
    if threshold and row["size"] > threshold and not request.args.get("confirm"):
        return _scan_warning(row)
    return stream_file(row)


def _scan_warning(row: dict) -> Response:
    """Google's "can't scan this file for viruses" page for large files (opt-in): nothing
    is metered until the user follows the confirm link."""
    link = f"{request.host_url}uc?id={quote(row['id'])}&export=download&confirm=t"
    page = (f"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>"
            f"<body><p>Google Drive can't scan {escape(row['name'])} for viruses.</p>"
            f'<form id="download-form" action="{escape(link)}" method="get">'
            f'<a href="{escape(link)}">Download anyway</a></form></body></html>')
    return Response(page, status=200, mimetype="text/html")
