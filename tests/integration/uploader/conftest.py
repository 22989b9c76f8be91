"""The Uploader's three functions as real processes on free ports, against real servers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from pymongo import MongoClient

from devstack.process import free_port, log_tail, stop_pid, wait_until
from fileserver.contracts import jobs

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "uploader-test-token-" + uuid.uuid4().hex[:8]
FUNCTIONS = ("drive-accounts", "upload-file", "files")
MAX_UPLOAD = 8 * 1024 * 1024


@dataclass
class UploaderStack:
    urls: dict[str, str]
    logs: dict[str, Path]
    mongo_url: str
    db_name: str
    nats_url: str
    admin: dict[str, str]
    env: dict[str, str]
    drive: Any = None  # the Drive emulator the live key checks talk to (DRIVE_API_ROOT)

    def db(self):
        return MongoClient(self.mongo_url)[self.db_name]

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs.values() if p.exists())


def start_function(name: str, env: dict[str, str], log: Path) -> tuple[int, str]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fileserver.runtime.serve", str(ROOT / "functions" / name),
             "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(url + "/healthz", timeout=1).ok, timeout=30,
                   failure=lambda: f"{name} exited:\n{log_tail(log)}"
                   if proc.poll() is not None else None)
    except Exception:
        stop_pid(proc.pid)
        raise
    return proc.pid, url


@pytest.fixture(scope="module")
def uploader(mongo_server, nats_server, tmp_path_factory) -> Iterator[UploaderStack]:
    from emulators.drive.server import DriveEmulator

    base = tmp_path_factory.mktemp("uploader")
    drive = DriveEmulator(base / "drive", free_port(), base / "drive.log")
    drive.start()
    secrets = base / "secrets"
    secrets.mkdir()
    (secrets / "admin-token").write_text(TOKEN)
    (secrets / "key-encryption-key").write_text(Fernet.generate_key().decode())
    db_name = "uploader_" + uuid.uuid4().hex[:8]
    env = {**os.environ, "MONGO_URL": mongo_server.url, "MONGO_DB": db_name,
           "NATS_URL": nats_server.url, "SECRETS_DIR": str(secrets),
           "MAX_UPLOAD_BYTES": str(MAX_UPLOAD), "LOG_LEVEL": "DEBUG",
           # No Downloader here: upload-file's best-effort registration is refused at once
           # (port 9, discard), never sent to a stack that may run on the default 8080.
           "GATEWAY_URL": "http://127.0.0.1:9", "DRIVE_API_ROOT": drive.url}
    pids: list[int] = []
    urls: dict[str, str] = {}
    logs = {name: base / f"{name}.log" for name in FUNCTIONS}
    try:
        for name in FUNCTIONS:
            pid, urls[name] = start_function(name, env, logs[name])
            pids.append(pid)
        yield UploaderStack(urls, logs, mongo_server.url, db_name, nats_server.url,
                            {"Authorization": f"Bearer {TOKEN}"}, env, drive)
    finally:
        for pid in pids:
            stop_pid(pid)
        drive.stop()


def read_jobs(nats_url: str, kind: str) -> list[tuple[dict, dict]]:
    """Every job of ``kind`` on the stream, read with a pull consumer of the test's own."""
    import asyncio
    import json
    import time

    import nats

    async def read() -> list[tuple[dict, dict]]:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        durable = "test_" + uuid.uuid4().hex[:8]
        sub = await js.pull_subscribe(jobs.subject(kind), durable=durable, stream=jobs.STREAM)
        expected = (await sub.consumer_info()).num_pending  # everything published so far
        found: list[tuple[dict, dict]] = []
        deadline = time.monotonic() + 30
        while len(found) < expected and time.monotonic() < deadline:
            try:
                batch = await sub.fetch(min(200, expected - len(found)), timeout=2)
            except TimeoutError:  # asyncio's and nats-py's timeouts
                continue
            for msg in batch:
                found.append((json.loads(msg.data), dict(msg.headers or {})))
                await msg.ack()
        await js.delete_consumer(jobs.STREAM, durable)
        await nc.close()
        return found

    return asyncio.run(read())


def make_key(email: str) -> dict:
    """A well-formed service-account key with a real RSA private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "test", "private_key_id": uuid.uuid4().hex,
            "private_key": pem, "client_email": email, "client_id": "1",
            "token_uri": f"http://127.0.0.1:{free_port()}/token"}
