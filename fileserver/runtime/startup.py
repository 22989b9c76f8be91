"""Start-up steps of a function process, run before its first request (docs/wiring.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, request

from fileserver.runtime.app import HEALTH_PATH, METRICS_PATH


def on_first_request(app: Flask, *steps: Callable[[], Any]) -> Flask:
    """Run ``steps`` in order, once per process, before the first request that is not a
    health or metrics probe: not at import (tests load handlers with no database) and not in
    the probes (a function with its database down still answers ``/healthz``). A step that
    raises fails that request (the app's error handlers answer it, e.g. 503 when the database
    is down) and runs again before the next one; the steps done stay done."""
    pending = list(steps)
    lock = threading.Lock()

    @app.before_request
    def _start_process() -> None:
        if not pending or request.path in (HEALTH_PATH, METRICS_PATH):
            return
        with lock:
            while pending:
                pending[0]()
                pending.pop(0)

    return app
