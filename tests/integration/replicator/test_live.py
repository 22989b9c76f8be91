"""The replicator as a real process on a live stack: convergence in every scenario of issue 7."""

from __future__ import annotations

import os
import random
import signal
import time

import requests

from devstack.process import wait_until

ACCOUNTS = 8


def sizes(count: int, seed: int, largest: int = 300_000) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(2_000, largest) for _ in range(count)]


def test_twenty_files_reach_eight_accounts_once_with_one_upload_each(live):
    for _ in range(ACCOUNTS):
        live.add_account()
    datas = [os.urandom(size) for size in sizes(20, 1, largest=1_000_000)]
    live.start_replicator()
    file_ids = [live.upload(data, f"file-{n}.bin") for n, data in enumerate(datas)]
    live.wait_converged(file_ids, timeout=120)
    total = sum(len(d) for d in datas)
    usage = [live.usage(a) for a in live.keys]
    assert sum(u["uploaded_bytes"] for u in usage) <= 1.05 * total
    assert sum(u["copied_bytes"] for u in usage) >= (ACCOUNTS - 1) * total
    answer = requests.get(f"{live.gateway}/function/get-url", params={"id": file_ids[3]},
                          timeout=10)
    assert answer.status_code == 200, answer.text
    assert requests.get(answer.json()["url"], timeout=30).content == datas[3]


def all_file_ids(live) -> list[str]:
    return [record.id for record in live.files.iter_all()]


def test_kill_9_mid_replication_then_restart_converges_without_duplicates(live):
    live.stop("replicator")
    datas = [os.urandom(1_500_000) for _ in range(3)]
    file_ids = [live.upload(data) for data in datas]
    live.start_replicator()
    wait_until(lambda: any(live.files.get(f).replicas for f in file_ids), 30, interval=0.02)
    live.stop("replicator", signal.SIGKILL)
    assert live.problems(file_ids), "the kill came too late to interrupt anything"
    live.start_replicator()
    live.wait_converged(all_file_ids(live))


def test_thirty_percent_drive_errors_converge(live):
    rules = [{"method": "*", "error": kind, "rate": 0.06}
             for kind in ("rateLimitExceeded", "userRateLimitExceeded", "500", "503")]
    rules += [{"method": "*", "error": "429", "rate": 0.03, "retry_after": 0},
              {"method": "files.upload", "error": "drop", "rate": 0.03}]
    for account_id in live.keys:
        live.set_faults(account_id, rules)
    try:
        file_ids = [live.upload(os.urandom(size)) for size in sizes(6, 2)]
        live.wait_converged(file_ids, timeout=120)
    finally:
        for account_id in live.keys:
            live.set_faults(account_id, [])
    live.wait_converged(all_file_ids(live))


def test_downloader_down_for_a_while_converges_after_it_returns(live):
    live.stop("downloader-sync")
    file_ids = [live.upload(os.urandom(size)) for size in sizes(4, 3)]
    time.sleep(6)
    assert all(live.files.get(f).status == "replicating" for f in file_ids)
    live.start_function("downloader-sync")
    live.wait_converged(file_ids, timeout=90)


def test_delete_mid_replication_leaves_the_file_nowhere(live):
    file_id = live.upload(os.urandom(1_000_000))
    wait_until(lambda: live.files.get(file_id).replicas, 30, interval=0.02)
    live.file_service.delete(file_id)

    def gone() -> bool:
        copies = live.copies()
        return (live.files.get(file_id) is None
                and all(c[file_id] == 0 for c in copies.values())
                and not any(r[0] == file_id for r in live.registry())
                and live.db["blobs.files"].find_one({}) is None)

    wait_until(gone, 60, interval=0.5)
    assert requests.get(f"{live.gateway}/function/get-url", params={"id": file_id},
                        timeout=10).status_code == 404


def test_added_account_is_backfilled_and_removed_one_is_dropped(live):
    added = live.add_account()
    live.wait_converged(all_file_ids(live))
    assert live.usage(added)["uploaded_bytes"] == 0  # backfilled by server-side copies only
    removed = next(iter(live.keys))
    live.account_service.remove(removed)
    file_id = all_file_ids(live)[0]

    def dropped() -> bool:
        return (live.accounts.get(removed) is None
                and not any(r[1] == removed for r in live.registry()))

    wait_until(dropped, 60, interval=0.5)
    assert not any(f.app_properties.get("fileserver_id")
                   for f in live.drive(removed).list_files())
    holders = {requests.get(f"{live.gateway}/function/get-url", params={"id": file_id},
                            timeout=10).json()["account_id"] for _ in range(20)}
    assert removed not in holders and len(holders) > 1
    live.wait_converged(all_file_ids(live))


def test_metrics_and_health_are_served(live):
    base = f"http://127.0.0.1:{live.env['METRICS_PORT']}"
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    text = requests.get(f"{base}/metrics", timeout=5).text
    wait_until(lambda: 'fileserver_files_by_status{status="uploaded"}' in
               requests.get(f"{base}/metrics", timeout=5).text, 30)
    assert 'fileserver_replication_jobs_total{kind="replicate",outcome="uploaded"}' in text
    assert 'fileserver_replication_bytes_total{mode="copy"}' in text
    assert "fileserver_replicas_per_file_bucket" in text


def test_reconciliation_passes_complete_in_the_live_replicator(live):
    """Jobs converge even when every pass fails (it is only logged): the pass's gauge, set
    at the end of a completed pass, shows that passes run to the end on the real adapters."""
    base = f"http://127.0.0.1:{live.env['METRICS_PORT']}"

    def pass_seconds() -> float:
        for line in requests.get(f"{base}/metrics", timeout=5).text.splitlines():
            if line.startswith("fileserver_reconcile_pass_seconds "):
                return float(line.split()[1])
        return 0.0

    wait_until(lambda: pass_seconds() > 0, 30, interval=0.5)
