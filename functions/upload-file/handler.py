"""upload-file (admin): stream a file into GridFS and start its replication; answers 202.

Body: multipart/form-data with a field ``file``, or the raw bytes with ``?name=`` or
``X-Filename``. The body is read block by block (never whole in memory). A declared size
(Content-Length) that does not fit on every active Drive account is refused with 507 before
any byte is stored.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import jsonify, request

from fileserver.errors import AppError, BadRequest, PayloadTooLarge
from fileserver.runtime import function_app, require_admin
from fileserver.runtime.startup import on_first_request
from fileserver.uploader import metrics, validation
from fileserver.uploader.bootstrap import ensure_indexes, services
from fileserver.uploader.http_errors import database_outage_as_503
from fileserver.uploader.streams import multipart_file, raw_blocks

app = database_outage_as_503(function_app("upload-file"))
on_first_request(app, ensure_indexes)


def _body() -> tuple[str | None, str | None, Iterator[bytes]]:
    """(file name, content type, blocks) from a multipart or a raw body."""
    if request.mimetype == "multipart/form-data":
        boundary = request.mimetype_params.get("boundary")
        if not boundary:
            raise BadRequest("multipart/form-data needs a boundary")
        part = multipart_file(request.stream, boundary)
        return part.filename, part.content_type, part.blocks
    name = request.args.get("name") or request.headers.get("X-Filename")
    return name, request.content_type, raw_blocks(request.stream, request.content_length)


@app.post("/")
@require_admin
def upload():
    uploads = services().uploads
    try:
        if (request.content_length or 0) > uploads.max_bytes:
            raise PayloadTooLarge(f"the upload exceeds MAX_UPLOAD_BYTES ({uploads.max_bytes})",
                                  details={"max_bytes": uploads.max_bytes})
        if request.content_length:  # a multipart body's length is a little over its file's
            uploads.check_room(request.content_length)
        name, content_type, blocks = _body()
        stored = uploads.upload(validation.filename(name), validation.content_type(content_type),
                                blocks)
    except AppError as exc:
        metrics.UPLOADS.labels(exc.code).inc()
        raise
    except Exception:
        metrics.UPLOADS.labels("error").inc()
        raise
    metrics.UPLOADS.labels("ok").inc()
    return jsonify(stored.to_json()), 202
