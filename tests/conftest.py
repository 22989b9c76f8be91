"""Shared fixtures: real servers on free ports in temporary directories, stopped by pid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.mongo import MongoWireServer
from devstack.nats import NatsServer
from devstack.postgres import PostgresServer
from devstack.process import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    base = tmp_path_factory.mktemp("postgres")
    server = PostgresServer(base / "data", free_port(), base / "postgres.log")
    server.start(timeout=60)
    yield server
    server.stop()


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
