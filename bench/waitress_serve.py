"""The function server before issue 19, for the benchmarks' baselines only.

    python -m bench.waitress_serve functions/NAME --port N
    python -m bench.waitress_serve --gateway FUNCTIONS.json --nats-url URL --port N

Serves a handler's app (or the local gateway) with waitress as ``fileserver.runtime.serve``
and ``devstack.gateway`` did (8 and 32 threads, bodies over 512 KB spooled to a temporary file
before the app runs), so a benchmark can set today's streaming server next to it in the same
run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from waitress import serve

from fileserver.runtime.serve import load_handler_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("function_dir", type=Path, nargs="?")
    parser.add_argument("--gateway", type=Path, help="serve devstack.gateway with this registry")
    parser.add_argument("--nats-url")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    if args.gateway:
        from devstack.gateway import FunctionRegistry, Gateway, async_stream_config
        from devstack.natsbridge import NatsBridge

        bridge = NatsBridge(args.nats_url) if args.nats_url else None
        if bridge:
            bridge.ensure_stream(async_stream_config())
        app, threads = Gateway(FunctionRegistry(args.gateway), bridge), 32
    else:
        app, threads = load_handler_app(args.function_dir.resolve()), 8
    serve(app, host=args.host, port=args.port, threads=threads,
          max_request_body_size=1 << 40, channel_timeout=600, ident=None,
          clear_untrusted_proxy_headers=False)


if __name__ == "__main__":
    main()
