"""The Downloader's wiring takes its dependencies as arguments, and each function starts what
it needs, in sight (``on_first_request`` in its handler): every Downloader function
migrates; only get-url and download, which write the outbox, start the relay and prober."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fileserver.downloader import bootstrap
from fileserver.downloader.bootstrap import Downloader
from fileserver.downloader.db import Database
from fileserver.runtime.serve import load_handler_app

ROOT = Path(__file__).resolve().parents[3]


class FakeThread:
    """Stands in for the outbox relay and the prober: records ``start``."""

    def __init__(self) -> None:
        self.started = 0
        self.wake = self  # the relay's wake event: DownloadService calls wake.set

    def start(self) -> None:
        self.started += 1

    def set(self) -> None:
        pass


@pytest.fixture()
def wired(database_url: str) -> Iterator[tuple[Downloader, list[Database]]]:
    migrated: list[Database] = []
    db = Database(database_url, pool_size=2)
    downloader = Downloader(db, "http://127.0.0.1:1", relay=FakeThread(),  # type: ignore[arg-type]
                            prober=FakeThread(), migrations=migrated.append)  # type: ignore[arg-type]
    bootstrap.PROCESS.use(downloader)
    yield downloader, migrated
    bootstrap.PROCESS.clear()
    db.close()


def test_get_url_migrates_and_starts_its_relay_before_its_first_request(wired):
    downloader, migrated = wired
    client = load_handler_app(ROOT / "functions" / "get-url").test_client()
    assert client.get("/healthz").status_code == 200
    assert migrated == [] and downloader.relay.started == 0  # nothing at load or for probes
    assert client.get("/", query_string={"id": "nowhere"}).status_code == 404
    assert client.get("/", query_string={"id": "nowhere"}).status_code == 404
    assert migrated == [downloader.database]
    assert (downloader.relay.started, downloader.prober.started) == (1, 1)


def test_file_stats_migrates_but_starts_no_relay(wired):
    downloader, migrated = wired
    client = load_handler_app(ROOT / "functions" / "file-stats").test_client()
    assert client.get("/").status_code == 200
    assert migrated == [downloader.database]
    assert (downloader.relay.started, downloader.prober.started) == (0, 0)
