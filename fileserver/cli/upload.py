"""``fileserver upload PATH... [--wait]``: stream files to ``upload-file``, then follow them."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from fileserver.cli.context import Context
from fileserver.cli.errors import EXIT_UNAVAILABLE, EXIT_USAGE, CliError
from fileserver.cli.progress import MB, FileBody
from fileserver.cli.replication import wait_uploaded

UPLOAD_TIMEOUT = (10, 3600)  # connect, then read: the answer comes once GridFS holds it all


def check_paths(paths: list[str]) -> list[Path]:
    """Every path is a readable regular file, before anything is sent."""
    checked = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise CliError(f"not a file: {raw}", EXIT_USAGE)
        try:
            path.open("rb").close()
        except OSError as exc:
            raise CliError(f"cannot read {raw}: {exc.strerror}", EXIT_USAGE) from None
        checked.append(path)
    return checked


def upload_one(ctx: Context, path: Path) -> dict[str, Any]:
    body = FileBody(path, ctx.progress(path.name, path.stat().st_size))
    started = time.monotonic()
    try:
        stored = ctx.client.call("POST", "upload-file", params={"name": path.name}, data=body,
                                 headers={"Content-Type": "application/octet-stream"},
                                 timeout=UPLOAD_TIMEOUT)
    finally:
        body.progress.close()  # ends the bar's line, also before an error message
    took = max(time.monotonic() - started, 1e-6)
    ctx.say(f"uploaded {stored['name']} ({body.size / MB:.1f} MB in {took:.1f}s, "
            f"{body.size / MB / took:.1f} MB/s) -> id {stored['id']}, status {stored['status']}")
    return stored


def check_accounts(ctx: Context, largest: int) -> None:
    """``--wait`` would wait for ever without an active account with room: say so at once."""
    accounts = ctx.client.list_all("drive-accounts")
    active = [a for a in accounts if a["state"] == "active"]
    hint = "(`fileserver accounts add KEY.json`; `fileserver accounts ls` shows each state)"
    if not active:
        states = ", ".join(f"{a['email']} {a['state']}" for a in accounts) or "none registered"
        raise CliError(f"no active Drive account to replicate to ({states}) {hint}",
                       EXIT_UNAVAILABLE)
    rooms = [(a.get("storage") or {}).get("free_bytes") for a in active]
    if all(room is not None and room < largest for room in rooms):
        raise CliError(f"no active Drive account has room for {largest / MB:.1f} MB (most "
                       f"free: {max(rooms) / MB:.1f} MB) {hint}", EXIT_UNAVAILABLE)


def run(ctx: Context, args: argparse.Namespace) -> None:
    paths = check_paths(args.paths)
    if args.wait:
        check_accounts(ctx, max(path.stat().st_size for path in paths))
    stored = [upload_one(ctx, path) for path in paths]
    if args.wait:
        ctx.say(f"waiting for replication of {len(stored)} file(s) ...")
        stored = wait_uploaded(ctx, stored, args.timeout)
        ctx.say("every file is uploaded on every account that can hold it")
    if ctx.json:
        ctx.emit(stored, "")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("upload", parents=[common], help="upload files (streamed, with progress)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--wait", action="store_true",
                   help="follow replication account by account until 'uploaded'")
    p.add_argument("--timeout", type=float, default=1800,
                   help="seconds --wait waits at most (default 1800)")
    p.set_defaults(run=run)
