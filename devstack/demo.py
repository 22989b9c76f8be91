"""The demo of the main job, on the running local stack (``make run`` runs it after ``up``).

Every step is a ``fileserver`` command, printed as an operator types it and run in-process
through the CLI's ``main`` (it finds the local stack's gateway and token by itself):

1. registers Drive accounts (emulated ones: the emulator hands out service-account keys and
   OAuth users' authorized_user credentials; `accounts ls` shows kind, storage and state),
2. uploads files of several sizes (answered at once with ``status: "replicating"``) and
   follows replication account by account until every file is ``uploaded``,
3. hands out download URLs (balanced over the accounts) and downloads one to check its hashes,
   then downloads a file above Google's virus-scan threshold (100 MB) with plain ``curl -L``
   through the download redirector and checks its sha-256 (the bare ``/uc`` link of the same
   file saves Google's HTML warning page instead),
4. shows the precomputed reports (files, accounts, summary) once Stats has counted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from devstack.config import StackConfig
from devstack.stack import Stack
from fileserver.cli.main import main as fileserver

MB = 1_000_000  # the CLI and the reports count in powers of 1000
SIZES_MB = (1, 5, 20)


def run(*args: str) -> None:
    """Print the command as typed, run it; stop the demo with its exit code if it fails."""
    print(f"\n$ fileserver {shlex.join(args)}", flush=True)
    code = fileserver(list(args))
    if code:
        sys.exit(code)


def quiet(*args: str) -> Any:
    """Run a command with ``--json`` and return its result without printing it."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = fileserver(["--json", *args])
    if code:
        sys.exit(code)
    return json.loads(out.getvalue())


def register_accounts(emulator: str, count: int, keys: Path) -> None:
    active = [a for a in quiet("accounts", "ls") if a["state"] == "active"]
    for n in range(len(active), count):
        email = f"demo-{n + 1}-{secrets.token_hex(3)}@fileserver-demo.iam.gserviceaccount.com"
        # a service account from before the 2025 cutoff: it owns the files it stores; every
        # second one an OAuth user (authorized_user), the kind most deployments use today
        body = {"email": email, "legacy": True} if n % 2 == 0 else {
            "kind": "user", "email": f"demo-{n + 1}-{secrets.token_hex(3)}@gmail.example.org"}
        resp = requests.post(f"{emulator}/_emulator/accounts", json=body, timeout=30)
        resp.raise_for_status()
        key = keys / f"demo-{n + 1}.json"
        key.write_text(json.dumps(resp.json()))
        run("accounts", "add", str(key.relative_to(Path.cwd())), "--name", f"demo {n + 1}")
    run("accounts", "ls")


def make_files(sizes: tuple[int, ...] = SIZES_MB) -> list[Path]:
    paths = []
    for size in sizes:
        path = Path(f"demo-{size}MB.bin")
        with open(path, "wb") as out:
            for _ in range(size):
                out.write(os.urandom(MB))
        paths.append(path)
    return paths


def shell(*args: str) -> bytes:
    """Print a shell command as typed and run it; its stdout."""
    print(f"\n$ {shlex.join(args)}", flush=True)
    return subprocess.run(args, check=True, capture_output=True, timeout=300).stdout


def large_file_with_curl(size_mb: int, timeout: float, gateway: str, emulator: str) -> int:
    """Upload a file above the virus-scan threshold, then ``curl -L`` it through the
    redirector and check its sha-256; answer the downloads booked (0 when curl is absent)."""
    if shutil.which("curl") is None:
        print("  (curl is not installed: skipping the large-file download)")
        return 0
    [path] = make_files((size_mb,))
    run("upload", str(path), "--wait", "--timeout", str(timeout))
    file = quiet("files", "show", file_ids([path])[path.name])
    drive_id = next(r["drive_file_id"] for r in file["replicas"]["accounts"]
                    if r["state"] == "ready")
    page = shell("curl", "-sSL", f"{emulator}/uc?id={drive_id}&export=download")
    print(f"  the bare /uc link saved {len(page)} bytes of HTML: "
          f"{'the virus-scan warning page' if b'scan this file' in page else page[:80]!r}")
    shell("curl", "-sSL", "-o", path.name + ".curl",
          f"{gateway}/function/download/{file['id']}/{path.name}")
    digest = hashlib.sha256(Path(path.name + ".curl").read_bytes()).hexdigest()
    same = digest == file["sha256"]
    print(f"  sha-256 {digest[:16]}... {'matches' if same else 'DIFFERS from'} the upload's")
    if not same:
        sys.exit("curl through the redirector saved different bytes")
    return 1


def file_ids(paths: list[Path]) -> dict[str, str]:
    """The newest file of each name (the ones this run uploaded)."""
    names = {p.name for p in paths}
    ids: dict[str, str] = {}
    for file in quiet("files", "ls"):  # newest first
        if file["name"] in names and file["name"] not in ids:
            ids[file["name"]] = file["id"]
    return ids


def hand_out_urls(name: str, file_id: str, count: int) -> None:
    accounts = [quiet("url", file_id)["account_id"][:8] for _ in range(count)]
    print(f"  {count} x `fileserver url {file_id[:8]}...` ({name}) went to accounts: "
          f"{' '.join(accounts)}")


def total_downloads() -> int:
    return sum(row["downloads"] for row in quiet("report", "accounts"))


def summary_caught_up() -> bool:
    """The summary is refreshed right after each batch is stored: a moment behind the rows."""
    today = sum(row["bytes_today"] for row in quiet("report", "accounts"))
    return quiet("report", "summary")["projection"]["bytes_today"] == today


def wait_counted(expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while total_downloads() < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    while not summary_caught_up() and time.monotonic() < deadline:
        time.sleep(0.5)
    print(f"  {total_downloads()} downloads counted (expected {expected})")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--urls", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--large-mb", type=int, default=101,
                        help="size of the file fetched with curl -L through the redirector "
                             "(above Google's 100 MB virus-scan threshold; 0 skips it)")
    return parser.parse_args(argv)


def demo(args: argparse.Namespace, info: dict[str, Any], folder: Path) -> None:
    print("1. Drive accounts (Uploader, MongoDB)")
    (folder / "keys").mkdir()
    register_accounts(info["components"]["drive-emulator"]["url"], args.accounts,
                      folder / "keys")
    print("\n2. Upload (GridFS at once, answered 'replicating'), then replication: upload once, "
          "server-side copies to every account")
    paths = make_files()
    run("upload", *map(str, paths), "--wait", "--timeout", str(args.timeout))
    ids = file_ids(paths)
    run("files", "show", ids[paths[-1].name])
    print("\n3. Download URLs (Downloader, PostgreSQL: balanced over the accounts)")
    before = total_downloads()
    for path in paths:
        hand_out_urls(path.name, ids[path.name], args.urls)
    run("url", ids[paths[-1].name], "--download", "--out", "downloaded.bin")
    same = Path("downloaded.bin").read_bytes() == paths[-1].read_bytes()
    print(f"  downloaded.bin is {'identical to' if same else 'DIFFERENT from'} {paths[-1]}")
    if not same:
        sys.exit("downloaded bytes differ from the upload")
    booked = args.urls * len(paths) + 1
    if args.large_mb:
        print("\n   A large file with plain curl through the download redirector "
              "(302 to the replica's link that skips Google's virus-scan page)")
        booked += large_file_with_curl(args.large_mb, args.timeout, info["gateway_url"],
                                       info["components"]["drive-emulator"]["url"])
    print("\n4. Reports (events queued to Stats, precomputed by the Downloader)")
    wait_counted(before + booked, 60)
    for kind in ("files", "accounts", "summary"):
        run("report", kind)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    stack = Stack(StackConfig.from_env())
    info = stack.info()
    if info.get("state") != "ready":
        sys.exit("the local stack is not running: make up")
    print(f"gateway {stack.gateway_url}   Drive emulator "
          f"{info['components']['drive-emulator']['url']}\n")
    home = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="fileserver-demo-") as folder:
        os.chdir(folder)
        try:
            demo(args, info, Path(folder))
        finally:
            os.chdir(home)
    prometheus = info["components"].get("prometheus", {}).get("url")
    if prometheus:
        print(f"\nmetrics: {prometheus}/graph (e.g. sum by (function) "
              f"(rate(fileserver_http_requests_total[1m])))")
    print("\ndemo done. `make status` shows the stack, `make down` stops it.")


if __name__ == "__main__":
    main()
