"""A local stack whose port is taken says so before it starts anything (issue 19 item 4)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devstack import components, ports
from devstack.config import REPO_ROOT, StackConfig
from devstack.process import ManagedProcess, free_port
from devstack.stack import Stack
from tests.conftest import server_tmp_dir


@pytest.fixture()
def held_port() -> Iterator[int]:
    """A port another process (this test) listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture()
def base() -> Iterator[Path]:
    path = server_tmp_dir("ports")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_up_with_the_gateway_port_taken_fails_at_once_naming_it(held_port, base):
    """`devstack.cli up` as a user runs it, with STACK_GATEWAY_PORT held by another process."""
    env = {**os.environ, "STACK_DIR": str(base / "stack"),
           **{f"STACK_{name.upper()}_PORT": str(free_port()) for name in
              ("postgres", "nats", "nats_monitor", "mongo", "drive", "prometheus",
               "replicator_metrics", "drive_usercontent")},
           "STACK_FUNCTIONS_BASE_PORT": str(free_port()),
           "STACK_GATEWAY_PORT": str(held_port)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "devstack.cli", "up"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 30  # at once: nothing was started and waited for
    assert done.returncode == 1
    message = done.stderr
    assert f"port {held_port} (gateway) is already in use by pid {os.getpid()}" in message
    assert "STACK_GATEWAY_PORT" in message and "nothing was started" in message
    assert "ready" not in done.stdout
    # nothing left running, nothing started at all (a supervisor or a component would name the
    # stack's folder on its command line, and would have written stack.json and logs)
    assert processes_naming(base) == []
    assert not (base / "stack" / "stack.json").exists()
    assert not (base / "stack" / "logs").exists()


def processes_naming(folder: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if any(str(folder) in part for part in proc.info["cmdline"] or []):
            found.append(proc.info["pid"])
    return found


def test_every_port_the_stack_uses_is_planned_with_its_setting(base):
    config = StackConfig.free(base / "stack", watchdog="/bin/true")
    stack_parts = [part.name for part in components.build(config)]
    planned = ports.planned(config, stack_parts)
    assert planned[config.gateway] == ("gateway", "STACK_GATEWAY_PORT")
    assert planned[config.postgres] == ("postgres", "STACK_POSTGRES_PORT")
    assert planned[config.nats_monitor][1] == "STACK_NATS_MONITOR_PORT"
    for name in config.function_names():
        assert planned[config.function_port(name)][0] == name
    assert planned[config.watchdog_metrics_port("upload-file")][0] == \
        "upload-file (watchdog metrics, relayed from :8081)"


def test_a_component_answering_on_a_port_it_does_not_hold_is_not_up(held_port, base):
    """The process the stack started must be the one listening on the component's port."""

    class Sleeper(ManagedProcess):
        name = "sleeper"
        port = held_port

        def command(self) -> list[str]:
            return [sys.executable, "-c", "import time; time.sleep(30)"]

        def ready(self) -> bool:
            return True

    part = Sleeper(base / "sleeper.log")
    part.launch()
    try:
        assert ports.listeners(held_port) == [os.getpid()]
        assert not ports.owned_by(held_port, part.pid)
        assert ports.owned_by(held_port, os.getpid())
    finally:
        part.stop()


def test_auto_ports_pick_again_instead_of_failing(held_port, base):
    config = StackConfig.free(base / "stack", functions=["echo"], workers=False,
                              prometheus_enabled=False)
    config.gateway = held_port
    Stack(config).check_ports()
    assert config.gateway != held_port


def test_two_settings_on_one_port_are_named_before_anything_starts(base):
    config = StackConfig.free(base / "stack")
    config.auto_ports = False  # as set by hand (STACK_*_PORT)
    config.drive = config.function_port("files")
    with pytest.raises(ports.PortInUse, match=r"port \d+ is set for both drive-emulator "
                       r"\(STACK_DRIVE_PORT\) and files \(STACK_FUNCTIONS_BASE_PORT"):
        Stack(config).up()
    assert not (base / "stack" / "stack.json").exists()
