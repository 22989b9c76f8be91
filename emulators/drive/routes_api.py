"""Drive v3 metadata routes: about, files, copy, permissions, alt=media."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from emulators.drive.backend import MAX_PAGE, ListCorpus
from emulators.drive.params import all_drives, include_all_drives
from emulators.drive.resources import (
    DEFAULT_FILE_FIELDS,
    DEFAULT_LIST_FIELDS,
    byte_range,
    file_resource,
    shaped,
)
from emulators.drive.web import backend, caller, int_arg, json_object, root

blueprint = Blueprint("drive_api", __name__, url_prefix="/drive/v3")


def _file_response(row: dict, me: str, status: int = 200) -> Response:
    resource = file_resource(row, root(), me)
    response = jsonify(shaped(resource, request.args.get("fields"), DEFAULT_FILE_FIELDS))
    response.status_code = status
    return response


@blueprint.get("/about")
def about_get() -> Response:
    me = caller("about.get")
    return jsonify(shaped(backend().about(me), request.args.get("fields"),
                          "kind,user,storageQuota", "About"))


@blueprint.post("/files")
def files_create() -> Response:
    me = caller("files.create")
    return _file_response(backend().create_empty(me, json_object(), all_drives()), me)


@blueprint.get("/files")
def files_list() -> Response:
    me = caller("files.list")
    page_size = int_arg("pageSize", 100, 1, MAX_PAGE)
    corpus = ListCorpus(request.args.get("corpora", "user"), request.args.get("driveId"),
                        all_drives() and include_all_drives())
    rows, token = backend().list(me, request.args.get("q"), page_size,
                                 request.args.get("pageToken"), corpus)
    body = {"kind": "drive#fileList", "incompleteSearch": False,
            "files": [file_resource(row, root(), me) for row in rows]}
    if token:
        body["nextPageToken"] = token
    return jsonify(shaped(body, request.args.get("fields"), DEFAULT_LIST_FIELDS, "FileList"))


@blueprint.get("/files/<file_id>")
def files_get(file_id: str) -> Response:
    if request.args.get("alt") == "media":
        return _media(caller("files.download"), file_id)
    me = caller("files.get")
    return _file_response(backend().readable(me, file_id, all_drives()), me)


def _media(me: str | None, file_id: str) -> Response:
    return stream_file(backend().readable(me, file_id, all_drives()))


def stream_file(row: dict) -> Response:
    """Stream a body (or the requested Range), metered against the owner's daily quota."""
    size = row["size"]
    wanted = byte_range(request.headers.get("Range"), size)
    start, end = wanted if wanted else (0, size - 1)
    if request.method != "HEAD":  # HEAD transfers nothing: not metered
        backend().charge_download(row, max(end - start + 1, 0))
    headers = {"Content-Length": str(max(end - start + 1, 0)), "Accept-Ranges": "bytes",
               "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row['name'])}"}
    if wanted:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    body = backend().blobs.read_range(row["id"], start, end) if size else iter([b""])
    return Response(body, status=206 if wanted else 200, headers=headers,
                    mimetype=row["mime_type"], direct_passthrough=True)


@blueprint.patch("/files/<file_id>")
def files_update(file_id: str) -> Response:
    me = caller("files.update")
    return _file_response(backend().update(me, file_id, json_object(), all_drives()), me)


@blueprint.delete("/files/<file_id>")
def files_delete(file_id: str) -> Response:
    me = caller("files.delete")
    backend().delete(me, file_id, all_drives())
    return Response(status=204)


@blueprint.post("/files/<file_id>/copy")
def files_copy(file_id: str) -> Response:
    me = caller("files.copy")
    return _file_response(backend().copy(me, file_id, json_object(), all_drives()), me)


@blueprint.post("/files/<file_id>/permissions")
def permissions_create(file_id: str) -> Response:
    me = caller("permissions.create")
    permission = backend().add_permission(me, file_id, json_object(optional=False),
                                          all_drives())
    return jsonify(shaped(permission, request.args.get("fields"), "kind,id,type,role",
                          "Permission"))


@blueprint.get("/files/<file_id>/permissions")
def permissions_list(file_id: str) -> Response:
    me = caller("permissions.list")
    body = {"kind": "drive#permissionList",
            "permissions": backend().permissions(me, file_id, all_drives())}
    return jsonify(shaped(body, request.args.get("fields"), "kind,permissions",
                          "PermissionList"))


@blueprint.delete("/files/<file_id>/permissions/<perm_id>")
def permissions_delete(file_id: str, perm_id: str) -> Response:
    me = caller("permissions.delete")
    backend().delete_permission(me, file_id, perm_id, all_drives())
    return Response(status=204)
