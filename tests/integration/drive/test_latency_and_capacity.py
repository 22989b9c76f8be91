"""The emulator's latency model (off by default) and its keep-alive capacity."""

from __future__ import annotations

import http.client
import io
import time
from collections.abc import Iterator

import pytest
import requests

from devstack.process import free_port
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
from fileserver.drive.retry import RetryPolicy
from fileserver.drive.transport import CredentialCache, DriveTransport, HttpPool


@pytest.fixture()
def slow_emulator(tmp_path) -> Iterator[DriveEmulator]:  # noqa: ANN001
    server = DriveEmulator(tmp_path / "data", free_port(), tmp_path / "emulator.log",
                           latency={"token_ms": 300})
    server.start(timeout=30)
    yield server
    server.stop()


def timed(call) -> float:  # noqa: ANN001
    started = time.monotonic()
    call()
    return time.monotonic() - started


def test_latency_model_is_off_by_default_and_applies_per_call_copy_and_token(
        slow_emulator: DriveEmulator) -> None:
    transport = DriveTransport(HttpPool(4, timeout=30), CredentialCache())
    owner_key = slow_emulator.create_account(legacy=True)
    reader_key = slow_emulator.create_account(legacy=True)
    owner = DriveClient(owner_key, slow_emulator.url, RetryPolicy(attempts=1),
                        transport=transport)
    reader = DriveClient(reader_key, slow_emulator.url, RetryPolicy(attempts=1),
                         transport=transport)
    assert timed(owner.list_files) >= 0.3  # the first call exchanges a token: token_ms
    data = b"x" * 2_000_000
    source = owner.upload(io.BytesIO(data), len(data), "s.bin", "application/octet-stream", {})
    owner.share_with(source.id, reader_key["client_email"])
    reader.list_files()
    assert timed(lambda: owner.get(source.id)) < 0.1  # per-call latency is off
    assert slow_emulator.set_latency(call_ms=150, copy_mb_s=10) == {
        "call_ms": 150.0, "copy_mb_s": 10.0, "upload_mb_s": 0.0, "token_ms": 0.0}
    assert 0.15 <= timed(lambda: owner.get(source.id)) < 0.5
    assert 0.35 <= timed(lambda: reader.copy(source.id, "c.bin", {})) < 0.9  # 150 ms + 2 MB/10
    slow_emulator.set_latency(upload_mb_s=4)
    assert 0.45 <= timed(lambda: owner.upload(io.BytesIO(data), len(data), "u.bin",
                                              "application/octet-stream", {})) < 1.5
    slow_emulator.set_latency()
    assert timed(lambda: owner.get(source.id)) < 0.1
    bad = requests.put(f"{slow_emulator.url}_emulator/latency", json={"call_ms": -1}, timeout=5)
    assert bad.status_code == 400
    transport.pool.close()


def test_emulator_keeps_300_idle_keep_alive_connections_and_still_answers(
        emulator: DriveEmulator) -> None:
    connections = []
    try:
        for _ in range(300):
            conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
            conn.request("GET", "/_emulator/health")
            assert conn.getresponse().read()
            connections.append(conn)
        for conn in connections[::50]:  # the oldest are still served on their own socket
            conn.request("GET", "/_emulator/health")
            assert conn.getresponse().status == 200
        assert requests.get(f"{emulator.url}_emulator/health", timeout=5).ok
    finally:
        for conn in connections:
            conn.close()
