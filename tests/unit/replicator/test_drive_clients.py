"""DriveClients: one client per account version, shared by every thread, each key read once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from workers.replicator.adapters import DriveClients
from workers.replicator.model import Account


class CountingKeys:
    """The AccountRepository's ``get_key``, counting reads per account."""

    def __init__(self) -> None:
        self.reads: Counter[str] = Counter()
        self._lock = threading.Lock()

    def get_key(self, account_id: str) -> dict[str, Any]:
        with self._lock:
            self.reads[account_id] += 1
            return {"account": account_id, "read": self.reads[account_id]}


class NoNetwork:
    """A transport whose http is never used: building a client needs no Drive call."""

    def authorized_http(self, key: dict[str, Any]) -> object:
        return object()


def account(n: int, version: int = 1) -> Account:
    return Account(id=f"acc{n}", email=f"acc{n}@example.com", state="active", version=version,
                   daily_limit_bytes=10**12)


def test_threads_share_one_client_per_account_and_read_each_key_once() -> None:
    keys = CountingKeys()
    clients = DriveClients(keys, "http://127.0.0.1:1/", transport=NoNetwork())  # type: ignore[arg-type]
    seen: dict[tuple[int, int], int] = {}
    start = threading.Barrier(8)

    def work(thread: int) -> None:
        start.wait()
        for n in range(50):
            seen[(thread, n)] = id(clients.for_account(account(n)).client)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len({seen[(t, n)] for t in range(8)}) == 1 for n in range(50))
    reads = sum(keys.reads.values())
    later = threading.Thread(target=lambda: [clients.for_account(account(n)) for n in range(50)])
    later.start()
    later.join()
    assert sum(keys.reads.values()) == reads  # a thread that comes later reads no key


def test_a_new_account_version_reads_its_key_again_and_drops_the_old_client() -> None:
    keys = CountingKeys()
    clients = DriveClients(keys, "http://127.0.0.1:1/", transport=NoNetwork())  # type: ignore[arg-type]
    first = clients.for_account(account(1, version=1)).client
    second = clients.for_account(account(1, version=2)).client
    assert first is not second and keys.reads["acc1"] == 2
    assert clients.for_account(account(1, version=2)).client is second
    assert clients.for_account(account(1, version=1)).client is not first  # old one dropped
