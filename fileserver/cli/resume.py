"""A resumable download from a list of sources: the redirector's ``Location`` first, then its
``Link: rel=duplicate`` holders.

Bytes go to ``PATH.part``. A connection that drops mid-body is resumed with ``Range: bytes=N-``
on the same source; a source that refuses (4xx/5xx, or one of Google's HTML pages instead of
the file) is left for the next one. A ``.part`` left by an earlier, interrupted run is resumed
too: its bytes are hashed first and the download continues after them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from fileserver.cli.progress import BLOCK, Progress

ATTEMPTS_PER_SOURCE = 4
# Read in small blocks: when a connection drops, the block being read is lost (urllib3 drops
# a short read), so a resume starts at most this many bytes before where the cut happened.
READ_BLOCK = 64 * 1024
_LINK = re.compile(r"<([^>]+)>\s*;([^,]*)")


def duplicate_links(headers: Any) -> list[str]:
    """The ``rel=duplicate`` URLs of ``Link`` headers (RFC 6249), lowest ``pri`` first."""
    found = []
    for url, params in _LINK.findall(headers.get("Link", "")):
        if re.search(r"rel=\"?duplicate\"?", params):
            pri = re.search(r"pri=(\d+)", params)
            found.append((int(pri.group(1)) if pri else 999_999, url))
    return [url for _pri, url in sorted(found)]


@dataclass
class Transfer:
    """Where a download stands: bytes on disk and their running hashes."""

    part: Path
    total: int
    done: int = 0
    sha256: Any = field(default_factory=hashlib.sha256)
    md5: Any = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))
    refusals: list[str] = field(default_factory=list)

    def load(self) -> None:
        """Hash what an earlier run left in ``part`` (bytes past ``total`` are dropped)."""
        if not self.part.exists() or self.part.stat().st_size > self.total:
            self.part.write_bytes(b"")
        with open(self.part, "rb") as held:
            while block := held.read(BLOCK):
                self._hash(block)

    def restart(self) -> None:
        self.part.write_bytes(b"")
        self.done, self.sha256 = 0, hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)

    def _hash(self, block: bytes) -> None:
        self.sha256.update(block)
        self.md5.update(block)
        self.done += len(block)


def fetch(sources: list[str], transfer: Transfer, progress: Progress) -> str | None:
    """Fill ``transfer`` from the first source that serves the file; answer that source, or
    None when every source refused or kept failing (``transfer.refusals`` says why)."""
    progress.update(transfer.done)
    for url in sources:
        for _attempt in range(ATTEMPTS_PER_SOURCE):
            if transfer.done >= transfer.total:
                return url
            try:
                refusal = _one_request(url, transfer, progress)
            except requests.RequestException as exc:  # dropped: resume from transfer.done
                transfer.refusals.append(f"{_host(url)}: {type(exc).__name__}")
                continue
            if refusal:
                transfer.refusals.append(f"{_host(url)}: {refusal}")
                break
        if transfer.done >= transfer.total:
            return url
    return None


def _one_request(url: str, transfer: Transfer, progress: Progress) -> str | None:
    """One GET from ``transfer.done``; a reason if this source refuses the file."""
    headers = {"Range": f"bytes={transfer.done}-"} if transfer.done else {}
    with requests.get(url, headers=headers, stream=True, timeout=(10, 300)) as resp:
        if resp.status_code >= 400:
            return f"answered {resp.status_code}"
        if resp.headers.get("Content-Type", "").startswith("text/html") and \
                "attachment" not in resp.headers.get("Content-Disposition", ""):
            return "answered an HTML page instead of the file (warning or quota page)"
        if transfer.done and not _resumes_at(resp, transfer.done):
            transfer.restart()  # the source ignored the Range: start over from its byte 0
        with open(transfer.part, "ab") as sink:
            for block in resp.iter_content(READ_BLOCK):
                sink.write(block)
                transfer._hash(block)
                progress.update(len(block))
    return None


def _resumes_at(resp: requests.Response, offset: int) -> bool:
    match = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
    return resp.status_code == 206 and match is not None and int(match.group(1)) == offset


def _host(url: str) -> str:
    return url.split("/")[2] if "://" in url else url
