"""File bodies on disk, streamed in fixed-size blocks (never a whole file in memory)."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

BLOCK = 1024 * 1024


class BlobStore:
    """Finished bodies under ``blobs/<file id>``, partial uploads under ``uploads/<id>``."""

    def __init__(self, root: Path) -> None:
        self.blobs = root / "blobs"
        self.partials = root / "uploads"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.partials.mkdir(parents=True, exist_ok=True)

    def blob_path(self, file_id: str) -> Path:
        return self.blobs / file_id

    def partial_path(self, upload_id: str) -> Path:
        return self.partials / upload_id

    def partial_size(self, upload_id: str) -> int:
        path = self.partial_path(upload_id)
        return path.stat().st_size if path.exists() else 0

    def append(self, upload_id: str, stream: BinaryIO, length: int,
               stop_after: int | None = None) -> int:
        """Append up to ``length`` bytes from ``stream``; answer how many were written.

        ``stop_after`` (fault injection) stops early, as if the connection dropped.
        """
        wanted = length if stop_after is None else min(length, stop_after)
        written = 0
        with open(self.partial_path(upload_id), "ab") as out:
            while written < wanted:
                block = stream.read(min(BLOCK, wanted - written))
                if not block:
                    break
                out.write(block)
                written += len(block)
        return written

    def truncate(self, upload_id: str, size: int) -> None:
        with open(self.partial_path(upload_id), "ab") as out:
            out.truncate(size)

    def finish(self, upload_id: str, file_id: str) -> str:
        """Move a complete partial upload into place; answer its md5."""
        path = self.partial_path(upload_id)
        path.touch()
        md5 = md5_of(path)
        os.replace(path, self.blob_path(file_id))
        return md5

    def copy(self, source_id: str, target_id: str) -> None:
        """Bodies are immutable, so a hard link is a safe server-side copy."""
        try:
            os.link(self.blob_path(source_id), self.blob_path(target_id))
        except OSError:
            shutil.copyfile(self.blob_path(source_id), self.blob_path(target_id))

    def delete(self, file_id: str) -> None:
        self.blob_path(file_id).unlink(missing_ok=True)

    def discard_partial(self, upload_id: str) -> None:
        self.partial_path(upload_id).unlink(missing_ok=True)

    def read_range(self, file_id: str, start: int, end: int) -> Iterator[bytes]:
        """Yield bytes ``start..end`` inclusive in blocks."""
        remaining = end - start + 1
        with open(self.blob_path(file_id), "rb") as body:
            body.seek(start)
            while remaining > 0:
                block = body.read(min(BLOCK, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block

    def clear(self) -> None:
        for folder in (self.blobs, self.partials):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)


def md5_of(path: Path) -> str:
    digest = hashlib.md5()  # noqa: S324 - Drive's md5Checksum, not security
    with open(path, "rb") as body:
        while block := body.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()
