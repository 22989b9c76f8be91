"""ForwardStreamUpload: chunks from a read-only stream, resends from inside the chunk."""

from __future__ import annotations

import io

import pytest

from fileserver.drive.media import ForwardStreamUpload


class ReadOnly:
    def __init__(self, data: bytes) -> None:
        self._body = io.BytesIO(data)
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        return self._body.read(size)


def test_chunks_resends_and_skips() -> None:
    data = bytes(range(256)) * 4
    media = ForwardStreamUpload(ReadOnly(data), len(data), "x/y", 100)
    assert media.getbytes(0, 100) == data[:100]
    assert media.getbytes(40, 100) == data[40:140]  # the server kept only 40 bytes
    assert media.getbytes(140, 100) == data[140:240]
    assert media.getbytes(500, 100) == data[500:600]  # skip ahead
    assert media.getbytes(1000, 100) == data[1000:]  # short read at the end
    with pytest.raises(ValueError):
        media.getbytes(10, 100)  # cannot rewind before the current chunk
    assert (media.size(), media.chunksize(), media.resumable(), media.has_stream()) == (
        1024, 100, True, False)
