"""``fileserver link ID [--expires 1h]``: a signed download link that stops working after
``--expires`` (needs the admin token and signed links on: the secret download-link-secret)."""

from __future__ import annotations

import argparse
import re

from fileserver.cli.context import Context
from fileserver.cli.errors import EXIT_USAGE, CliError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_lifetime(text: str) -> int:
    """``90`` or ``90s``, ``30m``, ``1h``, ``7d`` → seconds (at least 1)."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text.lower())
    if not found or int(found.group(1)) < 1:
        raise CliError(f"--expires: {text!r} is not a duration like 90s, 30m, 1h or 7d",
                       EXIT_USAGE)
    return int(found.group(1)) * UNITS[found.group(2) or "s"]


def run(ctx: Context, args: argparse.Namespace) -> None:
    made = ctx.client.call("POST", "downloader-sync", "/links",
                           json={"file_id": args.id, "expires_in": parse_lifetime(args.expires)})
    ctx.emit(made, f"{made['url']}\n(valid until {made['expires_at']})")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("link", parents=[common],
                       help="a signed download link that expires (signed links on)")
    p.add_argument("id")
    p.add_argument("--expires", default="1h", metavar="DURATION",
                   help="how long the link works: 90s, 30m, 1h (default), 7d")
    p.set_defaults(run=run)
