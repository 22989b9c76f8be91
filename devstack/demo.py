"""The demo of the main job, on the running local stack (``make run`` runs it after ``up``).

1. registers Drive accounts (emulated ones: the emulator hands out service-account keys),
2. uploads files of several sizes (answered at once with ``status: "replicating"``),
3. follows replication account by account until every file is ``uploaded``,
4. hands out download URLs (they rotate over the accounts) and downloads one to check it,
5. shows the precomputed reports (files, accounts, summary) once Stats has counted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
import time
from typing import Any

import requests

from devstack.config import StackConfig
from devstack.stack import Stack

MB = 1024 * 1024


class Api:
    """A thin client of the gateway, with the admin token."""

    def __init__(self, gateway: str, token: str) -> None:
        self.gateway = gateway
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, function: str, path: str = "/", **kwargs: Any) -> Any:
        resp = self.http.request(method, f"{self.gateway}/function/{function}{path}",
                                 timeout=kwargs.pop("timeout", 120), **kwargs)
        if resp.status_code >= 400:
            raise SystemExit(f"{method} {function}{path} -> {resp.status_code}: {resp.text}")
        return resp.json() if resp.content else None


def register_accounts(api: Api, emulator: str, count: int) -> list[dict]:
    existing = api.call("GET", "drive-accounts", params={"limit": 500})["items"]
    active = [a for a in existing if a["state"] == "active"]
    for n in range(len(active), count):
        key = requests.post(f"{emulator}/_emulator/accounts",
                            json={"email": f"demo-{n + 1}-{secrets.token_hex(3)}@"
                                           "fileserver-demo.iam.gserviceaccount.com"},
                            timeout=30)
        key.raise_for_status()
        account = api.call("POST", "drive-accounts", json={"name": f"demo {n + 1}",
                                                           "key": key.json()})
        print(f"  + account {account['email']} (id {account['id'][:8]}, "
              f"limit {account['daily_limit_bytes'] / 1e9:.0f} GB/day)")
        active.append(account)
    print(f"  {len(active)} active Drive accounts")
    return active


def upload(api: Api, name: str, size: int) -> tuple[dict, str]:
    data = os.urandom(size)
    started = time.monotonic()
    stored = api.call("POST", "upload-file", params={"name": name}, data=data,
                      headers={"Content-Type": "application/octet-stream"})
    took = time.monotonic() - started
    print(f"  ^ {name:<14} {size / MB:6.1f} MB -> {stored['status']:<11} in {took:.2f}s "
          f"(id {stored['id'][:8]})")
    return stored, hashlib.sha256(data).hexdigest()


def wait_uploaded(api: Api, files: list[dict], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {f["id"]: f["name"] for f in files}
    while pending and time.monotonic() < deadline:
        line = []
        for file_id, name in list(pending.items()):
            doc = api.call("GET", "files", f"/{file_id}")
            reps = doc["replicas"]
            line.append(f"{name}: {reps['ready']}/{reps['total']}")
            if doc["status"] == "uploaded":
                del pending[file_id]
            elif doc["status"] == "failed":
                raise SystemExit(f"replication of {name} failed")
        print("  ~ " + "   ".join(line), flush=True)
        if pending:
            time.sleep(1)
    if pending:
        raise SystemExit(f"not uploaded after {timeout:.0f}s: {sorted(pending.values())}")
    print("  every file is 'uploaded' on every account")


def hand_out_urls(api: Api, file: dict, sha256: str, count: int) -> None:
    accounts = []
    for _ in range(count):
        got = api.call("GET", "get-url", params={"id": file["id"]})
        accounts.append(got["account_id"][:8])
    print(f"  {count} URLs for {file['name']} rotate over accounts: {' '.join(accounts)}")
    url = got["url"]
    body = requests.get(url, timeout=120)
    body.raise_for_status()
    same = hashlib.sha256(body.content).hexdigest() == sha256
    print(f"  downloaded {len(body.content) / MB:.1f} MB from {url.split('?')[0]} "
          f"(straight from Drive) - sha256 {'matches' if same else 'DIFFERS'}")
    if not same:
        raise SystemExit("downloaded bytes differ from the upload")


def total_downloads(api: Api) -> int:
    return sum(r["downloads"] for r in api.call("GET", "account-stats",
                                                params={"limit": 500})["items"])


def show_reports(api: Api, files: list[dict], expected_total: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while total_downloads(api) < expected_total and time.monotonic() < deadline:
        time.sleep(0.5)
    counted = total_downloads(api)
    print(f"  {counted} downloads counted (expected {expected_total})")
    rows = [api.call("GET", "file-stats", f"/{f['id']}") for f in files]
    print(f"  {'file':<14} {'downloads':>9} {'MB today':>9} {'MB total':>9}")
    for r in rows:
        print(f"  {r['name'][:14]:<14} {r['downloads']:>9} {r['mb_today']:>9.1f} "
              f"{r['mb_total']:>9.1f}")
    accounts = api.call("GET", "account-stats", params={"limit": 50})["items"]
    print(f"\n  {'account':<44} {'downloads':>9} {'MB today':>9} {'% of limit':>10}")
    for r in accounts:
        print(f"  {r['email'][:44]:<44} {r['downloads']:>9} {r['mb_today']:>9.1f} "
              f"{100 * r['share_of_limit_today']:>9.4f}%")
    summary = api.call("GET", "stats-summary")
    balance, capacity = summary["balance"], summary["capacity"]
    print(f"\n  balance today: max/min {balance['max_min_ratio']:.3f}, "
          f"Jain's fairness index {balance['jain_index']:.4f} over {balance['accounts']} accounts")
    print(f"  capacity plan: {capacity['target_monthly_users']:,} users x "
          f"{capacity['target_mb_per_user']} MB/month needs {capacity['accounts_needed_target']} "
          f"accounts at {capacity['account_daily_limit_bytes'] / 1e9:.0f} GB/day "
          f"({capacity['active_accounts']} active, {capacity['accounts_missing_for_target']} "
          f"to add)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--urls", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args(argv)
    stack = Stack(StackConfig.from_env())
    info = stack.info()
    if info.get("state") != "ready":
        sys.exit("the local stack is not running: make up")
    api = Api(stack.gateway_url, stack.admin_token)
    emulator = info["components"]["drive-emulator"]["url"]
    print(f"gateway {stack.gateway_url}   Drive emulator {emulator}\n")
    print("1. Drive accounts (Uploader, MongoDB)")
    register_accounts(api, emulator, args.accounts)
    print("\n2. Uploads (GridFS at once, then queued on JetStream for the replicator)")
    uploads = [upload(api, f"demo-{size}MB.bin", size * MB) for size in (1, 5, 20)]
    print("\n3. Replication (upload once, then server-side copies to every account)")
    wait_uploaded(api, [f for f, _ in uploads], args.timeout)
    print("\n4. Download URLs (Downloader, PostgreSQL: balanced over the accounts)")
    before = total_downloads(api)
    for file, sha in uploads:
        hand_out_urls(api, file, sha, args.urls)
    print("\n5. Reports (events queued to Stats, precomputed by the Downloader)")
    show_reports(api, [f for f, _ in uploads], before + args.urls * len(uploads))
    prometheus = info["components"].get("prometheus", {}).get("url")
    if prometheus:
        print(f"\nmetrics: {prometheus}/graph (e.g. sum by (function) "
              f"(rate(fileserver_http_requests_total[1m])))")
    print("\ndemo done. `make status` shows the stack, `make down` stops it.")


if __name__ == "__main__":
    main()
