"""Stats lag: from a download URL handed out to its appearance in the reports.

    GATEWAY_URL=http://127.0.0.1:8080 python -m bench.stats_lag --rate 200 --seconds 30

Needs the live stack (gateway, get-url, stats-compute, stats-ingest, file-stats) and one file
with ready replicas (``--file-id``, or the first ``uploaded`` file of ``GET /function/files``).
Calls get-url at a steady ``--rate`` and polls ``file-stats/<id>`` every ``--poll`` seconds.
Events may be applied out of order, so the k-th URL handed out counts as visible at the first
poll where the file's download count reached baseline + k; its lag is that time minus the
time its get-url answered. Prints p50/p99/max and checks the reports converge exactly to the
URLs counted from the responses (file downloads and per-account downloads).
Goal (issue 6): p99 <= 2 s at 200 get-url/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from devstack.process import interrupt_on_sigterm

_local = threading.local()


def session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def get_json(url: str, **params: Any) -> dict[str, Any]:
    response = session().get(url, params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def pick_file(gateway: str) -> str:
    items = get_json(f"{gateway}/function/files", status="uploaded", limit=1)["items"]
    if not items:
        raise SystemExit("no uploaded file: upload one (or pass --file-id)")
    return items[0]["id"]


def downloads_of_file(gateway: str, file_id: str) -> int:
    try:
        return int(get_json(f"{gateway}/function/file-stats/{file_id}")["downloads"])
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code == 404:
            return 0  # no download counted yet
        raise


def downloads_by_account(gateway: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    offset = 0
    while True:
        page = get_json(f"{gateway}/function/account-stats", limit=500, offset=offset)
        counts.update({row["account_id"]: int(row["downloads"]) for row in page["items"]})
        offset += len(page["items"])
        if len(page["items"]) < 500:
            return counts


class Load:
    """get-url at a steady rate; remembers when each URL was handed out and by which account."""

    def __init__(self, gateway: str, file_id: str) -> None:
        self.url = f"{gateway}/function/get-url"
        self.file_id = file_id
        self.handed_at: list[float] = []
        self.accounts: Counter[str] = Counter()
        self.failures: Counter[int] = Counter()
        self.lock = threading.Lock()

    def call(self) -> None:
        try:
            response = session().get(self.url, params={"id": self.file_id}, timeout=10)
            status = response.status_code
        except requests.RequestException:
            status = 0
        done = time.monotonic()
        with self.lock:
            if status == 200:
                self.handed_at.append(done)
                self.accounts[response.json()["account_id"]] += 1
            else:
                self.failures[status] += 1

    def run(self, rate: float, seconds: float, workers: int) -> float:
        """Issue ``rate * seconds`` calls on schedule; answer the achieved rate."""
        total = int(rate * seconds)
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for i in range(total):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.call)
        return total / (time.monotonic() - start)


class Poller(threading.Thread):
    """Records (time, downloads) of the file's report row every ``interval`` seconds."""

    def __init__(self, gateway: str, file_id: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.gateway, self.file_id, self.interval = gateway, file_id, interval
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                count = downloads_of_file(self.gateway, self.file_id)
                self.samples.append((time.monotonic(), count))
            except requests.RequestException:
                pass
            self.stop.wait(self.interval)


def lags(handed_at: list[float], samples: list[tuple[float, int]], baseline: int) -> list[float]:
    """Lag of the k-th URL = first sample time with count >= baseline + k, minus its hand-out."""
    result, k = [], 0
    ordered = sorted(handed_at)
    for seen_at, count in samples:
        while k < len(ordered) and count - baseline >= k + 1:
            result.append(max(seen_at - ordered[k], 0.0))
            k += 1
    return result


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def admin_headers() -> dict[str, str]:
    """The admin token if this machine has it (the reports may be admin-only)."""
    try:
        from fileserver.config import secret

        return {"Authorization": f"Bearer {secret('admin-token')}"}
    except Exception:  # noqa: BLE001 - no token: call without one
        return {}


def converge(gateway: str, load: Load, poller: Poller, baseline: int,
             accounts_before: dict[str, int], timeout: float) -> bool:
    """Wait until the reports show every URL handed out; compare per account too."""
    expected = baseline + len(load.handed_at)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (not poller.samples or
                                           poller.samples[-1][1] < expected):
        time.sleep(0.2)
    poller.stop.set()
    poller.join()
    after = downloads_by_account(gateway)
    delta = {a: after.get(a, 0) - accounts_before.get(a, 0) for a in after}
    delta = {a: n for a, n in delta.items() if n}
    final = poller.samples[-1][1] if poller.samples else baseline
    print(f"file downloads: expected +{len(load.handed_at)}, reported +{final - baseline}")
    print(f"per-account downloads match the responses: {delta == dict(load.accounts)}")
    return final == expected and delta == dict(load.accounts)


def main(argv: list[str] | None = None) -> int:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default=os.environ.get("GATEWAY_URL",
                                                            "http://127.0.0.1:8080"))
    parser.add_argument("--file-id")
    parser.add_argument("--rate", type=float, default=200.0, help="get-url calls per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--poll", type=float, default=0.05, help="report polling interval (s)")
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--settle", type=float, default=60.0, help="max wait for convergence")
    args = parser.parse_args(argv)
    gateway = args.gateway.rstrip("/")
    session().headers.update(admin_headers())
    file_id = args.file_id or pick_file(gateway)
    accounts_before = downloads_by_account(gateway)
    baseline = downloads_of_file(gateway, file_id)
    load, poller = Load(gateway, file_id), Poller(gateway, file_id, args.poll)
    poller.start()
    achieved = load.run(args.rate, args.seconds, args.workers)
    ok = converge(gateway, load, poller, baseline, accounts_before, args.settle)
    found = lags(load.handed_at, poller.samples, baseline)
    print(f"get-url: {len(load.handed_at)} handed out at {achieved:.1f}/s "
          f"(target {args.rate:.0f}/s), failures {dict(load.failures)}")
    if len(found) >= 2:
        print(f"stats lag over {len(found)} URLs: p50 {percentile(found, 0.5):.3f} s, "
              f"p99 {percentile(found, 0.99):.3f} s, max {max(found):.3f} s "
              f"(poll every {args.poll:.2f} s; goal p99 <= 2 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
