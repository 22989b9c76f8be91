"""Stats on the live local stack: get-url → outbox → /async-function/stats-compute →
stats-ingest → reports. The reports must converge exactly to the ground truth counted from
the get-url responses (downloads per file and per account, bytes), and the summary must hold
the derived figures. Accounts, file and replicas are seeded through downloader-sync."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from devstack.process import StartError, wait_until
from devstack.stack import LocalStack
from fileserver.downloader.outbox import RESEND_AFTER
from tests.conftest import own_stack

ROOT = Path(__file__).resolve().parents[3]
SIZE = 1_000_000


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """A stack of its own, without the replicator: the tests seed the Downloader directly,
    as the replicator would, with accounts and a file the Uploader's store does not know, so
    a running replicator's reconciliation pass would rightly unregister them mid-test (it
    did, once a pass began while get-url was being called)."""
    with own_stack("stats", workers=False) as started:
        yield started


def seed(gateway: str, headers: dict[str, str], accounts: int) -> tuple[str, list[str]]:
    """A file with a ready replica on each of ``accounts`` fresh accounts; unique ids."""
    tag = uuid.uuid4().hex[:12]
    sync = f"{gateway}/function/downloader-sync"
    file_id, account_ids = f"statsfile-{tag}", [f"statsacc-{tag}-{i}" for i in range(accounts)]
    for account_id in account_ids:
        requests.put(f"{sync}/accounts/{account_id}", headers=headers, timeout=10, json={
            "email": f"{account_id}@example.iam.gserviceaccount.com",
            "daily_limit_bytes": 10**14, "active": True, "version": 1}).raise_for_status()
    requests.put(f"{sync}/files/{file_id}", headers=headers, timeout=10, json={
        "name": "stats.bin", "size": SIZE, "md5": "0" * 32, "version": 1}).raise_for_status()
    for account_id in account_ids:
        requests.put(f"{sync}/replicas/{file_id}/{account_id}", headers=headers, timeout=10,
                     json={"drive_file_id": f"d-{account_id}", "version": 1,
                           "url": f"http://127.0.0.1:9/uc?id=d-{account_id}&export=download"},
                     ).raise_for_status()
    return file_id, account_ids


def hand_out(gateway: str, file_id: str, calls: int) -> Counter[str]:
    """``calls`` get-url calls from 16 threads; downloads per account from the responses."""
    session = requests.Session()

    def one(_: int) -> str:
        response = session.get(f"{gateway}/function/get-url", params={"id": file_id}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["account_id"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return Counter(pool.map(one, range(calls)))


def reports(gateway: str, headers: dict[str, str], file_id: str,
            account_ids: list[str]) -> tuple[dict, dict[str, dict]]:
    get = lambda path: requests.get(f"{gateway}/function/{path}", headers=headers, timeout=10)  # noqa: E731
    file_row = get(f"file-stats/{file_id}").json()
    return file_row, {a: get(f"account-stats/{a}").json() for a in account_ids}


@pytest.mark.parametrize("calls", [
    500, pytest.param(5000, marks=pytest.mark.slow, id="5000-issue-6")])
def test_reports_converge_exactly_to_the_urls_handed_out(stack, calls):
    gateway = stack.gateway_url.rstrip("/")
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    file_id, account_ids = seed(gateway, headers, 3)
    truth = hand_out(gateway, file_id, calls)
    assert sum(truth.values()) == calls and set(truth) == set(account_ids)

    last: dict = {}

    def converged() -> bool:
        last.update(reports(gateway, headers, file_id, account_ids)[0])
        return last.get("downloads") == calls

    # A batch that Stats loses (the queue-worker does not retry a failed stats-compute call)
    # is sent again by the outbox after RESEND_AFTER: exactness is promised after that, so
    # the wait covers it.
    try:
        wait_until(converged, RESEND_AFTER + 120, interval=1)
    except StartError as exc:
        raise AssertionError(f"{calls} URLs handed out, the file report counts "
                             f"{last.get('downloads')}: {last}") from exc
    file_row, rows = reports(gateway, headers, file_id, account_ids)
    assert file_row["bytes_total"] == calls * SIZE and file_row["bytes_today"] == calls * SIZE
    for account_id in account_ids:
        assert rows[account_id]["downloads"] == truth[account_id]
        assert rows[account_id]["bytes_today"] == truth[account_id] * SIZE

    def summary() -> dict:
        return requests.get(f"{gateway}/function/stats-summary", headers=headers,
                            timeout=10).json()

    # The summary ends on the final state too (batches computed concurrently included).
    shares = {a: rows[a]["bytes_today"] / rows[a]["daily_limit_bytes"] for a in account_ids}
    wait_until(lambda: all(summary()["share_of_limit"].get(a) == pytest.approx(share)
                           for a, share in shares.items()), 30)
    assert summary()["capacity"]["accounts_needed_target"] == 165
    assert summary()["balance"]["accounts"] >= 3


def prometheus_query(url: str, expr: str) -> list[dict]:
    body = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_agrees_with_the_account_report(stack, tmp_path):
    """Issue 8: bytes handed out per account in Prometheus = the account report; the
    downloader's and stats' series are there; the PNG panels show the workload."""
    prometheus = stack.info().get("components", {}).get("prometheus", {}).get("url")
    if not prometheus:
        pytest.skip("the live stack runs without Prometheus")
    gateway = stack.gateway_url.rstrip("/")
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    file_id, account_ids = seed(gateway, headers, 2)
    truth = hand_out(gateway, file_id, 100)
    wait_until(lambda: reports(gateway, headers, file_id, account_ids)[0].get("downloads") == 100,
               60)
    _, rows = reports(gateway, headers, file_id, account_ids)
    tag = account_ids[0].rsplit("-", 1)[0]
    expr = ("sum by (account_id) (fileserver_download_bytes_handed_out_total"
            f'{{account_id=~"{tag}-.*"}})')

    def scraped() -> dict[str, float]:
        return {r["metric"]["account_id"]: float(r["value"][1])
                for r in prometheus_query(prometheus, expr)}

    expected = {a: float(rows[a]["bytes_today"]) for a in account_ids}
    assert expected == {a: float(n * SIZE) for a, n in truth.items()}
    wait_until(lambda: scraped() == expected, 60)

    def functions() -> set[str]:
        return {r["metric"].get("function") for r in prometheus_query(
            prometheus, "sum by (function) (fileserver_http_requests_total)")}

    def computed() -> float:
        found = prometheus_query(prometheus, "sum(fileserver_stats_events_computed_total)")
        return float(found[0]["value"][1]) if found else 0.0

    # Each function is scraped on its own schedule: wait for the next scrape of all of them.
    wait_until(lambda: {"get-url", "stats-compute", "stats-ingest"} <= functions()
               and computed() >= 100, 60)
    # rate() needs two samples of a series: wait for the scrape after the burst.
    traffic = "sum by (function) (rate(fileserver_http_requests_total[1m]))"
    wait_until(lambda: len(prometheus_query(prometheus, traffic)) >= 3, 60)
    # increase() too, and the per-account series were born in this burst (which may fit in
    # one scrape interval): wait for their second sample.
    per_account = ("sum by (account_id) (increase(fileserver_download_bytes_handed_out_total"
                   f'{{account_id=~"{tag}-.*"}}[1m]))')
    wait_until(lambda: len(prometheus_query(prometheus, per_account)) >= 2, 60)
    rendered = render_pngs(prometheus, tmp_path / "png")
    assert rendered["traffic"] >= 3 and rendered["bytes_per_account"] >= 2
    assert rendered["account_daily_use"] >= 2
    # A burst shorter than one scrape interval leaves the lag quantile NaN: drawn "no data".
    assert "stats_lag" in rendered


def render_pngs(prometheus: str, out: Path) -> dict[str, int]:
    """Run ``python -m tools.metrics_png``; answer the series count it printed per panel."""
    result = subprocess.run([sys.executable, "-m", "tools.metrics_png", "--prometheus",
                             prometheus, "--out", str(out), "--since", "5m"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    counts = {}
    for line in result.stdout.splitlines():
        path, text = line.rsplit(": ", 1)
        assert Path(path).read_bytes().startswith(b"\x89PNG")
        counts[Path(path).stem] = int(text.split()[0])
    return counts
