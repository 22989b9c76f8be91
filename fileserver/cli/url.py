"""``fileserver url ID [--download [--out PATH] | --metalink [--out PATH]]``: a download URL;
or the file fetched through the download redirector (resumed with Range, failing over to the
other holders) and checked against its sha256 and md5; or the redirector's Metalink."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from fileserver.cli.context import Context
from fileserver.cli.errors import (
    EXIT_ERROR,
    EXIT_USAGE,
    EXIT_VERIFY,
    CliError,
    api_error,
    unreachable,
)
from fileserver.cli.progress import MB
from fileserver.cli.resume import Transfer, duplicate_links, fetch


def run(ctx: Context, args: argparse.Namespace) -> None:
    if args.metalink:
        save_metalink(ctx, args)
    elif args.download:
        download_file(ctx, args)
    else:
        got = ctx.client.call("GET", "get-url", params={"id": args.id})
        ctx.emit(got, got["url"])


def download_file(ctx: Context, args: argparse.Namespace) -> None:
    file = ctx.client.call("GET", "files", f"/{args.id}")
    out = Path(args.out) if args.out else Path(file["name"])
    if not args.out and out.exists():  # an explicit --out may overwrite, like curl -o
        raise CliError(f"{out} already exists here; pass --out PATH", EXIT_USAGE)
    sources, account = redirect(ctx, file)
    result = download(ctx, sources, file, out)
    seconds = max(result["seconds"], 1e-6)
    ctx.emit({"file_id": file["id"], "account_id": account, "url": sources[0], **result},
             f"saved {out} ({result['bytes'] / MB:.1f} MB in {seconds:.1f}s, "
             f"{result['bytes'] / MB / seconds:.1f} MB/s) from account "
             f"{account}: sha256 and md5 match")


def redirector_url(ctx: Context, file: dict[str, Any]) -> str:
    return ctx.client.url("download", f"/{quote(file['id'])}/{quote(file['name'])}")


def redirect(ctx: Context, file: dict[str, Any]) -> tuple[list[str], str | None]:
    """Ask the redirector (one booked download): its Location, then the duplicates."""
    url = redirector_url(ctx, file)
    try:
        resp = ctx.client.http.get(url, allow_redirects=False, timeout=ctx.client.timeout)
    except requests.RequestException as exc:
        raise unreachable(url, exc) from None
    if resp.status_code != 302 or "Location" not in resp.headers:
        raise api_error(resp, ctx.client.has_token)
    return [resp.headers["Location"], *duplicate_links(resp.headers)], \
        resp.headers.get("X-Account-Id")


def download(ctx: Context, sources: list[str], file: dict[str, Any], out: Path) -> dict[str, Any]:
    """Fetch into ``out.part`` (resuming what an earlier run left there), rename it to ``out``
    once size and hashes match; a hash mismatch deletes the part, an interruption keeps it."""
    transfer = Transfer(out.with_name(out.name + ".part"), file["size"])
    transfer.load()
    started = time.monotonic()
    progress = ctx.progress(file["name"], file["size"])
    try:
        used = fetch(sources, transfer, progress)
    finally:
        progress.close()
    if used is None:
        raise CliError(f"download of {file['name']} failed from every source "
                       f"({'; '.join(transfer.refusals[-3:])}); {transfer.part} keeps "
                       f"{transfer.done} bytes for the next try", EXIT_ERROR)
    sha256, md5 = transfer.sha256.hexdigest(), transfer.md5.hexdigest()
    if transfer.done != file["size"] or sha256 != file["sha256"] or md5 != file["md5"]:
        transfer.part.unlink(missing_ok=True)
        raise CliError(f"downloaded bytes do not match {file['name']}: {transfer.done} bytes, "
                       f"sha256 {sha256} (expected {file['size']} bytes, sha256 "
                       f"{file['sha256']}); nothing saved", EXIT_VERIFY)
    os.replace(transfer.part, out)
    return {"path": str(out), "bytes": transfer.done, "sha256": sha256, "md5": md5,
            "seconds": time.monotonic() - started, "source": used}


def save_metalink(ctx: Context, args: argparse.Namespace) -> None:
    """The redirector's Metalink 4 for the file (every holder, size, sha-256), saved."""
    file = ctx.client.call("GET", "files", f"/{args.id}")
    url = redirector_url(ctx, file)
    try:
        resp = ctx.client.http.get(url, params={"metalink": ""}, timeout=ctx.client.timeout)
    except requests.RequestException as exc:
        raise unreachable(url, exc) from None
    if resp.status_code != 200:
        raise api_error(resp, ctx.client.has_token)
    out = Path(args.out or f"{file['name']}.meta4")
    out.write_bytes(resp.content)
    ctx.emit({"file_id": file["id"], "path": str(out), "bytes": len(resp.content)},
             f"saved {out}: a Metalink 4 of {file['name']} (e.g. aria2c --metalink-file {out})")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("url", parents=[common], help="a download URL (balanced over the accounts)")
    p.add_argument("id")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--download", action="store_true",
                      help="fetch it through the download redirector with a progress bar, "
                           "resuming (Range) and failing over; check sha256 and md5")
    mode.add_argument("--metalink", action="store_true",
                      help="save the redirector's Metalink 4 (every holder, size, sha-256)")
    p.add_argument("--out", metavar="PATH", help="where --download or --metalink saves "
                                                 "(default: the file's name, or NAME.meta4)")
    p.set_defaults(run=run)
