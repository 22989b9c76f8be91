"""The CLI's resumable download against a real HTTP server that cuts, refuses or ignores Range."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fileserver.cli.progress import Progress
from fileserver.cli.resume import Transfer, duplicate_links, fetch

DATA = bytes(range(256)) * 4096  # 1 MiB


class Source:
    """``/ok`` serves DATA with Range; ``/cut`` the same but its first answer stops at half;
    ``/refuse`` answers 403; ``/page`` an HTML page; ``/norange`` ignores Range."""

    def __init__(self) -> None:
        self.ranges: list[str | None] = []
        self.cuts = 1
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                source.ranges.append(self.headers.get("Range"))
                if self.path == "/refuse":
                    return self._send(403, b"no", "text/plain")
                if self.path == "/page":
                    return self._send(200, b"<html>Virus scan warning</html>", "text/html")
                start = int(self.headers.get("Range", "bytes=0-")[6:].split("-")[0] or 0)
                if self.path == "/norange":
                    start = 0
                body = DATA[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Disposition", 'attachment; filename="f.bin"')
                self.end_headers()
                if self.path == "/cut" and source.cuts > 0:
                    source.cuts -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.close()  # short body: the client sees the drop
                    return
                self.wfile.write(body)

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture()
def source() -> Iterator[Source]:
    server = Source()
    yield server
    server.server.shutdown()
    server.server.server_close()


def run(sources: list[str], part: Path) -> tuple[Transfer, str | None]:
    transfer = Transfer(part, len(DATA))
    transfer.load()
    used = fetch(sources, transfer, Progress("f", len(DATA), enabled=False))
    return transfer, used


def test_a_cut_download_resumes_with_range(source: Source, tmp_path: Path) -> None:
    transfer, used = run([f"{source.url}/cut"], tmp_path / "f.part")
    assert used == f"{source.url}/cut"
    assert (tmp_path / "f.part").read_bytes() == DATA
    assert transfer.sha256.hexdigest() == hashlib.sha256(DATA).hexdigest()
    assert source.ranges[0] is None and len(source.ranges) == 2
    resumed_at = int(source.ranges[1].removeprefix("bytes=").rstrip("-"))
    assert len(DATA) // 2 - 64 * 1024 <= resumed_at <= len(DATA) // 2


def test_a_part_left_by_an_earlier_run_is_continued(source: Source, tmp_path: Path) -> None:
    (tmp_path / "f.part").write_bytes(DATA[:300_000])
    transfer, _ = run([f"{source.url}/ok"], tmp_path / "f.part")
    assert source.ranges == ["bytes=300000-"]
    assert transfer.sha256.hexdigest() == hashlib.sha256(DATA).hexdigest()


def test_refusing_sources_and_html_pages_fail_over_to_the_next(source: Source,
                                                                tmp_path: Path) -> None:
    transfer, used = run([f"{source.url}/refuse", f"{source.url}/page", f"{source.url}/ok"],
                         tmp_path / "f.part")
    assert used == f"{source.url}/ok" and (tmp_path / "f.part").read_bytes() == DATA
    assert "answered 403" in transfer.refusals[0] and "HTML page" in transfer.refusals[1]


def test_a_source_that_ignores_range_starts_over(source: Source, tmp_path: Path) -> None:
    (tmp_path / "f.part").write_bytes(DATA[:1000])
    transfer, _ = run([f"{source.url}/norange"], tmp_path / "f.part")
    assert (tmp_path / "f.part").read_bytes() == DATA and transfer.done == len(DATA)


def test_every_source_refusing_keeps_the_part(source: Source, tmp_path: Path) -> None:
    (tmp_path / "f.part").write_bytes(DATA[:10])
    transfer, used = run([f"{source.url}/refuse"], tmp_path / "f.part")
    assert used is None and (tmp_path / "f.part").read_bytes() == DATA[:10]


def test_link_headers_give_duplicates_by_priority() -> None:
    headers = {"Link": "<http://b>; rel=duplicate; pri=3, <http://x>; rel=describedby, "
                       "<http://a>; rel=duplicate; pri=2"}
    assert duplicate_links(headers) == ["http://a", "http://b"]
