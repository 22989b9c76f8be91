"""The processes of the local stack, built from a StackConfig, in start order."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
from pathlib import Path

import requests
import yaml

from devstack import netns_relay
from devstack.config import (
    REPO_ROOT,
    WATCHDOG_METRICS_PORT,
    WATCHDOG_UPSTREAM_OFFSET,
    StackConfig,
    function_dir,
)
from devstack.mongo import MongoWireServer
from devstack.nats import NatsServer
from devstack.postgres import PostgresServer
from devstack.process import ManagedProcess, StartError, pid_alive
from devstack.watchdog import watchdog_env


class AppProcess(ManagedProcess):
    """A Python process of ours (function, gateway, worker) with an HTTP readiness URL."""

    cwd = str(REPO_ROOT)

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str],
                 health_url: str | None, port: int | None = None) -> None:
        super().__init__(log_path, env)
        self.name = name
        self.argv = argv
        self.health_url = health_url
        self.port = port

    def command(self) -> list[str]:
        return self.argv

    def ready(self) -> bool:
        if self.health_url is None:  # no HTTP side: alive is ready
            return self.proc is not None and pid_alive(self.proc.pid)
        return requests.get(self.health_url, timeout=1).status_code == 200


class PrometheusServer(ManagedProcess):
    name = "prometheus"

    def __init__(self, config: StackConfig, targets: dict[str, tuple[str, list[dict]]],
                 log_path: Path) -> None:
        super().__init__(log_path)
        self.config = config
        self.targets = targets
        self.port = config.prometheus

    def prepare(self) -> None:
        base = self.config.dir / "prometheus"
        base.mkdir(parents=True, exist_ok=True)
        # honor_labels: a function's own `function` label wins over the target's (same value),
        # instead of Prometheus renaming it to `exported_function`.
        jobs = [{"job_name": job, "metrics_path": path, "honor_labels": True,
                 "static_configs": statics} for job, (path, statics) in self.targets.items()]
        document = {"global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
                    "scrape_configs": jobs}
        (base / "prometheus.yml").write_text(yaml.safe_dump(document, sort_keys=False))

    def command(self) -> list[str]:
        base = self.config.dir / "prometheus"
        return [shutil.which("prometheus") or "prometheus",
                f"--config.file={base / 'prometheus.yml'}",
                f"--storage.tsdb.path={base / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=7d"]

    def ready(self) -> bool:
        return requests.get(f"http://127.0.0.1:{self.port}/-/ready", timeout=1).status_code == 200


def ensure_secrets(config: StackConfig) -> Path:
    """Create the admin token and the key-encryption key once; keep them across restarts."""
    from cryptography.fernet import Fernet

    folder = config.dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    # Hex, not token_urlsafe: a token starting with "-" reads as an option in
    # `fileserver --token T` (argparse), which failed one CI run in 64.
    for name, make in (("admin-token", lambda: secrets.token_hex(32)),
                       ("key-encryption-key", lambda: Fernet.generate_key().decode())):
        path = folder / name
        if not path.exists():
            path.write_text(make())
            path.chmod(0o600)
    return folder


def service_env(config: StackConfig) -> dict[str, str]:
    """The environment every function and worker of the stack gets."""
    mongo = config.mongo_url or f"mongodb://127.0.0.1:{config.mongo}"
    return {
        "GATEWAY_URL": f"http://127.0.0.1:{config.gateway}",
        "NATS_URL": f"nats://127.0.0.1:{config.nats}",
        "MONGO_URL": mongo,
        "MONGO_DB": "fileserver",
        "POSTGRES_URL": f"postgresql+psycopg2://postgres@127.0.0.1:{config.postgres}/fileserver",
        "DRIVE_API_ROOT": f"http://127.0.0.1:{config.drive}/",
        "DRIVE_USERCONTENT_ROOT": f"http://127.0.0.1:{config.drive_usercontent}/",
        "SECRETS_DIR": str(config.dir / "secrets"),
        "PYTHONUNBUFFERED": "1",
        **config.extra_env,
    }


def has_drive_emulator() -> bool:
    return (REPO_ROOT / "emulators" / "drive" / "__main__.py").exists()


def has_replicator() -> bool:
    return (REPO_ROOT / "workers" / "replicator" / "__main__.py").exists()


def build(config: StackConfig) -> list[ManagedProcess]:
    """Every component, in the order they start (and the reverse of how they stop)."""
    logs = config.dir / "logs"
    env = service_env(config)
    py = sys.executable
    parts: list[ManagedProcess] = [
        PostgresServer(config.dir / "postgres", config.postgres, logs / "postgres.log"),
        NatsServer(config.dir / "nats", config.nats, config.nats_monitor, logs / "nats.log"),
    ]
    if not config.mongo_url:
        parts.append(MongoWireServer(config.dir / "mongo", config.mongo, logs / "mongo.log"))
    if has_drive_emulator():
        parts.append(AppProcess(
            "drive-emulator", [py, "-m", "emulators.drive", "--host", "127.0.0.1", "--port",
                               str(config.drive), "--usercontent-port",
                               str(config.drive_usercontent), "--data-dir",
                               str(config.dir / "drive")],
            logs / "drive-emulator.log", env, f"http://127.0.0.1:{config.drive}/_emulator/health",
            config.drive))
    for name in config.function_names():
        parts.append(function_process(config, name, env, logs))
    gateway_url = env["GATEWAY_URL"]
    parts.append(AppProcess(
        "gateway", [py, "-m", "devstack.gateway", "--port", str(config.gateway), "--functions",
                    str(config.dir / "functions.json"), "--nats-url", env["NATS_URL"]],
        logs / "gateway.log", env, f"{gateway_url}/healthz", config.gateway))
    parts.append(AppProcess(
        "queue-worker", [py, "-m", "devstack.queue_worker", "--nats-url", env["NATS_URL"],
                         "--gateway", gateway_url, "--max-retries", str(config.queue_max_retries),
                         "--max-inflight", str(config.queue_max_inflight)],
        logs / "queue-worker.log", env, None))
    if config.workers and has_replicator():
        port = config.replicator_metrics
        parts.append(AppProcess(
            "replicator", [py, "-m", "workers.replicator"], logs / "replicator.log",
            {**env, "METRICS_PORT": str(port)}, f"http://127.0.0.1:{port}/healthz", port))
    if config.prometheus_enabled and shutil.which("prometheus"):
        parts.append(PrometheusServer(config, scrape_targets(config), logs / "prometheus.log"))
    return parts


def function_process(config: StackConfig, name: str, env: dict[str, str],
                     logs: Path) -> AppProcess:
    """A function's process: the runtime itself, or the real of-watchdog in front of it
    (``config.watchdog``), started with its image's environment (devstack.watchdog) in
    namespaces of its own behind a relay (devstack.netns_relay), as its container would be."""
    port = config.function_port(name)
    health = f"http://127.0.0.1:{port}/healthz"  # through the watchdog: the function answers
    if not config.behind_watchdog(name):
        return AppProcess(
            name, [sys.executable, "-m", "fileserver.runtime.serve", str(function_dir(name)),
                   "--port", str(port)], logs / f"{name}.log", {**env, "FUNCTION_NAME": name},
            health, port)
    lock_dir = config.dir / "watchdog" / name
    lock_dir.mkdir(parents=True, exist_ok=True)
    # Inside its namespace the watchdog listens on the function's own port number, its
    # upstream WATCHDOG_UPSTREAM_OFFSET above, and its metrics on the fixed :8081.
    upstream = port + WATCHDOG_UPSTREAM_OFFSET
    wd_env = watchdog_env(name, function_dir(name), port, upstream,
                          WATCHDOG_METRICS_PORT, lock_dir)
    # The stack's own addresses and secrets folder win over stack.yml's faasd ones.
    fn_env = {**wd_env, **env}
    services = {k: v for k, v in fn_env.items() if k not in ("fprocess", "upstream_url")}
    outbound = relayed_ports(services, taken={port, upstream, WATCHDOG_METRICS_PORT})
    argv = [sys.executable, "-m", "devstack.netns_relay", "--inbound", f"{port}:{port}",
            "--inbound", f"{config.watchdog_metrics_port(name)}:{WATCHDOG_METRICS_PORT}",
            *[f"--outbound={p}" for p in outbound], "--netns-file", str(lock_dir / "netns"),
            "--", str(config.watchdog)]
    return AppProcess(name, argv, logs / f"{name}.log", fn_env, health, port)


def relayed_ports(env: dict[str, str], taken: set[int]) -> list[int]:
    """The loopback ports the services in ``env`` listen on (``127.0.0.1:N`` or
    ``localhost:N`` in any value), which a function's namespace relays to the host; a
    StartError if one is a port the watchdog itself uses inside."""
    found = sorted({int(port) for value in env.values()
                    for port in re.findall(r"(?:127\.0\.0\.1|localhost):(\d+)", value)})
    clash = sorted(set(found) & taken)
    if clash:
        raise StartError(f"port(s) {clash} of the stack's services are used by the watchdog "
                         f"inside each function's namespace (of-watchdog 0.11.6 always takes "
                         f"{WATCHDOG_METRICS_PORT} for its metrics): move them with their "
                         f"STACK_*_PORT setting")
    return found


def check_watchdog(config: StackConfig) -> None:
    """With STACK_WATCHDOG set: the binary is there and this user may create network
    namespaces (devstack.netns_relay), else StartError at once, before anything starts."""
    if not config.watchdog:
        return
    if not os.access(config.watchdog, os.X_OK):
        raise StartError(f"STACK_WATCHDOG={config.watchdog}: no executable file there")
    reason = netns_relay.unavailable_reason()
    if reason:
        raise StartError(
            f"STACK_WATCHDOG runs each function's watchdog in a network namespace of its own "
            f"(of-watchdog 0.11.6 always binds :{WATCHDOG_METRICS_PORT}), which needs Linux "
            f"and CAP_SYS_ADMIN (root); here: {reason}. Unset STACK_WATCHDOG to run the "
            f"functions without the watchdog.")


def scrape_targets(config: StackConfig) -> dict[str, tuple[str, list[dict]]]:
    """Prometheus jobs: metrics path and static configs, each target labelled by name."""
    functions = [{"targets": [f"127.0.0.1:{config.function_port(n)}"], "labels": {"function": n}}
                 for n in config.function_names()]
    targets = {"functions": ("/_/metrics", functions),
               "gateway": ("/metrics", [{"targets": [f"127.0.0.1:{config.gateway}"]}])}
    watchdogs = [{"targets": [f"127.0.0.1:{config.watchdog_metrics_port(n)}"],
                  "labels": {"function": n}}
                 for n in config.function_names() if config.behind_watchdog(n)]
    if watchdogs:  # each watchdog's own :8081, relayed from its namespace
        targets["watchdog"] = ("/metrics", watchdogs)
    if config.workers and has_replicator():
        replicator = f"127.0.0.1:{config.replicator_metrics}"
        targets["replicator"] = ("/metrics", [{"targets": [replicator],
                                               "labels": {"worker": "replicator"}}])
    return targets


def function_urls(config: StackConfig) -> dict[str, str]:
    return {n: f"http://127.0.0.1:{config.function_port(n)}" for n in config.function_names()}
