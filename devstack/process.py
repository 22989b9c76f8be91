"""A child process the local stack (or a test) starts, waits for, and stops by its own pid."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path


class StartError(RuntimeError):
    """A component did not become ready; the message carries the tail of its log."""


_handed_out: set[int] = set()
_PORTS_FROM = 20000  # above the stack's default ports (18100-19090, docs/CONTRACTS.md)


@cache
def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections (32768 if unknown)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port nothing listens on, for a server about to be started.

    Drawn at random below the kernel's range for outgoing connections (a port the kernel
    lends as the source of some connection until the server binds it is a rare but real
    collision), never the same twice in one process; it is free when it binds. Where that
    range leaves no room above the stack's default ports, the kernel picks one.
    """
    low = _ephemeral_low()
    if low - _PORTS_FROM >= 1000:
        for _ in range(200):
            port = random.randrange(_PORTS_FROM, low)
            if port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _handed_out.add(port)
    return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid: int, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Signal ``pid``, wait up to ``timeout`` s, then SIGKILL it."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


class ManagedProcess:
    """One server process: command line, log file, readiness check, stop by pid."""

    name = "process"
    stop_signal = signal.SIGTERM
    cwd: str | None = None

    def __init__(self, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    # Subclasses define these two.
    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """One-time set-up before the first start (e.g. initdb)."""

    def popen_kwargs(self) -> dict:
        return {}

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 30.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it to be ready."""
        self.prepare()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {})}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True, cwd=self.cwd, **self.popen_kwargs(),
            )

    def wait_ready(self, timeout: float) -> None:
        wait_until(self.ready, timeout, self.failure)

    def failure(self) -> str | None:
        """Why the process cannot become ready (it exited), or None."""
        if self.proc is not None and self.proc.poll() is not None:
            return (f"{self.name} exited with code {self.proc.returncode}\n"
                    f"--- {self.log_path} ---\n{log_tail(self.log_path)}")
        return None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            stop_pid(self.proc.pid, self.stop_signal, timeout)
        self.proc.wait()

    def kill(self) -> None:
        """SIGKILL, for crash tests."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_until(check: Callable[[], bool], timeout: float,
               failure: Callable[[], str | None] | None = None, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if failure is not None and (reason := failure()):
            raise StartError(reason)
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        if time.monotonic() > deadline:
            extra = failure() if failure else None
            raise StartError(f"not ready after {timeout:.0f}s" + (f"\n{extra}" if extra else ""))
        time.sleep(interval)


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C: ``finally`` blocks and fixture teardowns then run, so a
    script or a test run stopped by ``kill`` or a timeout still stops what it started."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)
