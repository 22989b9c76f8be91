"""ForwardStreamUpload: chunks from a read-only stream, resends from inside the chunk."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@given(data=st.binary(min_size=0, max_size=3000), chunk=st.integers(1, 700),
       commits=st.lists(st.floats(0, 1), min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_any_sequence_of_partial_commits_rebuilds_the_stream(data: bytes, chunk: int,
                                                             commits: list[float]) -> None:
    """As googleapiclient drives it: ask for a chunk at the committed offset; the server
    keeps any prefix of it (a dropped connection keeps part, a 308 keeps all)."""
    media = ForwardStreamUpload(ReadOnly(data), len(data), "x/y", chunk)
    received, progress, step = b"", 0, 0
    while progress < len(data):
        piece = media.getbytes(progress, chunk)
        kept = len(piece) if step >= len(commits) else int(len(piece) * commits[step])
        received += piece[:kept]
        progress += kept
        step += 1
    assert received == data
