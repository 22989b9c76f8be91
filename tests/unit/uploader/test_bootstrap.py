"""The Uploader's wiring takes its repositories as arguments: a function runs on fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fileserver.runtime.serve import load_handler_app
from fileserver.uploader import bootstrap
from fileserver.uploader.bootstrap import Repositories, Uploader

ROOT = Path(__file__).resolve().parents[3]


class FakeAccounts:
    def __init__(self) -> None:
        self.indexed = 0

    def ensure_indexes(self) -> None:
        self.indexed += 1


class FakeFiles(FakeAccounts):
    def list(self, status: str | None, sort: str, limit: int,
             offset: int) -> tuple[list[Any], int]:
        return [], 42


class FakeJobs:
    pass


@pytest.fixture()
def fakes() -> Iterator[Repositories]:
    repos = Repositories(FakeAccounts(), FakeFiles(), object())  # type: ignore[arg-type]
    bootstrap.PROCESS.use(Uploader(repos, FakeJobs()))  # type: ignore[arg-type]
    yield repos
    bootstrap.PROCESS.clear()


def test_the_files_function_runs_on_fake_repositories_and_indexes_them_first(fakes):
    client = load_handler_app(ROOT / "functions" / "files").test_client()
    assert client.get("/healthz").status_code == 200
    assert fakes.files.indexed == 0  # a probe starts nothing
    answer = client.get("/")
    assert answer.status_code == 200 and answer.get_json()["total"] == 42
    client.get("/")
    assert (fakes.accounts.indexed, fakes.files.indexed) == (1, 1)  # once, before the first
    assert bootstrap.services().files.files is fakes.files
