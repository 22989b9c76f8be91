"""An upload source for google-api-python-client that reads a stream forward only.

``MediaIoBaseUpload`` seeks the stream for every chunk. GridFS and HTTP bodies may not seek
(or seek slowly), so this keeps the current chunk in memory instead: a resend after a dropped
connection starts at the server's committed offset, which is never before the current chunk.
Memory stays at about one chunk whatever the file size.
"""

from __future__ import annotations

from typing import BinaryIO

from googleapiclient.http import MediaUpload


class ForwardStreamUpload(MediaUpload):
    def __init__(self, stream: BinaryIO, size: int, mime_type: str, chunk_size: int) -> None:
        self._stream = stream
        self._size = size
        self._mime_type = mime_type
        self._chunk_size = chunk_size
        self._buffer = b""
        self._buffer_start = 0  # stream offset of self._buffer[0]

    def chunksize(self) -> int:
        return self._chunk_size

    def mimetype(self) -> str:
        return self._mime_type

    def size(self) -> int:
        return self._size

    def resumable(self) -> bool:
        return True

    def has_stream(self) -> bool:
        return False

    def getbytes(self, begin: int, length: int) -> bytes:
        """Bytes ``begin .. begin+length`` (fewer at the end of the stream)."""
        if begin < self._buffer_start:
            raise ValueError(f"cannot rewind a forward-only stream to {begin} "
                             f"(holding {self._buffer_start}..)")
        self._buffer = self._buffer[begin - self._buffer_start:] if begin < self._buffer_end() \
            else self._skip_to(begin)
        self._buffer_start = begin
        while len(self._buffer) < length:
            block = self._stream.read(length - len(self._buffer))
            if not block:
                break
            self._buffer += block
        return self._buffer[:length]

    def _buffer_end(self) -> int:
        return self._buffer_start + len(self._buffer)

    def _skip_to(self, begin: int) -> bytes:
        """Read and drop the stream up to ``begin`` (only after the server skipped ahead)."""
        position = self._buffer_end()
        while position < begin:
            block = self._stream.read(min(1024 * 1024, begin - position))
            if not block:
                raise ValueError(f"stream ended at {position}, before {begin}")
            position += len(block)
        return b""

    def to_json(self) -> str:
        raise NotImplementedError("a forward-only stream upload cannot be serialised")
