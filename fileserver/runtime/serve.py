"""Serve one function: ``python -m fileserver.runtime.serve functions/NAME [--port N]``.

Loads ``functions/NAME/handler.py`` (which defines ``app``) and serves it with waitress, the
WSGI server also used inside the OpenFaaS image behind of-watchdog. waitress spools request
bodies over 512 KB to a temporary file, so a large upload never sits in memory.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from pathlib import Path

from flask import Flask


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("function_dir", type=Path)
    parser.add_argument("--host", default=os.environ.get("FUNCTION_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("FUNCTION_THREADS", "8")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = load_handler_app(args.function_dir.resolve())
    from waitress import serve

    # Large limits: the function validates sizes itself and answers 413 as JSON.
    serve(app, host=args.host, port=args.port, threads=args.threads,
          max_request_body_size=1 << 40, channel_timeout=600, ident=None,
          clear_untrusted_proxy_headers=False)


if __name__ == "__main__":
    main()
