"""The increments stats-ingest stores, as Stats computed them: checked, never recomputed.

Stats sends ``{"files": [...], "accounts": [...]}``; each item is one file (or account) with
what the batch adds to it in total and per UTC day, every day naming the ids of the events
it covers::

    {"file_id": "f1", "downloads": 3, "bytes": 30,
     "days": [{"day": "2026-11-25", "downloads": 3, "bytes": 30, "event_ids": ["e1", ...]}]}

The checks keep a faulty payload from corrupting the reports: a day counts one download per
event id, an item's totals equal its days, and the files and the accounts cover exactly the
same events on the same days (each event once on each side).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fileserver.contracts.stats_ingest import MAX_BATCH_EVENTS
from fileserver.downloader import validation as v
from fileserver.errors import BadRequest


@dataclass
class Increments:
    """Rows to add: totals ``(id, downloads, bytes)`` and days ``(id, day, downloads,
    bytes)`` per side, and the ``(event_id, day)`` of every event covered, sorted by id."""

    file_totals: list[dict[str, Any]] = field(default_factory=list)
    file_days: list[dict[str, Any]] = field(default_factory=list)
    account_totals: list[dict[str, Any]] = field(default_factory=list)
    account_days: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)


def parse_increments(raw: Any) -> Increments:
    """The checked increments of a stats-ingest body (None: nothing to store)."""
    if raw is None:
        return Increments()
    if not isinstance(raw, dict):
        raise BadRequest("increments must be an object with files and accounts")
    result = Increments()
    file_events = _side(raw.get("files"), "files", "file_id", result.file_totals,
                        result.file_days)
    account_events = _side(raw.get("accounts"), "accounts", "account_id",
                           result.account_totals, result.account_days)
    if file_events != account_events:
        raise BadRequest("increments.files and increments.accounts must cover the same "
                         "events on the same days")
    result.events = [{"event_id": e, "day": d} for e, d in sorted(file_events.items())]
    return result


def _side(raw: Any, name: str, key: str, totals: list[dict[str, Any]],
          days: list[dict[str, Any]]) -> dict[str, str]:
    """Check one side's items into ``totals`` and ``days``; answer its ``event_id -> day``."""
    if not isinstance(raw, list):
        raise BadRequest(f"increments.{name} must be a list")
    covered: dict[str, str] = {}
    for index, item in enumerate(raw):
        where = f"increments.{name}[{index}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object")
        ident = v.ident(item.get(key), f"{where}.{key}")
        item_days = _days(item.get("days"), where, covered)
        _same_sums(item, item_days, where)
        totals.append({"id": ident, "downloads": item["downloads"], "bytes": item["bytes"]})
        days.extend({"id": ident, **day} for day in item_days)
    if len({t["id"] for t in totals}) != len(totals):
        raise BadRequest(f"increments.{name} must name each {key} once")
    return covered


def _days(raw: Any, where: str, covered: dict[str, str]) -> list[dict[str, Any]]:
    """An item's days, each with its events recorded in ``covered`` (each event once)."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest(f"{where}.days must be a non-empty list")
    result = []
    for index, day in enumerate(raw):
        at = f"{where}.days[{index}]"
        if not isinstance(day, dict):
            raise BadRequest(f"{at} must be an object")
        when = v.day(day.get("day"), f"{at}.day").isoformat()
        ids = day.get("event_ids")
        if not isinstance(ids, list) or v.integer(day.get("downloads"), f"{at}.downloads",
                                                  1) != len(ids):
            raise BadRequest(f"{at}.event_ids must list one event id per download")
        for event_id in ids:
            if v.ident(event_id, f"{at}.event_ids[]") in covered:
                raise BadRequest(f"{at}: event {event_id} is counted twice")
            covered[event_id] = when
            if len(covered) > MAX_BATCH_EVENTS:
                raise BadRequest(f"at most {MAX_BATCH_EVENTS} events per request")
        result.append({"day": when, "downloads": len(ids),
                       "bytes": v.integer(day.get("bytes"), f"{at}.bytes")})
    if len({d["day"] for d in result}) != len(result):
        raise BadRequest(f"{where}.days must name each day once")
    return result


def _same_sums(item: dict[str, Any], days: list[dict[str, Any]], where: str) -> None:
    """An item's ``downloads`` and ``bytes`` must equal the sums of its days."""
    for name in ("downloads", "bytes"):
        if v.integer(item.get(name), f"{where}.{name}") != sum(d[name] for d in days):
            raise BadRequest(f"{where}.{name} must equal the sum of its days")
