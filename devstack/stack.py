"""Control a local stack from the outside: bring it up, read its state, kill parts, bring it down.

Used by the CLI and by the ``live_stack`` test fixture. The stack itself runs in a detached
supervisor process (``devstack.supervisor``), so it outlives the command that started it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from devstack import components, ports
from devstack.config import REPO_ROOT, StackConfig
from devstack.process import StartError, log_tail, pid_alive, stop_pid, wait_until


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.dir = config.dir

    # --- state -----------------------------------------------------------------------------
    @property
    def info_path(self) -> Path:
        return self.dir / "stack.json"

    def info(self) -> dict[str, Any]:
        try:
            return json.loads(self.info_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def supervisor_alive(self) -> bool:
        pid = self.info().get("supervisor_pid")
        return bool(pid) and pid_alive(pid) and self.info().get("state") in ("starting", "ready")

    @property
    def gateway_url(self) -> str:
        return self.info()["gateway_url"]

    @property
    def admin_token(self) -> str:
        return Path(self.info()["admin_token_file"]).read_text().strip()

    @property
    def env(self) -> dict[str, str]:
        """What a client of this stack needs: service URLs and the secrets folder."""
        return dict(self.info()["env"])

    def pid(self, name: str) -> int | None:
        return self.info().get("components", {}).get(name, {}).get("pid")

    def component(self, name: str) -> dict[str, Any]:
        return self.info()["components"][name]

    # --- lifecycle -------------------------------------------------------------------------
    def up(self, clean: bool = False, timeout: float = 180) -> dict[str, Any]:
        if clean and self.dir.exists():
            self.down()
            shutil.rmtree(self.dir)
        if self.supervisor_alive():
            return self.info()
        components.check_watchdog(self.config)
        for attempt in range(3):
            try:
                self.check_ports()
                return self._launch(timeout)
            except StartError as exc:
                clash = "address already in use" in str(exc).lower()
                if not (clash and self.config.auto_ports and attempt < 2):
                    raise
                self.config.pick_free_ports()  # another process took a port: pick again
        raise AssertionError("unreachable")

    def check_ports(self) -> None:
        """Before anything starts: every port the stack will use is free (or PortInUse
        naming the port, its holder and the setting that moves it)."""
        names = [part.name for part in components.build(self.config)]
        try:
            ports.check_free(self.config, names)
        except ports.PortInUse:
            if not self.config.auto_ports:
                raise
            self.config.pick_free_ports()
            ports.check_free(self.config, names)

    def _launch(self, timeout: float) -> dict[str, Any]:
        self.config.save()
        self.info_path.unlink(missing_ok=True)
        log_path = self.dir / "logs" / "supervisor.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "devstack.supervisor", str(self.dir)],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=REPO_ROOT, start_new_session=True, env=os.environ.copy())
        self._wait_ready(proc, log_path, timeout)
        return self.info()

    def _wait_ready(self, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
        def failure() -> str | None:
            info = self.info()
            if info.get("state") == "failed":
                return info.get("error") or "failed"
            if proc.poll() is not None:
                return f"supervisor exited ({proc.returncode})\n{log_tail(log_path)}"
            return None

        try:
            wait_until(lambda: self.info().get("state") == "ready", timeout, failure, 0.1)
        except StartError:
            proc.wait(timeout=60)
            raise

    def down(self, timeout: float = 60) -> None:
        """Stop the supervisor (which stops everything), then anything left, by pid."""
        info = self.info()
        pid = info.get("supervisor_pid")
        if pid and pid_alive(pid):
            stop_pid(pid, signal.SIGTERM, timeout)
        for part in info.get("components", {}).values():
            if part.get("pid") and pid_alive(part["pid"]):
                stop_pid(part["pid"], signal.SIGTERM, 10)

    def pids(self) -> list[int]:
        info = self.info()
        pids = [p["pid"] for p in info.get("components", {}).values() if p.get("pid")]
        return pids + ([info["supervisor_pid"]] if info.get("supervisor_pid") else [])

    # --- faults, for tests -----------------------------------------------------------------
    def hold(self, name: str) -> None:
        """Do not restart ``name`` when it dies, until ``release``."""
        (self.dir / "hold").mkdir(exist_ok=True)
        (self.dir / "hold" / name).touch()

    def release(self, name: str) -> None:
        (self.dir / "hold" / name).unlink(missing_ok=True)

    def kill(self, name: str) -> int:
        """SIGKILL a component by its pid; the supervisor restarts it unless held."""
        pid = self.pid(name)
        if pid is None:
            raise KeyError(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> int:
        wait_until(lambda: (self.pid(name) not in (None, old_pid)
                            and self.info()["state"] == "ready"), timeout)
        new_pid = self.pid(name)
        assert new_pid is not None
        return new_pid


LocalStack = Stack  # the name the CLI first used
