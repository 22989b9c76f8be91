"""The real faas-cli and of-watchdog (../shared/tools/openfaas/bin/), for the tests here.

Every test skips, saying why, where that folder is absent (a user's clone has no ../shared).
``WatchdogFunction`` starts a function as its image does: ``faas-cli build --shrinkwrap``'s
build folder, fwatchdog with the environment of the template's Dockerfile and stack.yml
(devstack.watchdog), the handler process as the watchdog's child; all stopped by pid.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
from cryptography.fernet import Fernet

from devstack.process import free_port, log_tail, port_open, stop_pid, wait_until
from devstack.watchdog import SHARED_TOOLS, watchdog_env

REPO_ROOT = Path(__file__).resolve().parents[3]
FAAS_CLI = SHARED_TOOLS / "faas-cli"
FWATCHDOG = SHARED_TOOLS / "fwatchdog"
TOKEN = "watchdog-test-token"
MB = 1 << 20
# of-watchdog 0.11.6 serves its own metrics on :8081, fixed (config.go: MetricsPort 8081, no
# setting): one watchdog per network namespace, so the tests start them one at a time.
WATCHDOG_METRICS_PORT = 8081

requires_tools = pytest.mark.skipif(
    not (FAAS_CLI.is_file() and FWATCHDOG.is_file()),
    reason=f"the real OpenFaaS tools are not in {SHARED_TOOLS} (../shared/tools/openfaas/bin)")


def faas_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run faas-cli offline; its output (stdout), or fail with both streams."""
    done = subprocess.run([str(FAAS_CLI), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"faas-cli {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def project_copy(root: Path) -> Path:
    """What faas-cli reads from the repository: stack.yml and the folders it names."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "stack.yml", root / "stack.yml")
    for folder in ("functions", "fileserver", "template", "deploy"):
        shutil.copytree(REPO_ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="session")
def shrinkwrapped() -> Iterator[Path]:
    """``faas-cli build -f stack.yml --shrinkwrap`` in a copy of the project: its build/."""
    if not FAAS_CLI.is_file():
        pytest.skip(f"no faas-cli in {SHARED_TOOLS}")
    root = project_copy(Path(tempfile.mkdtemp(prefix="fileserver-shrinkwrap-")))
    faas_cli("build", "-f", "stack.yml", "--shrinkwrap", cwd=root)
    yield root / "build"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def secrets_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="fileserver-wd-secrets-"))
    (folder / "admin-token").write_text(TOKEN)
    (folder / "key-encryption-key").write_text(Fernet.generate_key().decode())
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class WatchdogFunction:
    """fwatchdog in front of one shrink-wrapped function, on free ports."""

    def __init__(self, name: str, build: Path, env: dict[str, str]) -> None:
        self.name = name
        self.home = Path(tempfile.mkdtemp(prefix=f"fileserver-wd-{name}-"))
        self.port, upstream = free_port(), free_port()
        self.metrics_port = WATCHDOG_METRICS_PORT
        self.function_dir = build / name / "function"
        self.env = {**watchdog_env(name, self.function_dir, self.port, upstream,
                                   self.metrics_port, self.home), **env}
        self.log = self.home / "watchdog.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WatchdogFunction:
        wait_until(lambda: not port_open(WATCHDOG_METRICS_PORT), 60)  # the last one is gone
        env = {"PATH": os.environ["PATH"], **self.env}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([str(FWATCHDOG)], cwd=self.function_dir, env=env,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_until(lambda: requests.get(self.url + "/_/ready", timeout=1).ok, 60,
                   lambda: f"fwatchdog exited:\n{log_tail(self.log)}"
                   if self.proc.poll() is not None else None)
        return self

    def child_pid(self) -> int:
        """The handler process the watchdog started (fprocess)."""
        children = psutil.Process(self.proc.pid).children()
        assert len(children) == 1, children
        return children[0].pid

    def metric(self, name: str) -> float:
        text = requests.get(self.url + "/_/metrics", timeout=5).text
        values = [float(line.split()[-1]) for line in text.splitlines()
                  if line.startswith(name + " ") or line.startswith(name + "{")]
        return sum(values)

    def stop(self) -> None:
        if self.proc is not None:
            children: list[int] = []
            with contextlib.suppress(psutil.Error):  # every descendant, by pid, read first
                children = [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)]
            stop_pid(self.proc.pid)
            self.proc.wait(timeout=10)
            for child in children:
                stop_pid(child)
        shutil.rmtree(self.home, ignore_errors=True)


def post_until_answered(port: int, path: str, headers: dict[str, str], total: int,
                        block: int = 64 * 1024) -> tuple[int, int]:
    """Send a POST of ``total`` bytes block by block, stopping as soon as a response arrives
    (a client that would send it all if let); returns (status, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {total}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    sent, data = 0, b"\0" * block
    try:
        sock.setblocking(False)
        while sent < total:  # never block in a send: see the answer as soon as it comes
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable or not writable:
                break
            try:
                sent += sock.send(data)
            except BlockingIOError:
                continue
            except OSError:  # the server answered and closed: read what it said
                break
        sock.setblocking(True)
        sock.settimeout(30)
        status_line = sock.recv(65536).split(b"\r\n", 1)[0]
    finally:
        sock.close()
    return int(status_line.split()[1]), sent
