"""The balancing policy, simulated without a database."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from fileserver.downloader.service import seconds_to_midnight
from tests.support.balancer_reference import Holder, preference, rotation

LIMIT = 10**15


def holders(loads: dict[str, int], limit: int = LIMIT) -> list[Holder]:
    return [Holder(a, f"http://x/{a}", limit, b) for a, b in loads.items()]


def test_rotation_starts_after_the_last_account_and_wraps() -> None:
    hs = holders({"c": 0, "a": 0, "b": 0})
    assert [h.account_id for h in rotation(hs, None)] == ["a", "b", "c"]
    assert [h.account_id for h in rotation(hs, "b")] == ["c", "a", "b"]
    assert [h.account_id for h in rotation(hs, "c")] == ["a", "b", "c"]
    assert [h.account_id for h in rotation(hs, "gone")] == ["a", "b", "c"]


def test_equal_loads_rotate_in_order() -> None:
    loads = {"a": 0, "b": 0, "c": 0}
    last, picks = None, []
    for _ in range(6):
        chosen = preference(holders(loads), last, 100)[0]
        loads[chosen.account_id] += 100
        last = chosen.account_id
        picks.append(last)
    assert picks == ["a", "b", "c", "a", "b", "c"]


def test_a_loaded_account_is_passed_over_and_full_ones_are_dropped() -> None:
    order = preference(holders({"a": 0, "b": 5000, "c": 50}, limit=5050), "a", 100)
    assert [h.account_id for h in order] == ["c", "a"]  # b cannot take 100 more bytes
    order = preference(holders({"a": 0, "b": 5000, "c": 50}), "a", 100)
    assert [h.account_id for h in order] == ["c", "a", "b"]
    assert preference(holders({"a": 950}, limit=1000), None, 100) == []


def test_bytes_stay_balanced_over_mixed_sizes_and_partial_holders() -> None:
    rng = random.Random(7)
    accounts = [f"acc{i}" for i in range(10)]
    sizes = {f"f{i}": rng.randint(1_000, 20_000_000) for i in range(50)}
    holders_of = {f: sorted(rng.sample(accounts, rng.randint(6, 10))) for f in sizes}
    loads = dict.fromkeys(accounts, 0)
    last: dict[str, str | None] = dict.fromkeys(sizes)
    for _ in range(10_000):
        f = rng.choice(list(sizes))
        hs = [Holder(a, "u", LIMIT, loads[a]) for a in holders_of[f]]
        chosen = preference(hs, last[f], sizes[f])[0]
        loads[chosen.account_id] += sizes[f]
        last[f] = chosen.account_id
    assert max(loads.values()) / min(loads.values()) <= 1.05


def test_retry_after_counts_to_the_next_utc_midnight() -> None:
    assert seconds_to_midnight(datetime(2026, 11, 25, 23, 59, 30, tzinfo=UTC)) == 30
    assert seconds_to_midnight(datetime(2026, 11, 25, 0, 0, 0, tzinfo=UTC)) == 86400
