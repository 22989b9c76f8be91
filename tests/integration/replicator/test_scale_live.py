"""Issue 16 at full width: 200 accounts, 10 files of 1-20 MB, on the real replicator process."""

from __future__ import annotations

import os
import random
from collections import Counter

import psycopg2
import pytest
import requests

from bench.balance_policies import floor_gap
from devstack.process import wait_until

ACCOUNTS = 200
MB = 1_000_000


def ready_everywhere(live, file_ids: list[str]) -> bool:
    for file_id in file_ids:
        record = live.files.get(file_id)
        if record is None or record.status != "uploaded" or len(record.replicas) < ACCOUNTS:
            return False
    return True


def downloader_accounts(live) -> int:
    """Active accounts the Downloader knows (the replicator registers them job by job)."""
    conn = psycopg2.connect(live.postgres_url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM accounts WHERE active AND NOT deleted")
            return cur.fetchone()[0]
    finally:
        conn.close()


def download(live, drive_file_id: str) -> bytes:
    answer = requests.get(f"{live.emulator.url}uc", params={"id": drive_file_id,
                                                            "export": "download"}, timeout=60)
    answer.raise_for_status()
    return answer.content


@pytest.mark.slow
def test_two_hundred_accounts_ten_files_every_replica_and_an_even_byte_spread(live):
    for _ in range(ACCOUNTS):
        live.add_account()
    rng = random.Random(16)
    datas = [os.urandom(rng.randint(1 * MB, 20 * MB)) for _ in range(10)]
    live.start_replicator()
    file_ids = [live.upload(data, f"scale-{n}.bin") for n, data in enumerate(datas)]
    wait_until(lambda: ready_everywhere(live, file_ids), 1500, interval=2)
    registry: dict[tuple[str, str], str] = {}

    def registered() -> bool:  # a reconciliation pass may lag the replicas by one interval
        registry.clear()
        registry.update({(f, a): d for f, a, d in live.registry() if f in file_ids})
        return len(registry) == ACCOUNTS * len(file_ids)

    wait_until(registered, 120, interval=2)
    wait_until(lambda: downloader_accounts(live) == ACCOUNTS, 600, interval=2)
    log = live.log("replicator").read_text()
    assert "Timeout" not in log and "timed out" not in log
    accounts = sorted(live.keys)
    for file_id, data in zip(file_ids, datas, strict=True):
        for account_id in rng.sample(accounts, 5):
            assert download(live, registry[(file_id, account_id)]) == data
    handed: Counter[str] = Counter()
    sizes: list[int] = []
    session = requests.Session()
    gaps: dict[int, int] = {}
    for calls in range(1, 10_001):
        index = rng.randrange(len(file_ids))
        answer = session.get(f"{live.gateway}/function/get-url",
                             params={"id": file_ids[index]}, timeout=10)
        assert answer.status_code == 200, answer.text
        handed[answer.json()["account_id"]] += len(datas[index])
        sizes.append(len(datas[index]))
        if calls in (4000, 10_000):
            assert len(handed) == ACCOUNTS
            gaps[calls] = max(handed.values()) - min(handed.values())
            floor = floor_gap(sizes, 10, ACCOUNTS)
            print(f"byte spread of {calls:,} get-url calls over {ACCOUNTS} accounts: "
                  f"{max(handed.values()) / min(handed.values()):.3f} (max - min "
                  f"{gaps[calls]:,} bytes); floor for any balancer within the last 10 calls: "
                  f"{1 + floor / (sum(sizes) / ACCOUNTS):.3f} ({floor:,.0f} bytes)")
    # The least-loaded holder takes each call (migration 011), so no account ends more than
    # one of the largest files above another: that is what is asserted. Issue 16 asks for a
    # spread of 1.05 after 4,000 calls, which no balancer can hold on these calls:
    # bench.balance_policies' floor is 1.052 within the last 10 (runs of large calls force
    # it, whatever the choices). At 10,000 calls the same policy is well within 1.05.
    largest = max(len(d) for d in datas)
    assert gaps[4000] <= largest and gaps[10_000] <= largest
    assert max(handed.values()) / min(handed.values()) <= 1.05
