"""Byte spread (max/min bytes per account) of get-url balancing policies, simulated in Python.

    python -m bench.balance_policies [--seeds 16,1,2,3,4,5,6] [--calls 4000]

The workload of tests/integration/replicator/test_scale_live.py: 200 accounts holding 10
files of 1-20 MB (sizes drawn from ``random.Random(seed)`` as the test does; seed 16 is the
test's own sequence of calls), ``--calls`` sequential get-url calls for a file chosen at
random, every account at 0 bytes first. Policies:
- ``rotation``: until migration 010, the first holder in rotation order (after the file's
  last account) within one file size of the least loaded;
- ``least-loaded``: today's (migration 011; the reference the SQL is tested against is
  tests/support/balancer_reference.py, which bench/ may not import): the least-loaded
  holder, ties in rotation order;
- ``random-of-K``: one of the K least loaded at random, the worst that passing over rows
  locked by K-1 concurrent calls (SKIP LOCKED) can do;
- ``best-fit``: the fullest holder that stays under the current maximum, else the least
  loaded (fills the gaps below the top).
Prints the spread per policy and seed, the baseline (``rotation``) first, then the floor
that no policy can beat (``floor_gap``): whatever the choices, even made knowing every call
in advance, the max - min after one of the last ``--window`` calls is at least that, and the
spread at least 1 + that / the mean bytes per account.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable

MB = 1_000_000
ACCOUNTS = [f"acc{i:03d}" for i in range(200)]
Policy = Callable[[dict[str, int], str | None, int, random.Random], str]


def workload(seed: int, calls: int) -> list[tuple[int, int]]:
    """(file index, size) per call, drawn as the live test draws them."""
    rng = random.Random(seed)
    sizes = [rng.randint(1 * MB, 20 * MB) for _ in range(10)]
    for _ in range(10):
        rng.sample(ACCOUNTS, 5)  # the test's downloads use the same generator first
    return [(f, sizes[f]) for f in (rng.randrange(10) for _ in range(calls))]


def rotation(accounts: list[str], last: str | None) -> list[str]:
    """Account-id order, starting right after ``last``."""
    ordered = sorted(accounts)
    start = next((i for i, a in enumerate(ordered) if last is not None and a > last), 0)
    return ordered[start:] + ordered[:start]


def by_load(loads: dict[str, int], last: str | None) -> list[str]:
    """Least bytes first, ties in rotation order (migration 011's order)."""
    return sorted(rotation(list(loads), last), key=lambda a: loads[a])


def old_rotation(loads: dict[str, int], last: str | None, size: int, _: random.Random) -> str:
    least = min(loads.values())
    return next(a for a in rotation(list(loads), last) if loads[a] <= least + size)


def least_loaded(loads: dict[str, int], last: str | None, size: int, _: random.Random) -> str:
    return by_load(loads, last)[0]


def random_of(k: int) -> Policy:
    def choose(loads: dict[str, int], last: str | None, size: int, rng: random.Random) -> str:
        return by_load(loads, last)[rng.randrange(k)]
    return choose


def best_fit(loads: dict[str, int], last: str | None, size: int, _: random.Random) -> str:
    top = max(loads.values())
    fits = [a for a in sorted(loads) if loads[a] + size <= top]
    if fits:
        return max(fits, key=lambda a: loads[a])
    return min(sorted(loads), key=lambda a: loads[a])


POLICIES: dict[str, Policy] = {"rotation": old_rotation, "least-loaded": least_loaded,
                               "random-of-2": random_of(2), "random-of-4": random_of(4),
                               "random-of-8": random_of(8), "best-fit": best_fit}


def spread(policy: Policy, calls: list[tuple[int, int]]) -> tuple[float, int]:
    """max/min bytes per account after ``calls``, and max - min."""
    loads = dict.fromkeys(ACCOUNTS, 0)
    last: dict[int, str | None] = {}
    rng = random.Random(1)
    for file_index, size in calls:
        chosen = policy(loads, last.get(file_index), size, rng)
        loads[chosen] += size
        last[file_index] = chosen
    return max(loads.values()) / min(loads.values()), max(loads.values()) - min(loads.values())


def forced_gap(sizes: list[int], gap: float, accounts: int) -> float:
    """The largest sum of (size - gap) over at most accounts - 1 consecutive calls, each
    larger than gap.

    If max - min stays <= gap before and after each of these calls, this sum is <= gap: a
    call larger than gap can only go to the one least-loaded account, and only if the
    next-least-loaded is (size - gap) above it (else max - min > gap after it); the account
    then tops all the others. Nothing else moves during the run, so before it the k+1
    least-loaded accounts sat (size_1 - gap) + ... + (size_k - gap) apart, which max - min
    <= gap must cover (k + 1 accounts must exist).
    """
    worst = 0.0
    run: list[float] = []
    for size in sizes:
        kept = run[max(0, len(run) - (accounts - 2)):]  # with this call, accounts - 1 at most
        run = [*kept, size - gap] if size > gap and accounts > 1 else []
        worst = max(worst, sum(run))
    return worst


def floor_gap(sizes: list[int], window: int, accounts: int) -> float:
    """The least max - min that any assignment to ``accounts`` accounts can keep before and
    after each of the last ``window`` calls: the smallest gap that ``forced_gap`` does not
    exceed (to 1 kB)."""
    last = sizes[-window:]
    low, high = 0.0, float(max(last))
    while high - low > 1_000:
        middle = (low + high) / 2
        if forced_gap(last, middle, accounts) <= middle:
            high = middle
        else:
            low = middle
    return high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="16,1,2,3,4,5,6")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--window", type=int, default=10,
                        help="the floor holds at some count among the last WINDOW calls")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    print(f"{'policy':<14}" + "".join(f"{'seed ' + str(s):>18}" for s in seeds))
    for name, policy in POLICIES.items():
        cells = []
        for seed in seeds:
            ratio, gap = spread(policy, workload(seed, args.calls))
            cells.append(f"{ratio:.3f} ({gap / MB:4.1f} MB)")
        print(f"{name:<14}" + "".join(f"{cell:>18}" for cell in cells), flush=True)
    cells = []
    for seed in seeds:
        sizes = [size for _, size in workload(seed, args.calls)]
        gap = floor_gap(sizes, args.window, len(ACCOUNTS))
        cells.append(f">={1 + gap / (sum(sizes) / len(ACCOUNTS)):.3f} ({gap / MB:4.1f} MB)")
    print(f"{'floor, any':<14}" + "".join(f"{cell:>18}" for cell in cells))
    print(f"floor, any: no choice of accounts, even knowing every call, keeps max - min below"
          f" this after each of the last {args.window} of {args.calls:,} calls")


if __name__ == "__main__":
    main()
