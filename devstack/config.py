"""The local stack's configuration: data directory, ports and what to run.

Defaults avoid ports that are often taken (5432, 4222, 27017); every port can be set with an
environment variable (``STACK_<NAME>_PORT``), and tests take free ports with ``free()``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from devstack.process import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
PRODUCT_FUNCTIONS = REPO_ROOT / "functions"  # what stack.yml deploys
# Functions that are not the product's (echo, the benchmarks' baseline): started only by name.
BENCH_FUNCTIONS = REPO_ROOT / "bench" / "functions"
WATCHDOG_UPSTREAM_OFFSET = 32
WATCHDOG_METRICS_PORT = 8081  # of-watchdog 0.11.6: fixed, no setting moves it
PORT_FIELDS = ("gateway", "postgres", "nats", "nats_monitor", "mongo", "drive", "prometheus",
               "functions_base", "replicator_metrics", "drive_usercontent")


@dataclass
class StackConfig:
    dir: Path
    gateway: int = 8080
    postgres: int = 15432
    nats: int = 14222
    nats_monitor: int = 18222
    mongo: int = 27117
    drive: int = 19070
    drive_usercontent: int = 19071  # the emulator's drive.usercontent.google.com host
    prometheus: int = 19090
    functions_base: int = 18100
    replicator_metrics: int = 18190
    functions: list[str] | None = None  # None: every folder in functions/ (not bench's)
    workers: bool = True
    prometheus_enabled: bool = True
    mongo_url: str | None = None  # a real MongoDB: do not start the wire server
    queue_max_retries: int = 0
    queue_max_inflight: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    # Tests: the stack stops itself when this process is gone (no orphans after a crash).
    owner_pid: int | None = None
    # Ports were picked by free(): on a port clash, up() may pick again.
    auto_ports: bool = False
    # The real of-watchdog binary (STACK_WATCHDOG): run watchdog_functions (None: every
    # function) behind it, as their image does (devstack.watchdog), each in network and PID
    # namespaces of its own (devstack.netns_relay): of-watchdog 0.11.6 binds its metrics to
    # :8081 whatever it is told, so one watchdog per network namespace, as in OpenFaaS.
    watchdog: str | None = None
    watchdog_functions: list[str] | None = None

    @classmethod
    def from_env(cls, directory: Path | None = None) -> StackConfig:
        base = directory or Path(os.environ.get("STACK_DIR", REPO_ROOT / ".stack"))
        config = cls(dir=base.resolve())
        for name in PORT_FIELDS:
            raw = os.environ.get(f"STACK_{name.upper()}_PORT")
            if raw:
                setattr(config, name, int(raw))
        config.mongo_url = os.environ.get("MONGO_URL") or None
        if os.environ.get("STACK_WATCHDOG"):  # a relative path: from where `up` is run
            config.watchdog = os.path.abspath(os.environ["STACK_WATCHDOG"])
        if os.environ.get("STACK_WATCHDOG_FUNCTIONS"):
            config.watchdog_functions = os.environ["STACK_WATCHDOG_FUNCTIONS"].split(",")
        config.queue_max_retries = int(os.environ.get("QUEUE_MAX_RETRIES", "0"))
        config.queue_max_inflight = int(os.environ.get("QUEUE_MAX_INFLIGHT", "1"))
        return config

    @classmethod
    def free(cls, directory: Path, **overrides: object) -> StackConfig:
        """Every port free right now: for tests that run beside a developer's stack."""
        config = cls(dir=directory.resolve(), owner_pid=os.getpid(), auto_ports=True,
                     **overrides)  # type: ignore[arg-type]
        config.pick_free_ports()
        return config

    def pick_free_ports(self) -> None:
        for name in PORT_FIELDS:
            setattr(self, name, free_port())
        # Functions take consecutive ports from functions_base (and, behind a watchdog, their
        # watchdog's metrics WATCHDOG_UPSTREAM_OFFSET above): pick a quiet range.
        self.functions_base = _free_range(2 * WATCHDOG_UPSTREAM_OFFSET)

    @property
    def config_path(self) -> Path:
        return self.dir / "config.json"

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["dir"] = str(self.dir)
        self.config_path.write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, directory: Path) -> StackConfig:
        data = json.loads((directory / "config.json").read_text())
        data["dir"] = Path(data["dir"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def function_names(self) -> list[str]:
        """The functions to run: every product function by default, else those named (a
        bench function such as echo only when named)."""
        product = _function_folders(PRODUCT_FUNCTIONS)
        if self.functions is None:
            return product
        present = sorted(set(product) | set(_function_folders(BENCH_FUNCTIONS)))
        missing = set(self.functions) - set(present)
        if missing:
            raise ValueError(f"unknown functions: {sorted(missing)}")
        return [name for name in present if name in self.functions]

    def function_port(self, name: str) -> int:
        return self.functions_base + self.function_names().index(name)

    def behind_watchdog(self, name: str) -> bool:
        return bool(self.watchdog) and (self.watchdog_functions is None
                                        or name in self.watchdog_functions)

    def watchdog_metrics_port(self, name: str) -> int:
        """The host port relayed to the watchdog's own :8081 in the function's namespace
        (inside it, the same number is the function's upstream: another namespace)."""
        return self.function_port(name) + WATCHDOG_UPSTREAM_OFFSET

    def watchdog_ports(self, name: str) -> list[tuple[int, str]]:
        """The other host port a function behind the watchdog uses: its watchdog's metrics."""
        if not self.behind_watchdog(name):
            return []
        return [(self.watchdog_metrics_port(name), "watchdog metrics, relayed from :8081")]


def _free_range(count: int) -> int:
    import socket

    for _ in range(200):
        base = free_port()
        if base + count >= 65535:
            continue
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                socks.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port range found")


def _function_folders(root: Path) -> list[str]:
    return sorted(p.parent.name for p in root.glob("*/handler.py"))


def function_dir(name: str) -> Path:
    """The folder of function ``name``: ``functions/NAME``, else ``bench/functions/NAME``."""
    product = PRODUCT_FUNCTIONS / name
    return product if (product / "handler.py").is_file() else BENCH_FUNCTIONS / name
