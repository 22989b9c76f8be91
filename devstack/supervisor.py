"""The local stack's supervisor: starts every component, restarts our processes if they die.

Run detached by ``devstack.cli up`` (or the ``live_stack`` test fixture) as
``python -m devstack.supervisor DIR``; DIR holds ``config.json``. It writes ``DIR/stack.json``
(state, pids, ports, urls, logs) and, on SIGTERM, stops everything in reverse order by pid.
A file ``DIR/hold/NAME`` stops it from restarting component NAME (for fault tests).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from devstack import components, ports
from devstack.components import AppProcess
from devstack.config import StackConfig
from devstack.process import ManagedProcess, StartError, log_tail, pid_alive, wait_until

log = logging.getLogger("devstack.supervisor")
DATABASES = ("postgres", "nats", "mongo")


class Supervisor:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.parts: list[ManagedProcess] = []
        self.restarts: dict[str, int] = {}
        self.state = "starting"
        self.error: str | None = None
        self.stopping = threading.Event()

    def start_all(self) -> None:
        components.ensure_secrets(self.config)
        urls = components.function_urls(self.config)
        (self.config.dir / "functions.json").write_text(json.dumps(urls, indent=2))
        self.parts = components.build(self.config)
        servers = [p for p in self.parts if not isinstance(p, AppProcess)]
        apps = [p for p in self.parts if isinstance(p, AppProcess)]
        for part in servers:  # databases first, one by one
            self._start(part)
        for part in apps:  # then our processes, launched together, awaited together
            part.launch()
        for part in apps:
            self._wait(part)
        self.state = "ready"
        self.write()

    def _start(self, part: ManagedProcess) -> None:
        part.launch()
        self._wait(part)

    def _wait(self, part: ManagedProcess) -> None:
        port = getattr(part, "port", None)

        def failure() -> str | None:
            if self.stopping.is_set():
                return "the stack is stopping"
            if port and part.pid and ports.listeners(port) and not ports.owned_by(port, part.pid):
                return (f"port {port} is answered by {ports.holder(port)}, not by the "
                        f"{part.name} process the stack started (pid {part.pid})")
            return part.failure()

        try:
            wait_until(part.ready, 120 if part.name == "postgres" else 60, failure)
        except StartError as exc:
            raise StartError(f"{part.name} failed to start: {exc}\n--- log tail "
                             f"{part.log_path} ---\n{log_tail(part.log_path)}") from exc
        log.info("%s ready (pid %s)", part.name, part.pid)

    def watch(self) -> None:
        """Restart any of our processes that dies, until asked to stop."""
        while not self.stopping.wait(0.5):
            if self.config.owner_pid and not pid_alive(self.config.owner_pid):
                log.warning("owner process %s is gone; stopping the stack", self.config.owner_pid)
                return
            for part in self.parts:
                if self.stopping.is_set():
                    return
                if (isinstance(part, AppProcess) or self._restart_requested(part)) \
                        and not part.running() and not self._held(part):
                    log.warning("%s (pid %s) died; restarting", part.name, part.pid)
                    self.restarts[part.name] = self.restarts.get(part.name, 0) + 1
                    try:
                        self._start(part)
                    except StartError as exc:
                        log.error("restart of %s failed: %s", part.name, exc)
                    self.write()

    def _held(self, part: ManagedProcess) -> bool:
        return (self.config.dir / "hold" / part.name).exists()

    def _restart_requested(self, part: ManagedProcess) -> bool:
        """Servers (databases, NATS) are restarted only when a file ``DIR/restart/NAME`` asks
        for it (fault tests); by default a dead database stays dead, as in production."""
        return (self.config.dir / "restart" / part.name).exists()

    def stop_all(self) -> None:
        """Stop everything in reverse start order; the functions together, since each one
        behind the watchdog takes its healthcheck_interval (5 s) to drain."""
        self.stopping.set()
        functions = set(self.config.function_names())
        for together, run in itertools.groupby(reversed(self.parts),
                                               key=lambda part: part.name in functions):
            stoppers = [threading.Thread(target=part.stop) for part in run]
            for thread in stoppers:
                thread.start()
                if not together:
                    thread.join()
            for thread in stoppers:
                thread.join()
        self.state = "stopped"
        self.write()

    def write(self) -> None:
        env = components.service_env(self.config)
        info = {
            "state": self.state, "error": self.error, "supervisor_pid": os.getpid(),
            "dir": str(self.config.dir), "gateway_url": env["GATEWAY_URL"],
            "secrets_dir": env["SECRETS_DIR"],
            "admin_token_file": str(Path(env["SECRETS_DIR"]) / "admin-token"),
            "env": env, "updated_at": time.time(),
            "components": {p.name: describe(p, self.restarts.get(p.name, 0)) for p in self.parts},
        }
        functions = set(self.config.function_names())
        for name, part in info["components"].items():
            if name in functions and self.config.behind_watchdog(name):
                port = self.config.watchdog_metrics_port(name)  # its :8081, relayed
                part["watchdog_metrics_url"] = f"http://127.0.0.1:{port}/metrics"
        path = self.config.dir / "stack.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        tmp.replace(path)


def describe(part: ManagedProcess, restarts: int) -> dict:
    port = getattr(part, "port", None)
    url = getattr(part, "url", None) or (f"http://127.0.0.1:{port}" if port else None)
    return {"pid": part.pid, "port": port, "url": url, "log": str(part.log_path),
            "restarts": restarts, "kind": "app" if isinstance(part, AppProcess) else "server"}


def main(argv: list[str] | None = None) -> None:
    directory = Path((argv or sys.argv[1:])[0]).resolve()
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    supervisor = Supervisor(StackConfig.load(directory))
    signal.signal(signal.SIGTERM, lambda *_: supervisor.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: supervisor.stopping.set())
    try:
        supervisor.start_all()
    except Exception as exc:  # noqa: BLE001 - report any start failure, then clean up
        log.error("stack failed to start: %s", exc)
        supervisor.error = str(exc)
        supervisor.state = "failed"
        supervisor.write()
        supervisor.stop_all()
        supervisor.state = "failed"
        supervisor.write()
        sys.exit(1)
    supervisor.watch()
    supervisor.stop_all()


if __name__ == "__main__":
    main()
