"""The local stack: start/stop by pid, bounded memory for streamed bodies, restarts.

The gateway's routes are covered in test_gateway.py; fixtures are in conftest.py.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from devstack.config import StackConfig
from devstack.process import pid_alive
from devstack.stack import Stack

MB = 1024 * 1024


def test_stack_starts_from_empty_dir_and_stops_every_process(stack_dir: Path):
    config = StackConfig.free(stack_dir, functions=["echo"], workers=False,
                              prometheus_enabled=False)
    stack = Stack(config)
    started = time.monotonic()
    info = stack.up()
    assert time.monotonic() - started < 60
    assert info["state"] == "ready"
    assert {"postgres", "nats", "mongo", "echo", "gateway", "queue-worker"} <= set(
        info["components"])
    pids = stack.pids()
    assert pids and all(pid_alive(pid) for pid in pids)
    assert (stack_dir / "secrets" / "admin-token").read_text().strip()
    stack.down()
    assert [pid for pid in pids if pid_alive(pid)] == []
    # Data survives down/up: the same secrets come back.
    token = stack.admin_token
    stack.up()
    assert stack.admin_token == token
    stack.down()


def _peak_rss(pids: list[int], stop: threading.Event, peaks: dict[int, int]) -> None:
    procs = {pid: psutil.Process(pid) for pid in pids}
    while not stop.is_set():
        for pid, proc in procs.items():
            peaks[pid] = max(peaks.get(pid, 0), proc.memory_info().rss)
        time.sleep(0.02)


@pytest.mark.parametrize("size_mb", [50, pytest.param(200, marks=pytest.mark.slow)])
def test_streamed_body_does_not_grow_memory(echo_stack: Stack, tmp_path: Path, size_mb: int):
    size = size_mb * MB
    pids = [echo_stack.pid("gateway"), echo_stack.pid("echo")]
    before = {pid: psutil.Process(pid).memory_info().rss for pid in pids}
    peaks: dict[int, int] = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_peak_rss, args=(pids, stop, peaks))
    sampler.start()
    body = tmp_path / "body.bin"
    with open(body, "wb") as out:
        for i in range(size // MB):
            out.write(bytes([i % 251]) * MB)
    digest = hashlib.sha256(body.read_bytes()).hexdigest()
    try:
        with open(body, "rb") as stream:  # a file: requests streams it with Content-Length
            resp = requests.post(f"{echo_stack.gateway_url}/function/echo/upload", data=stream,
                                 timeout=120)
    finally:
        stop.set()
        sampler.join()
    assert resp.status_code == 200
    assert resp.json()["size"] == size and resp.json()["sha256"] == digest
    growth = {pid: (peaks[pid] - before[pid]) / MB for pid in pids}
    assert all(g < 25 for g in growth.values()), f"RSS growth in MB: {growth}"


def test_a_function_that_dies_is_restarted(echo_stack: Stack):
    old = echo_stack.kill("echo")
    new = echo_stack.wait_restarted("echo", old)
    assert new != old and not pid_alive(old)
    resp = requests.get(f"{echo_stack.gateway_url}/function/echo/", timeout=10)
    assert resp.status_code == 200
    assert echo_stack.component("echo")["restarts"] == 1
