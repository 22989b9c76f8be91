"""Pure computations of the Stats service: no I/O, no clock, no settings.

Download events are validated, de-duplicated within a batch and bucketed to the UTC day of
their ``at``; :func:`batch_increments` turns them into what stats-ingest stores (per file and
per account: downloads and bytes in total and per UTC day, each day with the ids of the
events it covers). The derived figures (share of limit, balance, projection, capacity plan)
are computed from the Downloader's account rows, read after the increments were stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

# The ids and sizes the Downloader's stats-ingest accepts: an event it would refuse is
# refused here, up front, with the reason.
from fileserver.contracts.stats_ingest import ID_RULE, MAX_BATCH_EVENTS, MAX_INTEGER, is_id
from fileserver.contracts.timestamps import format_utc, parse_utc
from fileserver.errors import BadRequest

SECONDS_PER_DAY = 86_400
# Average month used by the capacity plan (the seed's "500 TB/month" over 30.4 days).
DAYS_PER_MONTH = 30.4
BYTES_PER_MB = 10**6


@dataclass(frozen=True)
class DownloadEvent:
    event_id: str
    file_id: str
    account_id: str
    bytes: int
    at: datetime  # timezone-aware, UTC

    @property
    def day(self) -> date:
        """The UTC day the download counts on, whenever the event is computed."""
        return self.at.date()


def _identifier(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if not is_id(value):
        raise ValueError(f"{name} must be {ID_RULE}")
    return value


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("at must be an ISO-8601 string")
    try:
        moment = parse_utc(value)
    except ValueError as exc:
        raise ValueError(f"at is not ISO-8601: {value[:40]!r}") from exc
    if moment.tzinfo is None:
        raise ValueError("at must carry a timezone (e.g. a trailing Z)")
    return moment.astimezone(UTC)


def parse_event(raw: Any) -> DownloadEvent:
    """One event from its JSON form; ValueError says what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("an event must be a JSON object")
    size = raw.get("bytes")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_INTEGER:
        raise ValueError("bytes must be an integer from 0 to 2^63-1")
    return DownloadEvent(event_id=_identifier(raw, "event_id"), file_id=_identifier(raw, "file_id"),
                         account_id=_identifier(raw, "account_id"), bytes=size,
                         at=_timestamp(raw.get("at")))


def parse_batch(raw_events: Any) -> list[DownloadEvent]:
    """All events of a request, or BadRequest listing every invalid one (nothing is half-taken)."""
    if isinstance(raw_events, dict):
        raw_events = [raw_events]
    if not isinstance(raw_events, list) or not raw_events:
        raise BadRequest("events must be a non-empty list of download events")
    if len(raw_events) > MAX_BATCH_EVENTS:
        raise BadRequest(f"at most {MAX_BATCH_EVENTS} events per request")
    events, problems = [], []
    for index, raw in enumerate(raw_events):
        try:
            events.append(parse_event(raw))
        except ValueError as exc:
            problems.append({"index": index, "problem": str(exc)})
    if problems:
        raise BadRequest(f"{len(problems)} invalid event(s)", details={"invalid": problems[:50]})
    return events


def dedupe(events: Sequence[DownloadEvent]) -> tuple[list[DownloadEvent], int]:
    """The first event of each ``event_id``, in order, and how many repeats were dropped."""
    seen: set[str] = set()
    unique: list[DownloadEvent] = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    return unique, len(events) - len(unique)


@dataclass
class DayIncrement:
    """What a batch adds to one file or account on one UTC day, and the events it covers."""

    downloads: int = 0
    bytes: int = 0
    event_ids: list[str] = field(default_factory=list)


@dataclass
class Increment:
    """What a batch adds to one file or one account: in total and per UTC day."""

    downloads: int = 0
    bytes_total: int = 0
    days: dict[str, DayIncrement] = field(default_factory=dict)

    def add(self, event: DownloadEvent) -> None:
        self.downloads += 1
        self.bytes_total += event.bytes
        day = self.days.setdefault(event.day.isoformat(), DayIncrement())
        day.downloads += 1
        day.bytes += event.bytes
        day.event_ids.append(event.event_id)

    def to_json(self, key: str, value: str) -> dict[str, Any]:
        """``{key: value, "downloads", "bytes", "days": [{"day", "downloads", "bytes",
        "event_ids"}]}``, days in order: the form stats-ingest stores."""
        return {key: value, "downloads": self.downloads, "bytes": self.bytes_total,
                "days": [{"day": day, "downloads": inc.downloads, "bytes": inc.bytes,
                          "event_ids": inc.event_ids} for day, inc in sorted(self.days.items())]}


def increments(events: Iterable[DownloadEvent], key: str) -> dict[str, Increment]:
    """Per-``file_id`` or per-``account_id`` increments of a de-duplicated batch."""
    if key not in ("file_id", "account_id"):
        raise ValueError(f"cannot group by {key!r}")
    result: dict[str, Increment] = {}
    for event in events:
        result.setdefault(getattr(event, key), Increment()).add(event)
    return result


def batch_increments(events: Sequence[DownloadEvent]) -> dict[str, list[dict[str, Any]]]:
    """``{"files": [...], "accounts": [...]}``: the increments of a de-duplicated batch, as
    stats-ingest takes them (sorted by id, so concurrent ingests lock rows in one order)."""
    return {plural: [inc.to_json(key, ident)
                     for ident, inc in sorted(increments(events, key).items())]
            for plural, key in (("files", "file_id"), ("accounts", "account_id"))}


def jain_index(values: Sequence[float]) -> float | None:
    """Jain's fairness index (sum x)^2 / (n * sum x^2): 1 = perfectly even, 1/n = one takes all.

    None when there is nothing to compare (no values, or all zero).
    """
    squares = sum(v * v for v in values)
    if not values or squares == 0:
        return None
    return sum(values) ** 2 / (len(values) * squares)


def day_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


@dataclass(frozen=True)
class AccountDay:
    """One account's transfer on the current UTC day against its daily limit."""

    account_id: str
    bytes_today: int
    daily_limit_bytes: int

    @property
    def share_of_limit(self) -> float:
        return self.bytes_today / self.daily_limit_bytes if self.daily_limit_bytes > 0 else 1.0


def accounts_today(rows: Iterable[Mapping[str, Any]], default_limit: int) -> list[AccountDay]:
    """Today's transfer of each account row (``bytes_today`` as the Downloader reports it).

    Rows without an account id are ignored; deleted accounts are not in the rows (their
    events are stored but they carry no traffic any more, so they are left out).
    """
    result = []
    for row in rows:
        account_id = row.get("account_id")
        if not isinstance(account_id, str) or not account_id:
            continue  # not an account row: ignore rather than report a phantom account
        limit = _count(row.get("daily_limit_bytes")) or default_limit
        result.append(AccountDay(account_id, _count(row.get("bytes_today")), limit))
    return result


def _count(value: Any) -> int:
    """A non-negative whole number from a report field; anything else counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        return 0
    return int(value)


def balance(accounts: Sequence[AccountDay]) -> dict[str, Any]:
    """How evenly today's bytes are spread: max, min, max/min and Jain's index."""
    values = [a.bytes_today for a in accounts]
    low, high = (min(values), max(values)) if values else (0, 0)
    return {"accounts": len(values), "bytes_today_max": high, "bytes_today_min": low,
            "max_min_ratio": high / low if low > 0 else None,
            "jain_index": jain_index(values)}


def projection(accounts: Sequence[AccountDay], now: datetime) -> dict[str, Any]:
    """When today's total transfer runs out at the rate observed since UTC midnight."""
    used = sum(a.bytes_today for a in accounts)
    capacity = sum(a.daily_limit_bytes for a in accounts)
    remaining = max(capacity - used, 0)
    elapsed = (now - day_start(now)).total_seconds()
    rate = used / elapsed if elapsed > 0 else 0.0
    seconds_left_in_day = SECONDS_PER_DAY - elapsed
    until = remaining / rate if rate > 0 else None
    # Limits reset at midnight: a moment after today's end is meaningless (and a tiny rate
    # would put it past the year 9999).
    before_day_end = until is not None and until < seconds_left_in_day
    return {"bytes_today": used, "limit_today": capacity, "remaining_bytes": remaining,
            "rate_bytes_per_second": rate, "seconds_until_exhausted": until,
            "exhausted_at": format_utc(now + timedelta(seconds=until)) if before_day_end
            else None,
            "exhausted_before_day_end": before_day_end}


@dataclass(frozen=True)
class CapacityTarget:
    monthly_users: int
    mb_per_user: int
    account_daily_limit_bytes: int


def accounts_needed(bytes_per_day: float, daily_limit_bytes: int) -> int:
    """ceil(bytes_per_day / daily_limit_bytes): whole accounts carrying a daily demand."""
    if daily_limit_bytes <= 0:
        raise ValueError("the daily limit must be positive")
    return math.ceil(bytes_per_day / daily_limit_bytes) if bytes_per_day > 0 else 0


def capacity_plan(rate_bytes_per_second: float, active_accounts: int,
                  target: CapacityTarget) -> dict[str, Any]:
    """Accounts needed for the observed rate and for the configured monthly target.

    target bytes/day = monthly_users x mb_per_user x 10^6 / 30.4; accounts = ceil(that / limit).
    """
    observed_per_day = rate_bytes_per_second * SECONDS_PER_DAY
    target_per_month = target.monthly_users * target.mb_per_user * BYTES_PER_MB
    target_per_day = target_per_month / DAYS_PER_MONTH
    limit = target.account_daily_limit_bytes
    for_target = accounts_needed(target_per_day, limit)
    return {"account_daily_limit_bytes": limit, "active_accounts": active_accounts,
            "observed_bytes_per_day": observed_per_day,
            "accounts_needed_observed": accounts_needed(observed_per_day, limit),
            "target_monthly_users": target.monthly_users, "target_mb_per_user": target.mb_per_user,
            "target_bytes_per_month": target_per_month, "target_bytes_per_day": target_per_day,
            "accounts_needed_target": for_target,
            "accounts_missing_for_target": max(for_target - active_accounts, 0)}


USABLE_KINDS = ("authorized_user", "shared_drive", "delegated")


def storage_plan(rows: Iterable[Mapping[str, Any]], missing: int) -> dict[str, Any]:
    """The catalogue ceiling and what to add. Every file is on every account, so the
    catalogue can grow by at most the smallest free space among active accounts; the
    ``missing`` accounts are best of the kind whose accounts have the most room (a service
    account created after 15 April 2025 owns no storage: never a plain one)."""
    active = [r for r in rows if isinstance(r.get("account_id"), str)
              and r.get("state", "active") == "active"]
    known = [r for r in active if not isinstance(r.get("storage_free_bytes"), bool)
             and isinstance(r.get("storage_free_bytes"), int)]
    smallest = min(known, key=lambda r: r["storage_free_bytes"], default=None)
    roomiest = max((r for r in known if r.get("kind") in USABLE_KINDS),
                   key=lambda r: r["storage_free_bytes"], default=None)
    states = [r.get("state") for r in rows if isinstance(r.get("account_id"), str)]
    by_kind: dict[str, int] = {}
    for row in active:
        kind = str(row.get("kind") or "unknown")
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return {"catalogue_ceiling_bytes": smallest["storage_free_bytes"] if smallest else None,
            "smallest_free_account_id": smallest["account_id"] if smallest else None,
            "accounts_with_known_storage": len(known), "active_accounts_by_kind": by_kind,
            "full_accounts": states.count("full"), "paused_accounts": states.count("paused"),
            "add_accounts": {"count": missing,
                             "kind": roomiest["kind"] if roomiest else "authorized_user",
                             "usable_kinds": list(USABLE_KINDS)}}


def summary(rows: Iterable[Mapping[str, Any]], now: datetime,
            target: CapacityTarget) -> dict[str, Any]:
    """Every derived figure from the account rows, as stored by the Downloader and served by
    ``stats-summary``. The rows are read after the batch's increments were stored, so they
    already hold them."""
    rows = list(rows)
    accounts = accounts_today(rows, target.account_daily_limit_bytes)
    projected = projection(accounts, now)
    capacity = capacity_plan(projected["rate_bytes_per_second"], len(accounts), target)
    capacity.update(storage_plan(rows, capacity["accounts_missing_for_target"]))
    return {"computed_at": format_utc(now), "day": now.astimezone(UTC).date().isoformat(),
            "share_of_limit": {a.account_id: a.share_of_limit for a in accounts},
            "balance": balance(accounts), "projection": projected, "capacity": capacity}
