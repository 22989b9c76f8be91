"""Serve one function: ``python -m fileserver.runtime.serve functions/NAME [--port N]``.

Loads ``functions/NAME/handler.py`` (which defines ``app``) and serves it with the streaming
server of ``fileserver.runtime.server``, locally and inside the OpenFaaS image behind
of-watchdog: a handler reads the request body as it arrives (no temporary file).

On SIGTERM it drains with the watchdog's own settings, read from the same environment
variables the watchdog reads (stack.yml sets them per function): it keeps serving for
``healthcheck_interval`` (the watchdog forwards SIGTERM at once but routes requests to us
until then), then lets in-flight requests finish for up to ``write_timeout`` (what the
watchdog waits for them itself). Without them (the local stack): 0 s and 30 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import re
import sys
from pathlib import Path

from flask import Flask

from fileserver.runtime.server import serve


def load_handler_app(function_dir: Path) -> Flask:
    handler = function_dir / "handler.py"
    spec = importlib.util.spec_from_file_location(f"functions.{function_dir.name}", handler)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {handler}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    app = getattr(module, "app", None)
    if not isinstance(app, Flask):
        raise SystemExit(f"{handler} must define a Flask `app` (see fileserver.runtime)")
    return app


GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
LOCAL_GRACE_SECONDS = 30.0


def go_duration(text: str) -> float:
    """Seconds in a Go duration (``60m``, ``5m5s``, ``65s``) or a bare number of seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Go duration: {text!r}")
    return sum(float(n) * UNIT_SECONDS[u] for n, u in parts)


def drain_settings(env: dict[str, str]) -> tuple[float, float]:
    """(delay, grace) in seconds from of-watchdog's ``healthcheck_interval`` and
    ``write_timeout``, defaulted as the watchdog defaults them (healthcheck_interval falls
    back to write_timeout); with neither set (no watchdog in front): 0 s and 30 s."""
    if not env.get("write_timeout"):
        return (go_duration(env["healthcheck_interval"]) if env.get("healthcheck_interval")
                else 0.0), LOCAL_GRACE_SECONDS
    grace = go_duration(env["write_timeout"])
    delay = go_duration(env["healthcheck_interval"]) if env.get("healthcheck_interval") else grace
    return delay, grace


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("function_dir", type=Path)
    parser.add_argument("--host", default=os.environ.get("FUNCTION_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--threads", type=int, default=None,
                        help="accepted for older callers and ignored: one thread per connection")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = load_handler_app(args.function_dir.resolve())
    delay, grace = drain_settings(dict(os.environ))
    serve(app, args.host, args.port, delay=delay, grace=grace)
    # Drained (or Ctrl-C): exit now, even if a client library left a non-daemon thread
    # running (NATS, HTTP pools), which would keep the process alive after the watchdog.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
