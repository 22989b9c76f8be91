"""Which account serves the next download of a file: the policy in plain Python (tests only).

get-url runs the policy inside PostgreSQL (``fs_get_url`` in migration 003, one round trip);
no product code runs this module. It is the policy's readable reference, unit-tested
directly (``tests/unit/downloader/test_balancer.py``), and
``tests/integration/downloader/test_get_url_policy_sql.py`` checks that the SQL always agrees.

Policy: rotate through the file's holders in account-id order, starting after the account
chosen last for that file, and take the first one whose bytes handed out today are within
one file size of the least-loaded holder. With equal loads this is plain round robin
(consecutive calls for one file visit its accounts in order); when loads drift apart the
least-loaded accounts are preferred, so bytes per account per day stay within about one
file size of each other. Holders that would pass their daily limit come last: the caller
reserves atomically and falls through to the next one if a reservation fails.
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
    """Every holder that can take ``size`` more bytes today, best first."""
    fitting = [h for h in rotation(holders, last_account_id)
               if h.bytes_today + size <= h.daily_limit_bytes]
    if not fitting:
        return []
    least = min(h.bytes_today for h in fitting)
    within = [h for h in fitting if h.bytes_today <= least + size]
    rest = sorted((h for h in fitting if h.bytes_today > least + size), key=lambda h: h.bytes_today)
    return within + rest
