"""bench.balance_policies' floor: no assignment of calls to accounts keeps max - min below it."""

from __future__ import annotations

import itertools
import random

from bench.balance_policies import floor_gap, forced_gap


def best_possible_gap(start: list[int], sizes: list[int], window: int) -> int:
    """The least, over every assignment of ``sizes`` to the accounts, of the largest max - min
    before and after each of the last ``window`` calls (exhaustive)."""
    best = None
    for choice in itertools.product(range(len(start)), repeat=len(sizes)):
        loads = list(start)
        worst = 0
        for n, (account, size) in enumerate(zip(choice, sizes, strict=True)):
            if n == len(sizes) - window:
                worst = max(loads) - min(loads)
            loads[account] += size
            if n >= len(sizes) - window:
                worst = max(worst, max(loads) - min(loads))
        best = worst if best is None else min(best, worst)
    assert best is not None
    return best


def test_two_large_calls_in_a_row_force_two_thirds_of_their_size() -> None:
    assert forced_gap([20, 20], 10, 3) == 20  # 10 + 10 > 10: a gap of 10 cannot be kept
    assert forced_gap([20, 5, 20], 10, 3) == 10  # the small call breaks the run
    assert forced_gap([20, 20, 20], 10, 3) == 20  # two accounts to spare: runs of two count
    assert abs(floor_gap([20_000_000] * 2, 2, 3) - 40_000_000 / 3) <= 1_000
    # and an assignment reaches it: loads 0, 6.67, 13.33 MB; 20 MB to the first, then the second
    assert best_possible_gap([0, 6, 12], [18, 18], 2) == 12


def test_no_assignment_beats_the_floor_on_small_random_cases() -> None:
    rng = random.Random(5)
    for _ in range(200):
        accounts, calls = rng.randint(2, 4), rng.randint(2, 6)
        start = [rng.randint(0, 30_000_000) for _ in range(accounts)]
        sizes = [rng.randint(1_000_000, 20_000_000) for _ in range(calls)]
        window = rng.randint(1, calls)
        floor = floor_gap(sizes, window, accounts)
        assert best_possible_gap(start, sizes, window) >= floor - 1_000, (start, sizes, window)
