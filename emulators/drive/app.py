"""The emulator's WSGI app: Drive v3 routes, the token endpoint, /uc and the admin API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, Response, jsonify, request

from emulators.drive.backend import Backend
from emulators.drive.errors import DriveApiError
from emulators.drive.faults import DropConnection
from emulators.drive.uploads import Uploads

log = logging.getLogger("emulators.drive")


def create_app(data_dir: Path, fault_seed: int | None = None,
               scan_warning_bytes: int | None = None, usercontent_port: int | None = None,
               file_download_quota: int = 0) -> Flask:
    """``scan_warning_bytes`` None: Google's 100 MB; 0: never. ``usercontent_port``: the
    second listening port that serves ``/download`` (None: ``/uc`` serves the file itself)."""
    from emulators.drive import (
        routes_admin,
        routes_admin_accounts,
        routes_api,
        routes_download,
        routes_drives,
        routes_public,
        routes_upload,
    )

    app = Flask("drive-emulator")
    backend = Backend(data_dir, fault_seed)
    app.config["backend"] = backend
    app.config["uploads"] = Uploads(backend)
    for module in (routes_api, routes_drives, routes_upload, routes_public, routes_admin,
                   routes_admin_accounts):
        app.register_blueprint(module.blueprint)
    if scan_warning_bytes is None:
        scan_warning_bytes = routes_download.GOOGLE_SCAN_WARNING_BYTES
    routes_download.install(app, usercontent_port, scan_warning_bytes, file_download_quota)
    app.after_request(_log_request)
    app.register_error_handler(DriveApiError, _api_error)
    app.register_error_handler(DropConnection, _drop_connection)
    app.register_error_handler(404, lambda _e: _api_error(
        DriveApiError(404, "notFound", "No such route.")))
    app.register_error_handler(405, lambda _e: _api_error(
        DriveApiError(405, "methodNotAllowed", "Method not allowed on this route.")))
    return app


def _log_request(response: Response) -> Response:
    """One line per request: method, path (no query: upload ids are credentials), status."""
    log.info("%s %s %s", request.method, request.path, response.status_code)
    return response


def _api_error(error: DriveApiError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _drop_connection(_error: DropConnection) -> Response:
    """Promise a body, send a little of it, then fail: the server closes the socket and
    the client sees the connection drop mid-response."""

    def truncated() -> Iterator[bytes]:
        yield b"{"
        raise ConnectionAbortedError("injected connection drop")

    log.info("fault: dropping a connection")
    return Response(truncated(), status=500, headers={"Content-Length": "1024"},
                    mimetype="application/json")
