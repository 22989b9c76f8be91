"""The replicator as a real process on a live stack: convergence in every scenario of issue 7."""

from __future__ import annotations

import os
import random

import requests

ACCOUNTS = 8


def sizes(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(2_000, 300_000) for _ in range(count)]


def test_twenty_files_reach_eight_accounts_once_with_one_upload_each(live):
    for _ in range(ACCOUNTS):
        live.add_account()
    datas = [os.urandom(size) for size in sizes(20, 1)]
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
