"""Upload routes: ``uploadType=media|multipart|resumable`` and resumable chunk PUTs."""

from __future__ import annotations

import io

from flask import Blueprint, Response, jsonify, request

from emulators.drive.errors import DriveApiError, bad_request
from emulators.drive.params import all_drives
from emulators.drive.resources import DEFAULT_FILE_FIELDS, file_resource, shaped
from emulators.drive.uploads import MULTIPART_LIMIT, split_multipart
from emulators.drive.web import caller, json_object, root, uploads

blueprint = Blueprint("drive_upload", __name__)
PATHS = ("/upload/drive/v3/files", "/resumable/upload/drive/v3/files")


def _file_json(row: dict, me: str, fields: str | None) -> Response:
    return jsonify(shaped(file_resource(row, root(), me), fields, DEFAULT_FILE_FIELDS))


def _declared_size() -> int | None:
    raw = request.headers.get("X-Upload-Content-Length")
    if raw is None:
        return None
    if not raw.isdigit():
        raise bad_request("X-Upload-Content-Length must be a non-negative integer.")
    return int(raw)


def _body_length() -> int:
    if request.content_length is None:
        raise DriveApiError(411, "lengthRequired", "Content-Length is required.")
    return request.content_length


def upload_start() -> Response:
    kind = request.args.get("uploadType")
    me = caller("files.create")
    shaped({}, request.args.get("fields"), DEFAULT_FILE_FIELDS)  # 400 now for a bad mask
    if kind == "resumable":
        upload_id = uploads().start(me, json_object(), _declared_size(),
                                    request.headers.get("X-Upload-Content-Type"),
                                    request.args.get("fields"), all_drives())
        location = f"{root()}upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
        return Response(status=200, headers={"Location": location, "Content-Length": "0"})
    if kind == "multipart":
        return _multipart(me)
    if kind == "media":
        row = uploads().simple(me, {}, request.stream, _body_length(), request.mimetype,
                               all_drives())
        return _file_json(row, me, request.args.get("fields"))
    raise bad_request("uploadType must be media, multipart or resumable.", "invalid")


def _multipart(me: str) -> Response:
    length = _body_length()
    if length > MULTIPART_LIMIT:
        raise DriveApiError(413, "uploadTooLarge", "Use a resumable upload for large files.")
    meta, mime, data = split_multipart(request.stream.read(length), request.content_type or "")
    row = uploads().simple(me, meta, io.BytesIO(data), len(data), mime, all_drives())
    return _file_json(row, me, request.args.get("fields"))


def upload_chunk() -> Response:
    """A chunk (``Content-Range: bytes a-b/N``) or a status query (``bytes */N``)."""
    upload_id = request.args.get("upload_id")
    if not upload_id:
        raise bad_request("upload_id is required.")
    session = uploads().session(upload_id)
    result = uploads().chunk(upload_id, request.headers.get("Content-Range"), request.stream,
                             request.content_length or 0)
    if result.file is not None:
        return _file_json(result.file, session["owner"], session["fields"])
    headers = {"Content-Length": "0"}
    if result.received:
        headers["Range"] = f"bytes=0-{result.received - 1}"
    return Response(status=308, headers=headers)


for _path in PATHS:
    blueprint.add_url_rule(_path, f"start{_path}", upload_start, methods=["POST"])
    blueprint.add_url_rule(_path, f"chunk{_path}", upload_chunk, methods=["PUT"])
