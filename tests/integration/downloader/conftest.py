"""Downloader fixtures: a fresh migrated database per test, function processes, a gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import pytest
import requests

from devstack.postgres import PostgresServer
from devstack.process import free_port, stop_pid, wait_until
from fileserver.downloader.db import Database, migrate

ROOT = Path(__file__).resolve().parents[3]
ADMIN_TOKEN = "downloader-test-token"


def create_database(server: PostgresServer) -> str:
    """A new, empty database on the session's PostgreSQL; its SQLAlchemy URL."""
    name = f"dl_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres",
                            dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"postgresql+psycopg2://postgres@127.0.0.1:{server.port}/{name}"


@pytest.fixture()
def empty_database_url(postgres_server: PostgresServer) -> str:
    return create_database(postgres_server)


@pytest.fixture(scope="session")
def _migrated_url(postgres_server: PostgresServer) -> str:
    url = create_database(postgres_server)
    database = Database(url, pool_size=1)
    migrate(database)
    database.close()
    return url


@pytest.fixture()
def database_url(_migrated_url: str) -> str:
    """The session's migrated Downloader database, emptied for this test.

    One database for all tests (each CREATE DATABASE adds megabytes to fsync at shutdown)."""
    database = Database(_migrated_url, pool_size=1)
    tables = [row["tablename"] for row in database.run(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename NOT IN ('schema_migrations', 'stats_horizon')")]
    database.run(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
    database.run("UPDATE stats_horizon SET day = DATE '1970-01-01', pruned_at = NULL")
    database.close()
    return _migrated_url


@pytest.fixture()
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=20)
    yield database
    database.close()


class AsyncStandIn(BaseHTTPRequestHandler):
    """Plays the gateway's ``/async-function/stats-compute``: records batches, answers 202."""

    batches: list[dict]
    fail_next: int

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        with server.lock:  # type: ignore[attr-defined]
            failing = server.fail_next > 0  # type: ignore[attr-defined]
            if failing:
                server.fail_next -= 1  # type: ignore[attr-defined]
            else:
                server.batches.append({"path": self.path, "body": body})  # type: ignore[attr-defined]
        self.send_response(503 if failing else 202)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture()
def async_gateway() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), AsyncStandIn)
    server.batches = []  # type: ignore[attr-defined]
    server.fail_next = 0  # type: ignore[attr-defined]
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


def relayed_events(server: ThreadingHTTPServer) -> list[dict]:
    with server.lock:  # type: ignore[attr-defined]
        return [e for batch in server.batches for e in batch["body"]["events"]]  # type: ignore[attr-defined]


@pytest.fixture()
def start_function(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start ``functions/NAME`` as a real process; return its base URL; stop it by pid."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, env: dict[str, str], threads: int = 16) -> str:
        port = free_port()
        full_env = {**os.environ, "FILESERVER_ADMIN_TOKEN": ADMIN_TOKEN, "LOG_LEVEL": "WARNING",
                    "SECRETS_DIR": str(tmp_path / "secrets"), **env}
        with open(tmp_path / f"{name}-{port}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "fileserver.runtime.serve", f"functions/{name}",
                 "--port", str(port), "--threads", str(threads)], cwd=ROOT, env=full_env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30,
                   lambda: f"{name} exited" if proc.poll() is not None else None)
        return url

    yield start
    for proc in procs:
        stop_pid(proc.pid)
        proc.wait()


@pytest.fixture()
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
