"""``fileserver``: the operator's command line (console script ``fileserver``).

Exit codes: 0 ok, 1 other API error, 2 usage, 3 auth, 4 not found, 5 conflict,
6 unavailable (daily quotas exhausted, database down), 7 gateway unreachable,
8 verification failed (hash mismatch, replication failed or timed out), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys

from fileserver.cli import accounts, files, link, report, upload, url
from fileserver.cli.client import GatewayClient
from fileserver.cli.context import Context
from fileserver.cli.errors import EXIT_OK, CliError
from fileserver.cli.target import resolve

EXAMPLES = """examples:
  fileserver accounts add key.json --limit-gb 100
  fileserver upload movie.mp4 --wait
  fileserver files ls --status replicating
  fileserver url FILE_ID --download --out movie.mp4
  fileserver link FILE_ID --expires 1h
  fileserver report accounts --json

exit codes: 0 ok, 1 other API error, 2 usage, 3 auth, 4 not found, 5 conflict,
  6 unavailable (quota exhausted: the message says when it resets), 7 gateway unreachable,
  8 verification failed (hash mismatch, replication failed or timed out), 130 interrupted
"""


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command.

    Defaults stay ``SUPPRESS`` (read with ``getattr``): the parsers share these action objects,
    so a default set on one would overwrite a value given before the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--gateway", default=argparse.SUPPRESS,
                        help="gateway URL (default: GATEWAY_URL, the local stack, or "
                             "http://127.0.0.1:8080)")
    common.add_argument("--token", default=argparse.SUPPRESS,
                        help="admin token (default: FILESERVER_ADMIN_TOKEN or the local stack's)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print results as JSON, for scripts")
    common.add_argument("--progress", action="store_true", default=argparse.SUPPRESS,
                        help="draw progress bars on stderr even when it is not a terminal")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(prog="fileserver", parents=[common], epilog=EXAMPLES,
                                     description="Operate a fileserver through its gateway.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (accounts, upload, files, url, link, report):
        module.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    target = resolve(getattr(args, "gateway", None), getattr(args, "token", None))
    ctx = Context(GatewayClient(target), json=getattr(args, "json", False),
                  force_progress=getattr(args, "progress", False))
    try:
        args.run(ctx, args)
    except CliError as exc:
        report_error(ctx, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fileserver: interrupted", file=sys.stderr)
        return 130
    return EXIT_OK


def report_error(ctx: Context, exc: CliError) -> None:
    if ctx.json:
        body = {"error": {"message": exc.message, "exit_code": exc.exit_code, **exc.details}}
        print(json.dumps(body), file=sys.stderr)
    else:
        print(f"fileserver: error: {exc.message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
