"""Uploads: resumable sessions (chunks with Content-Range, 308 + Range, status queries),
and the simple ``media`` and ``multipart`` forms, all written to disk as they arrive."""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO

from emulators.drive.backend import Backend, checked_metadata, new_id
from emulators.drive.errors import DriveApiError, bad_request
from emulators.drive.faults import DropConnection
from emulators.drive.store import dumps

MULTIPART_LIMIT = 16 * 1024 * 1024
_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")


@dataclass
class ChunkResult:
    """Either the finished file row, or the number of bytes received so far."""

    received: int
    file: dict[str, Any] | None = None


Span = tuple[int | None, int | None, int | None]


def parse_content_range(header: str | None, length: int) -> Span:
    """Answer (start, end, total); start None for a status query, total None when unknown."""
    if header is None:
        return (0, length - 1, length) if length else (None, None, 0)
    match = _RANGE.fullmatch(header.strip())
    if not match:
        raise bad_request(f"Invalid Content-Range: {header}")
    start, end, total = match.groups()
    total_size = None if total == "*" else int(total)
    if start is None:
        return None, None, total_size
    if int(end) < int(start) or int(end) - int(start) + 1 != length:
        raise bad_request("Content-Range does not match Content-Length.")
    return int(start), int(end), total_size


class Uploads:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.blobs = backend.blobs
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def start(self, me: str, meta: Any, size: int | None, mime_type: str | None,
              fields: str | None, all_drives: bool = False) -> str:
        """Open a session: the target (My Drive or a shared drive) must have room and the
        caller's daily upload cap must not be reached yet."""
        checked_metadata(meta)
        drive_id = self.backend.target_drive(me, meta, all_drives)
        self.backend.check_room(me, drive_id, size or 0)
        self.backend.check_upload_cap(me)
        upload_id = secrets.token_urlsafe(24)
        mime = meta.get("mimeType") or mime_type or "application/octet-stream"
        self.backend.store.execute(
            "INSERT INTO uploads(id, owner, metadata, fields, total_size, mime_type, drive_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (upload_id, me, dumps(meta), fields, size, mime, drive_id))
        self.blobs.partial_path(upload_id).touch()
        return upload_id

    def session(self, upload_id: str) -> dict[str, Any]:
        row = self.backend.store.row("SELECT * FROM uploads WHERE id=?", (upload_id,))
        if row is None:
            raise DriveApiError(404, "notFound", "Upload session not found or already finished.")
        return row

    def chunk(self, upload_id: str, content_range: str | None, stream: BinaryIO,
              length: int) -> ChunkResult:
        """Append one chunk (or answer a status query); one request per session at a time,
        so a resend racing a still-running write waits for it."""
        with self._lock_for(upload_id):
            session = self.session(upload_id)
            if session["file_id"]:  # finished: a status query (or a resend) gets the file
                row = self.backend.readable(session["owner"], session["file_id"], True)
                return ChunkResult(row["size"], row)
            start, end, total = parse_content_range(content_range, length)
            total = total if total is not None else session["total_size"]
            received = self.blobs.partial_size(upload_id)
            if start is not None and end is not None:
                _check_span(start, end, received, total)
                received = self._append(session, stream, length, skip=received - start)
            if total is not None and received == total:
                with self._guard:
                    self._locks.pop(upload_id, None)
                return ChunkResult(received, self.finish(session))
            return ChunkResult(received)

    def _lock_for(self, upload_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(upload_id, threading.Lock())

    def _append(self, session: dict[str, Any], stream: BinaryIO, length: int, skip: int) -> int:
        """Append the chunk (dropping any part already received); a 'drop' fault stores
        half of it and then closes the connection."""
        if skip:
            stream.read(skip)
        try:
            self.backend.faults.check(session["owner"], "files.upload")
        except DropConnection:
            self.blobs.append(session["id"], stream, length - skip, stop_after=(length - skip) // 2)
            raise
        self.blobs.append(session["id"], stream, length - skip)
        return self.blobs.partial_size(session["id"])

    def finish(self, session: dict[str, Any]) -> dict[str, Any]:
        """Store the file; the session stays, answering status queries with the file."""
        size = self.blobs.partial_size(session["id"])
        self.backend.check_room(session["owner"], session["drive_id"], size)
        meta = json.loads(session["metadata"])
        meta.setdefault("mimeType", session["mime_type"])
        file_id = new_id()
        md5 = self.blobs.finish(session["id"], file_id)  # the body is in place first
        row = self.backend.insert(session["owner"], meta, size, md5, file_id, session["drive_id"])
        self.backend.store.transaction([
            ("UPDATE accounts SET uploaded_bytes = uploaded_bytes + ? WHERE email=?",
             (size, session["owner"])),
            ("UPDATE uploads SET file_id=? WHERE id=?", (file_id, session["id"])),
        ])
        self.backend.charge_upload(session["owner"], size)
        return row

    def simple(self, me: str, meta: dict[str, Any], stream: BinaryIO, length: int,
               mime_type: str | None, all_drives: bool = False) -> dict[str, Any]:
        upload_id = self.start(me, meta, length, mime_type, None, all_drives)
        self.blobs.append(upload_id, stream, length)
        if self.blobs.partial_size(upload_id) != length:
            self.blobs.discard_partial(upload_id)
            raise bad_request("The body ended before Content-Length bytes.")
        return self.finish(self.session(upload_id))


def _check_span(start: int, end: int, received: int, total: int | None) -> None:
    if start > received:
        raise bad_request(f"Chunk starts at {start} but only {received} bytes were received.")
    if total is not None and end >= total:
        raise bad_request("The chunk ends beyond the declared size.")


def split_multipart(body: bytes, content_type: str) -> tuple[dict[str, Any], str, bytes]:
    """A multipart/related body: (metadata JSON, media content type, media bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise bad_request("multipart upload without a boundary")
    parts = body.split(b"--" + match.group(1).encode())[1:-1]
    if len(parts) != 2:
        raise bad_request("multipart upload needs exactly a metadata part and a media part")
    (meta_head, meta_body), (media_head, media_body) = (_split_part(p) for p in parts)
    try:
        meta = json.loads(meta_body or b"{}")
    except ValueError as exc:
        raise bad_request("The metadata part is not valid JSON.") from exc
    mime = re.search(rb"(?im)^content-type:\s*([^\r\n;]+)", media_head)
    return meta, (mime.group(1).decode() if mime else "application/octet-stream"), media_body


def _split_part(part: bytes) -> tuple[bytes, bytes]:
    part = part[2:] if part.startswith(b"\r\n") else part.lstrip(b"\n")
    head, _sep, rest = part.partition(b"\r\n\r\n")
    if not _sep:
        head, _sep, rest = part.partition(b"\n\n")
    return head, rest[:-2] if rest.endswith(b"\r\n") else rest.rstrip(b"\n")
