"""Shared by the Prometheus tests: a real Prometheus process on a free port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.process import free_port, stop_pid


@contextmanager
def prometheus_process(base: Path, config: str) -> Iterator[str]:
    """Start ``prometheus`` with ``config`` (YAML text) and its data under ``base``; yield
    its URL; stop it by its pid on exit (also when the caller's readiness wait fails)."""
    (base / "prometheus.yml").write_text(config)
    port = free_port()
    with open(base / "prometheus.log", "wb") as log:
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={base / 'prometheus.yml'}",
             f"--storage.tsdb.path={base / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_pid(proc.pid)
        proc.wait()
