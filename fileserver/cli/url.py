"""``fileserver url ID [--download [--out PATH]]``: a download URL, optionally fetched and
checked against the file's sha256 and md5."""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import requests

from fileserver.cli.context import Context
from fileserver.cli.errors import EXIT_ERROR, EXIT_USAGE, EXIT_VERIFY, CliError, unreachable
from fileserver.cli.progress import BLOCK, MB


def run(ctx: Context, args: argparse.Namespace) -> None:
    if not args.download:
        got = ctx.client.call("GET", "get-url", params={"id": args.id})
        ctx.emit(got, got["url"])
        return
    file = ctx.client.call("GET", "files", f"/{args.id}")
    out = Path(args.out) if args.out else Path(file["name"])
    if not args.out and out.exists():  # an explicit --out may overwrite, like curl -o
        raise CliError(f"{out} already exists here; pass --out PATH", EXIT_USAGE)
    got = ctx.client.call("GET", "get-url", params={"id": args.id})
    result = download(ctx, got["url"], file, out)
    seconds = max(result["seconds"], 1e-6)
    ctx.emit({**got, **result}, f"saved {out} ({result['bytes'] / MB:.1f} MB in {seconds:.1f}s, "
                                f"{result['bytes'] / MB / seconds:.1f} MB/s) from account "
                                f"{got['account_id']}: sha256 and md5 match")


def download(ctx: Context, url: str, file: dict[str, Any], out: Path) -> dict[str, Any]:
    """Stream ``url`` into ``out`` (through ``out.part``, renamed only once the hashes match)."""
    part = out.with_name(out.name + ".part")
    started = time.monotonic()
    try:
        sha256, md5, count = _fetch(ctx, url, file, part)
        _verify(file, sha256, md5, count)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, out)
    return {"path": str(out), "bytes": count, "sha256": sha256, "md5": md5,
            "seconds": time.monotonic() - started}


def _fetch(ctx: Context, url: str, file: dict[str, Any], part: Path) -> tuple[str, str, int]:
    sha256, md5, count = hashlib.sha256(), hashlib.md5(), 0
    progress = ctx.progress(file["name"], file["size"])
    try:
        with requests.get(url, stream=True, timeout=(10, 300)) as resp, open(part, "wb") as sink:
            if resp.status_code >= 400:
                raise CliError(f"Drive answered {resp.status_code} for {url}", EXIT_ERROR)
            for block in resp.iter_content(BLOCK):
                sha256.update(block)
                md5.update(block)
                sink.write(block)
                count += len(block)
                progress.update(len(block))
    except requests.RequestException as exc:
        raise unreachable(url, exc) from None
    finally:
        progress.close()
    return sha256.hexdigest(), md5.hexdigest(), count


def _verify(file: dict[str, Any], sha256: str, md5: str, count: int) -> None:
    if count != file["size"] or sha256 != file["sha256"] or md5 != file["md5"]:
        raise CliError(f"downloaded bytes do not match {file['name']}: {count} bytes, "
                       f"sha256 {sha256} (expected {file['size']} bytes, sha256 "
                       f"{file['sha256']}); nothing saved", EXIT_VERIFY)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("url", parents=[common], help="a download URL (balanced over the accounts)")
    p.add_argument("id")
    p.add_argument("--download", action="store_true",
                   help="fetch it with a progress bar and check sha256 and md5")
    p.add_argument("--out", metavar="PATH", help="where --download saves (default: the "
                                                 "file's name in the current folder)")
    p.set_defaults(run=run)
