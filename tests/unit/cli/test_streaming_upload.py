"""upload streams the file with a Content-Length (not chunked, never whole in memory)."""

from __future__ import annotations

import io
import os

from fileserver.cli.main import main
from fileserver.cli.progress import BLOCK, FileBody, Progress
from tests.unit.cli.conftest import Answer, FakeGateway


def test_file_body_yields_blocks_and_counts_progress(tmp_path) -> None:
    data = os.urandom(2 * BLOCK + 123)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    stream = io.StringIO()
    progress = Progress("f.bin", len(data), enabled=True, stream=stream)
    body = FileBody(path, progress)
    blocks = list(body)
    assert len(body) == len(data) and b"".join(blocks) == data
    assert [len(b) for b in blocks] == [BLOCK, BLOCK, 123]
    assert progress.done == len(data)
    progress.close()
    assert "100.0%" in stream.getvalue() and "MB/s" in stream.getvalue()


def test_upload_sends_content_length_and_name(fake_gateway: FakeGateway, tmp_path,
                                              capsys) -> None:
    path = tmp_path / "movie.mp4"
    path.write_bytes(os.urandom(3 * BLOCK))
    fake_gateway.answer = Answer(202, {"id": "f1", "name": "movie.mp4", "status": "replicating"})
    assert main(["--gateway", fake_gateway.url, "--token", "t", "upload", str(path)]) == 0
    [seen] = fake_gateway.seen
    assert seen.path == "/function/upload-file/?name=movie.mp4"
    assert seen.headers["Content-Length"] == str(3 * BLOCK) and seen.body_size == 3 * BLOCK
    assert "Transfer-Encoding" not in seen.headers
    assert "-> id f1, status replicating" in capsys.readouterr().out


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rate_eta_and_redraw_in_place(monkeypatch) -> None:
    clock = iter([100.0, 102.0, 102.0, 104.5])  # start, update, its line, the final line
    monkeypatch.setattr("fileserver.cli.progress.time.monotonic", lambda: next(clock))
    terminal = FakeTerminal()
    progress = Progress("movie.mp4", 10_000_000, enabled=True, stream=terminal)
    progress.update(4_000_000)  # 4 MB in 2 s: 2 MB/s, 6 MB left -> 3 s
    drawn = terminal.getvalue()
    assert drawn.startswith("\rmovie.mp4") and not drawn.endswith("\n")
    assert " 40.0%" in drawn and "4.0/10.0 MB" in drawn and "2.0 MB/s" in drawn
    assert drawn.rstrip().endswith("ETA 3s")
    progress.done = 10_000_000
    progress.close()
    assert terminal.getvalue().endswith("100.0%      10.0/10.0 MB     2.2 MB/s  ETA 0s\n")


def test_disabled_progress_writes_nothing() -> None:
    terminal = FakeTerminal()
    progress = Progress("x", 10, enabled=False, stream=terminal)
    progress.update(5)
    progress.close()
    assert terminal.getvalue() == "" and progress.done == 5
