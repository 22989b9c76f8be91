"""Public download links, as Google serves them today (sources in docs/drive.md).

- ``/uc?id=ID&export=download`` on the "drive" host answers 303 to the usercontent host,
  ``/download?id=ID&export=download`` (its query kept), like drive.google.com redirects to
  drive.usercontent.google.com. Without a usercontent port (an app built in-process), ``/uc``
  serves what ``/download`` would.
- ``/download`` on the usercontent host (a second listening port of the emulator process):
  files above the scan-warning size (Google's 100 MB by default) answer the HTML virus-scan
  warning page until ``confirm`` is given; a file over its per-file download limit, or whose
  owner spent the day's download quota, answers Google's HTML "Too many users" page with 403;
  otherwise the bytes, ``Range`` answered 206 with ``Content-Range``. HEAD is not metered.
- On the usercontent port nothing else is served.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, request

from emulators.drive import pages
from emulators.drive.download_quota import FileDownloadQuota
from emulators.drive.errors import DriveApiError, bad_request, not_found
from emulators.drive.routes_api import stream_file
from emulators.drive.web import backend, json_object

GOOGLE_SCAN_WARNING_BYTES = 100 * 1000 * 1000  # "larger than 100 MB" (docs/drive.md)
blueprint = Blueprint("drive_download", __name__)


def install(app: Flask, usercontent_port: int | None, scan_warning_bytes: int,
            file_download_quota: int) -> None:
    """Add the download routes, the usercontent port's guard and the per-file quota."""
    app.config["usercontent_port"] = usercontent_port
    app.config["scan_warning_bytes"] = scan_warning_bytes
    app.config["file_quota"] = FileDownloadQuota(app.config["backend"].clock,
                                                 file_download_quota)
    app.register_blueprint(blueprint)
    app.before_request(_usercontent_serves_downloads_only)
    app.after_request(_reset_clears_quota)


def file_quota() -> FileDownloadQuota:
    return current_app.config["file_quota"]


def _on_usercontent_port() -> bool:
    port = current_app.config.get("usercontent_port")
    return port is not None and request.environ.get("SERVER_PORT") == str(port)


def _usercontent_serves_downloads_only() -> None:
    if _on_usercontent_port() and request.path != "/download":
        raise DriveApiError(404, "notFound", "No such route on the usercontent host.")


def _reset_clears_quota(response: Response) -> Response:
    if request.path == "/_emulator/reset" and request.method == "POST" and response.status_code \
            == 200:
        file_quota().clear()
    return response


@blueprint.route("/uc", methods=["GET", "HEAD"])
def uc() -> Response:
    """The documented public link: a redirect to the usercontent host, as Google answers."""
    if not request.args.get("id"):
        raise bad_request("The id parameter is required.", "required")
    port = current_app.config.get("usercontent_port")
    if port is None:
        return download()
    host = request.host.rsplit(":", 1)[0]
    query = request.query_string.decode("latin-1")
    return redirect(f"{request.scheme}://{host}:{port}/download?{query}", code=303)


@blueprint.route("/download", methods=["GET", "HEAD"])
def download() -> Response:
    file_id = request.args.get("id")
    if not file_id:
        raise bad_request("The id parameter is required.", "required")
    row = backend().readable(None, file_id)
    if row["trashed"]:
        raise not_found(file_id)
    backend().faults.check(row["owner"], "uc.download")
    if file_quota().blocked(row["id"]):
        return _page(pages.quota_exceeded(), 403)
    threshold = current_app.config["scan_warning_bytes"]
    if threshold and row["size"] > threshold and not request.args.get("confirm"):
        action = f"{request.host_url}download" if _on_usercontent_port() else \
            f"{request.host_url}uc"
        return _page(pages.scan_warning(row["id"], row["name"], row["size"], action), 200)
    try:
        response = stream_file(row)
    except DriveApiError as error:
        if error.reason != "downloadQuotaExceeded":
            raise
        return _page(pages.quota_exceeded(), 403)
    if request.method == "GET" and _starts_a_download(request.headers.get("Range")):
        file_quota().count(row["id"])
    return response


def _starts_a_download(range_header: str | None) -> bool:
    """A request from byte 0: a resume (``Range: bytes=N-``, N > 0) is the same download."""
    return not range_header or range_header.replace(" ", "").startswith("bytes=0-")


def _page(html: str, status: int) -> Response:
    return Response(html, status=status, mimetype="text/html",
                    headers={"Cache-Control": "no-cache, no-store, max-age=0"})


# --- admin: Google's per-file download limit on one file (one account's copy) -------------
@blueprint.get("/_emulator/files/<file_id>/download-quota")
def quota_get(file_id: str) -> Response:
    return jsonify(file_quota().state(file_id))


@blueprint.put("/_emulator/files/<file_id>/download-quota")
def quota_block(file_id: str) -> Response:
    """``{"blocked": true, "hours": 24}`` blocks the file's public link (quota page, 403);
    ``{"blocked": false}`` lifts it."""
    if backend().store.row("SELECT id FROM files WHERE id=?", (file_id,)) is None:
        raise not_found(file_id)
    body = json_object(optional=False)
    blocked, hours = body.get("blocked"), body.get("hours")
    if not isinstance(blocked, bool):
        raise bad_request("'blocked' must be true or false")
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int | float)
                              or not 0 < hours <= 24 * 30):
        raise bad_request("'hours' must be a number in (0, 720]")
    if blocked:
        file_quota().block(file_id, hours)
    else:
        file_quota().unblock(file_id)
    return jsonify(file_quota().state(file_id))
