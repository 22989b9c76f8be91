"""Fixtures for the JMeter tests: skip without JMeter; a tiny HTTP server process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.process import free_port, port_open, stop_pid, wait_until
from jmeter.locate import Jmeter, JmeterNotFound, find_jmeter

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def jmeter_install() -> Jmeter:
    try:
        return find_jmeter()
    except JmeterNotFound as exc:
        pytest.skip(f"{exc} (java + jmeter are installed by scripts/system-deps.sh)")


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tiny_server.py`` as its own process on a free port; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("tiny") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, str(HERE / "tiny_server.py"), str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_open(port), timeout=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_pid(proc.pid)
        proc.wait(timeout=5)
