"""The redirector's short-lived cache of a file's holders."""

from __future__ import annotations

from datetime import date

from fileserver.downloader.redirector import HoldersCache

DAY = date(2026, 12, 1)


def test_rows_are_reused_until_the_ttl_then_reloaded() -> None:
    now = [100.0]
    loads: list[int] = []
    cache = HoldersCache(2.0, clock=lambda: now[0])

    def load() -> list[dict]:
        loads.append(1)
        return [{"n": len(loads)}]

    assert cache.get(("f1", DAY), load) == [{"n": 1}]
    now[0] += 1.9
    assert cache.get(("f1", DAY), load) == [{"n": 1}] and len(loads) == 1
    assert cache.get(("f2", DAY), load) == [{"n": 2}]  # per file
    now[0] += 0.2
    assert cache.get(("f1", DAY), load) == [{"n": 3}]


def test_a_zero_ttl_always_loads() -> None:
    cache = HoldersCache(0)
    calls = []
    for _ in range(3):
        cache.get(("f1", DAY), lambda: calls.append(1) or [])
    assert len(calls) == 3
