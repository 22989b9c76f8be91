"""The function server before issue 19, for the benchmarks' baselines only.

    python -m bench.waitress_serve functions/NAME --port N

Serves a handler's app with waitress as ``fileserver.runtime.serve`` did (8 threads, bodies
over 512 KB spooled to a temporary file before the app runs), so a benchmark can set today's
streaming server next to it in the same run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from waitress import serve

from fileserver.runtime.serve import load_handler_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("function_dir", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    app = load_handler_app(args.function_dir.resolve())
    serve(app, host=args.host, port=args.port, threads=args.threads,
          max_request_body_size=1 << 40, channel_timeout=600, ident=None,
          clear_untrusted_proxy_headers=False)


if __name__ == "__main__":
    main()
