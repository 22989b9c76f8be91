"""devstack.netns_relay: a command in network and PID namespaces of its own, reached from the
host and reaching the host's services through the relay; SIGTERM goes to the command and
nothing is left in the namespace after; without the privilege, STACK_WATCHDOG fails at once
saying why. (No OpenFaaS tool needed: a Python HTTP server stands in for the watchdog.)"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path
from threading import Thread

import psutil
import pytest
import requests

from devstack import components
from devstack.config import StackConfig
from devstack.process import StartError, free_port, log_tail, pid_alive, wait_until
from tests.integration.openfaas.conftest import REPO_ROOT
from tests.integration.openfaas.test_stack_watchdog import processes_in

# Root without CAP_SYS_ADMIN (as in an unprivileged container): no namespace may be created.
NO_SYS_ADMIN = ["setpriv", "--bounding-set=-sys_admin"]
requires_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                   reason="needs root (namespaces) and setpriv (util-linux)")
# Inside: answers GET / with what it fetched from the host's service on SERVICE (outbound),
# and its pid as seen in its own namespace; exits 0 on SIGTERM.
INSIDE = """
import os, signal, sys, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
service = int(sys.argv[2])
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        got = urllib.request.urlopen(f"http://127.0.0.1:{service}/", timeout=5).read()
        body = b"pid %d, host said: " % os.getpid() + got
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


@pytest.fixture()
def host_service() -> Iterator[int]:
    """An HTTP server on the host's loopback answering "hello from the host"."""

    class Hello(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Length", "19")
            self.end_headers()
            self.wfile.write(b"hello from the host")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@requires_root
def test_the_relay_bridges_both_ways_and_leaves_nothing_after_sigterm(host_service, tmp_path):
    port, inside = free_port(), free_port()
    netns_file, log = tmp_path / "netns", tmp_path / "relay.log"
    with log.open("wb") as out:
        relay = subprocess.Popen(
            [sys.executable, "-m", "devstack.netns_relay", "--inbound", f"{port}:{inside}",
             "--outbound", str(host_service), "--netns-file", str(netns_file), "--",
             sys.executable, "-c", INSIDE, str(inside), str(host_service)],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=2).ok, 30,
                   lambda: log_tail(log) if relay.poll() is not None else None)
        answer = requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
        assert answer == "pid 1, host said: hello from the host"  # its own PID namespace
        space = netns_file.read_text().strip()
        assert space != os.readlink("/proc/self/ns/net")
        [child] = [c.pid for c in psutil.Process(relay.pid).children()]
        assert not _listening(inside)  # the command's port is in its namespace only
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=15) == 0  # the command's own exit code
        assert not pid_alive(child) and processes_in({space}) == []
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@requires_root
def test_without_the_privilege_the_probe_says_why():
    done = subprocess.run([*NO_SYS_ADMIN, sys.executable, "-m", "devstack.netns_relay", "--probe"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 78
    assert "unshare: Operation not permitted (needs CAP_SYS_ADMIN" in done.stderr


@requires_root
def test_stack_watchdog_without_the_privilege_fails_at_once_starting_nothing():
    folder = Path(tempfile.mkdtemp(prefix="fileserver-wd-nobody-"))
    env = {**os.environ, "STACK_DIR": str(folder / "stack"), "STACK_WATCHDOG": "/bin/true",
           **{f"STACK_{name}_PORT": str(free_port()) for name in (
               "GATEWAY", "POSTGRES", "NATS", "NATS_MONITOR", "MONGO", "DRIVE", "PROMETHEUS",
               "FUNCTIONS_BASE", "REPLICATOR_METRICS", "DRIVE_USERCONTENT")}}
    try:
        done = subprocess.run([*NO_SYS_ADMIN, sys.executable, "-m", "devstack.cli", "up"],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "STACK_WATCHDOG runs each function's watchdog in a network namespace" \
            in done.stderr
        assert "Operation not permitted (needs CAP_SYS_ADMIN" in done.stderr
        assert "Unset STACK_WATCHDOG" in done.stderr
        assert not (folder / "stack" / "stack.json").exists()
        assert not (folder / "stack" / "logs").exists()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_function_namespace_relays_exactly_the_stack_services(tmp_path):
    config = StackConfig.free(tmp_path / "stack", watchdog="/bin/true")
    [upload] = [p for p in components.build(config) if p.name == "upload-file"]
    outbound = sorted(int(a.split("=")[1]) for a in upload.argv if a.startswith("--outbound="))
    assert outbound == sorted({config.gateway, config.nats, config.mongo, config.postgres,
                               config.drive, config.drive_usercontent})
    assert f"{config.watchdog_metrics_port('upload-file')}:8081" in upload.argv


def test_a_service_on_the_watchdogs_fixed_metrics_port_is_refused_with_the_fix(tmp_path):
    config = StackConfig.free(tmp_path / "stack", watchdog="/bin/true")
    config.gateway = 8081
    with pytest.raises(StartError, match=r"port\(s\) \[8081\].*always takes 8081.*STACK_\*_PORT"):
        components.build(config)
