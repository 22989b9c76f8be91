"""stats-ingest's checks of Stats' increments: a faulty payload never reaches the reports."""

from __future__ import annotations

import copy

import pytest

from fileserver.contracts.stats_ingest import MAX_BATCH_EVENTS
from fileserver.downloader.increments import parse_increments
from fileserver.errors import BadRequest


def day(when: str, ids: list[str], size: int = 10) -> dict:
    return {"day": when, "downloads": len(ids), "bytes": size * len(ids), "event_ids": ids}


def item(key: str, ident: str, *days: dict) -> dict:
    return {key: ident, "downloads": sum(d["downloads"] for d in days),
            "bytes": sum(d["bytes"] for d in days), "days": list(days)}


GOOD = {"files": [item("file_id", "f1", day("2026-11-24", ["e1"]),
                       day("2026-11-25", ["e2", "e3"]))],
        "accounts": [item("account_id", "a1", day("2026-11-24", ["e1"]),
                          day("2026-11-25", ["e2"])),
                     item("account_id", "a2", day("2026-11-25", ["e3"]))]}


def test_good_increments_become_rows_and_the_events_they_cover():
    batch = parse_increments(GOOD)
    assert batch.file_totals == [{"id": "f1", "downloads": 3, "bytes": 30}]
    assert batch.file_days == [{"id": "f1", "day": "2026-11-24", "downloads": 1, "bytes": 10},
                               {"id": "f1", "day": "2026-11-25", "downloads": 2, "bytes": 20}]
    assert [t["id"] for t in batch.account_totals] == ["a1", "a2"]
    assert batch.events == [{"event_id": "e1", "day": "2026-11-24"},
                            {"event_id": "e2", "day": "2026-11-25"},
                            {"event_id": "e3", "day": "2026-11-25"}]
    assert parse_increments(None).events == []


def broken(change) -> dict:
    payload = copy.deepcopy(GOOD)
    change(payload)
    return payload


@pytest.mark.parametrize("payload, problem", [
    ("x", "object"),
    ({"files": []}, "accounts must be a list"),
    (broken(lambda p: p["files"][0].update(file_id="bad id")), "file_id"),
    (broken(lambda p: p["files"][0]["days"][0].update(downloads=2)), "one event id per"),
    (broken(lambda p: p["files"][0].update(bytes=31)), "sum of its days"),
    (broken(lambda p: p["files"][0].update(downloads=4)), "sum of its days"),
    (broken(lambda p: p["files"][0]["days"][1]["event_ids"].__setitem__(1, "e1")), "twice"),
    (broken(lambda p: p["accounts"].pop()), "same events"),
    (broken(lambda p: p["accounts"][1]["days"][0].update(day="2026-11-24")), "same events"),
    (broken(lambda p: p["files"].append(copy.deepcopy(p["files"][0]))), "twice"),
    (broken(lambda p: p["files"][0]["days"][0].update(day="2026-13-01")), "YYYY-MM-DD"),
    (broken(lambda p: p["files"][0]["days"][0].update(bytes=-1)), "bytes"),
    (broken(lambda p: p["files"][0].update(days=[])), "non-empty"),
])
def test_faulty_increments_are_refused_with_the_reason(payload, problem):
    with pytest.raises(BadRequest, match=problem):
        parse_increments(payload)


def test_an_item_and_a_day_are_named_once():
    same_file = {"files": [item("file_id", "f1", day("2026-11-25", ["e1"])),
                           item("file_id", "f1", day("2026-11-25", ["e2"]))],
                 "accounts": [item("account_id", "a1", day("2026-11-25", ["e1", "e2"]))]}
    with pytest.raises(BadRequest, match="each file_id once"):
        parse_increments(same_file)
    two_days = {"files": [item("file_id", "f1", day("2026-11-25", ["e1"]),
                               day("2026-11-25", ["e2"]))],
                "accounts": [item("account_id", "a1", day("2026-11-25", ["e1", "e2"]))]}
    with pytest.raises(BadRequest, match="each day once"):
        parse_increments(two_days)


def test_at_most_max_events_per_request():
    ids = [f"e{n}" for n in range(MAX_BATCH_EVENTS + 1)]
    payload = {"files": [item("file_id", "f1", day("2026-11-25", ids))],
               "accounts": [item("account_id", "a1", day("2026-11-25", ids))]}
    with pytest.raises(BadRequest, match="at most"):
        parse_increments(payload)
