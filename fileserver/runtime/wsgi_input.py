"""``wsgi.input`` read straight from the socket: bounded by Content-Length, or chunked.

The function server (``fileserver.runtime.server``) hands the app one of these before a byte
of the body has been read, so a handler checks the admin token and the declared size from the
headers first and then reads the body as it arrives. Neither reader ever returns a byte past
the end the request declared (a longer body is cut), and both count what they read.
``Expect: 100-continue`` is answered only when the app first reads: a request refused from its
headers never makes the client send its body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from fileserver.errors import BadRequest

MAX_CHUNK_LINE = 4096


class BodyInput:
    """Base of both readers: ``read``/``readline``/iteration over ``_read(n)``."""

    def __init__(self, rfile: IO[bytes], on_first_read: Callable[[], None] | None) -> None:
        self.rfile = rfile
        self.bytes_read = 0
        self.done = False  # the whole declared body has been read
        self._on_first_read = on_first_read

    def _begin(self) -> None:
        if self._on_first_read is not None:
            callback, self._on_first_read = self._on_first_read, None
            callback()

    def _read(self, size: int) -> bytes:
        raise NotImplementedError

    def read(self, size: int | None = -1) -> bytes:
        if self.done:
            return b""
        self._begin()
        if size is None or size < 0:
            return b"".join(iter(lambda: self._read(1 << 20), b""))
        return self._read(size) if size else b""

    def readline(self, size: int | None = -1) -> bytes:
        """A line (up to ``size`` bytes), one byte at a time from the buffered socket file."""
        line = bytearray()
        limit = size if size is not None and size >= 0 else 1 << 16
        while len(line) < limit:
            byte = self.read(1)
            if not byte:
                break
            line += byte
            if byte == b"\n":
                break
        return bytes(line)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


class LengthInput(BodyInput):
    """A body of ``length`` bytes (Content-Length); a body that ends early is a 400."""

    def __init__(self, rfile: IO[bytes], length: int,
                 on_first_read: Callable[[], None] | None = None) -> None:
        super().__init__(rfile, on_first_read)
        self.remaining = length
        self.done = length == 0

    def _read(self, size: int) -> bytes:
        block = self.rfile.read(min(size, self.remaining)) if self.remaining else b""
        if not block and self.remaining:
            raise BadRequest(f"truncated body: {self.remaining} bytes missing")
        self.remaining -= len(block)
        self.bytes_read += len(block)
        self.done = self.remaining == 0
        return block


class ChunkedInput(BodyInput):
    """A ``Transfer-Encoding: chunked`` body, decoded; trailers are read and dropped."""

    def __init__(self, rfile: IO[bytes], on_first_read: Callable[[], None] | None = None) -> None:
        super().__init__(rfile, on_first_read)
        self.chunk_left = 0

    def _line(self) -> bytes:
        line = self.rfile.readline(MAX_CHUNK_LINE + 1)
        if len(line) > MAX_CHUNK_LINE or not line.endswith(b"\n"):
            raise BadRequest("malformed or truncated chunked body")
        self.bytes_read += len(line)
        return line.strip()

    def _next_chunk(self) -> None:
        size = self._line().split(b";", 1)[0].strip()
        try:
            self.chunk_left = int(size, 16)
        except ValueError as exc:
            raise BadRequest("malformed chunk size") from exc
        if self.chunk_left < 0:
            raise BadRequest("malformed chunk size")
        if self.chunk_left == 0:
            while self._line():  # trailers, up to the empty line
                pass
            self.done = True

    def _read(self, size: int) -> bytes:
        if self.chunk_left == 0:
            self._next_chunk()
            if self.done:
                return b""
        block = self.rfile.read(min(size, self.chunk_left))
        if not block:
            raise BadRequest("truncated chunked body")
        self.chunk_left -= len(block)
        self.bytes_read += len(block)
        if self.chunk_left == 0 and self._line():
            raise BadRequest("malformed chunked body: data after a chunk")
        return block
