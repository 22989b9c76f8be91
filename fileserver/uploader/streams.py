"""Reading an upload body as a stream: raw bodies and multipart/form-data field ``file``.

Nothing here holds more than one block of the body in memory; waitress has already spooled
the body to a temporary file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData

from fileserver.errors import BadRequest

BLOCK = 1 << 20
FILE_FIELD = "file"


def raw_blocks(stream: IO[bytes], expected: int | None) -> Iterator[bytes]:
    """The body block by block; a body shorter than Content-Length is a 400."""
    received = 0
    while block := stream.read(BLOCK):
        received += len(block)
        yield block
    if expected is not None and received != expected:
        raise BadRequest(f"truncated body: got {received} of {expected} bytes")


@dataclass
class MultipartFile:
    filename: str | None
    content_type: str | None
    blocks: Iterator[bytes]


def multipart_file(stream: IO[bytes], boundary: str) -> MultipartFile:
    """Find the part named ``file`` and return its name, type and a block iterator.

    Parts before it are skipped; the iterator raises BadRequest if the body ends early.
    """
    decoder = MultipartDecoder(boundary.encode(), max_form_memory_size=4 * BLOCK)
    events = _events(decoder, stream)
    for event in events:
        if isinstance(event, File) and event.name == FILE_FIELD:
            return MultipartFile(event.filename, event.headers.get("Content-Type"),
                                 _part_data(events))
        if isinstance(event, Epilogue):
            break
    raise BadRequest(f"multipart body has no file field named {FILE_FIELD!r}")


def _events(decoder: MultipartDecoder, stream: IO[bytes]) -> Iterator[object]:
    while True:
        try:
            event = decoder.next_event()
        except ValueError as exc:
            raise BadRequest(f"malformed or truncated multipart body: {exc}") from exc
        if isinstance(event, NeedData):
            decoder.receive_data(stream.read(BLOCK) or None)
            continue
        yield event
        if isinstance(event, Epilogue):
            return


def _part_data(events: Iterator[object]) -> Iterator[bytes]:
    for event in events:
        if not isinstance(event, Data):
            raise BadRequest("malformed multipart body")
        if event.data:
            yield event.data
        if not event.more_data:
            _drain(events)
            return
    raise BadRequest("truncated multipart body")


def _drain(events: Iterator[object]) -> None:
    """Read to the closing boundary so that a truncated body is noticed."""
    for event in events:
        if isinstance(event, Epilogue):
            return
    raise BadRequest("truncated multipart body: no closing boundary")
