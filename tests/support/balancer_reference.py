"""Which account serves the next download of a file: the policy in plain Python (tests only).

get-url runs the policy inside PostgreSQL (``fs_get_url``, latest in migration 012, one round
trip); no product code runs this module. It is the policy's readable reference, unit-tested
directly (``tests/unit/downloader/test_balancer.py``), and
``tests/integration/downloader/test_get_url_policy_sql.py`` checks that the SQL always agrees.

Policy: the holder with the fewest bytes handed out today, ties in rotation order (account-id
order starting after the account chosen last for that file). With equal loads this is plain
round robin (consecutive calls for one file visit its accounts in order); otherwise the
least-loaded holder always takes the call, so bytes per account per day stay within one file
size of each other. Holders that would pass their daily limit are left out. (Concurrent SQL
calls pass over a usage row another call holds locked and take the next in this order.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Holder:
    account_id: str
    url: str
    daily_limit_bytes: int
    bytes_today: int


def rotation(holders: list[Holder], last_account_id: str | None) -> list[Holder]:
    """Holders in account-id order, starting right after ``last_account_id``."""
    ordered = sorted(holders, key=lambda h: h.account_id)
    if last_account_id is None:
        return ordered
    start = next((i for i, h in enumerate(ordered) if h.account_id > last_account_id), 0)
    return ordered[start:] + ordered[:start]


def preference(holders: list[Holder], last_account_id: str | None, size: int) -> list[Holder]:
    """Every holder that can take ``size`` more bytes today, best first: least bytes today,
    ties in rotation order."""
    fitting = [h for h in rotation(holders, last_account_id)
               if h.bytes_today + size <= h.daily_limit_bytes]
    return sorted(fitting, key=lambda h: h.bytes_today)  # stable: ties keep the rotation
