"""Every computation of fileserver.stats.compute, day boundaries and duplicates included."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fileserver.errors import BadRequest
from fileserver.stats import compute as c

GB = 10**9


def event(event_id="e1", file_id="f1", account_id="a1", size=100, at="2026-11-25T10:00:00Z"):
    return {"event_id": event_id, "file_id": file_id, "account_id": account_id, "bytes": size,
            "at": at}


def test_an_event_counts_on_its_own_utc_day():
    late = c.parse_event(event(at="2026-11-24T23:59:59.999Z"))
    early = c.parse_event(event(at="2026-11-25T00:00:00Z"))
    assert late.day == date(2026, 11, 24)
    assert early.day == date(2026, 11, 25)


def test_offsets_are_converted_to_utc_before_bucketing():
    # 01:30 in UTC+02:00 is 23:30 UTC of the previous day.
    parsed = c.parse_event(event(at="2026-11-25T01:30:00+02:00"))
    assert parsed.day == date(2026, 11, 24)
    assert c.format_utc(parsed.at) == "2026-11-24T23:30:00.000Z"


@pytest.mark.parametrize("bad, problem", [
    ({**event(), "bytes": -1}, "bytes"),
    ({**event(), "bytes": True}, "bytes"),
    ({**event(), "bytes": "10"}, "bytes"),
    ({**event(), "event_id": ""}, "event_id"),
    ({**event(), "file_id": None}, "file_id"),
    ({**event(), "account_id": "x" * 129}, "account_id"),
    ({**event(), "file_id": "has space"}, "file_id"),
    ({**event(), "file_id": "-leading-dash"}, "file_id"),
    ({**event(), "bytes": 2**63}, "bytes"),
    ({**event(), "at": "2026-11-25T10:00:00"}, "timezone"),
    ({**event(), "at": "yesterday"}, "ISO-8601"),
    ("not an object", "object"),
])
def test_invalid_events_are_rejected_with_the_reason(bad, problem):
    with pytest.raises(ValueError, match=problem):
        c.parse_event(bad)


def test_a_batch_with_an_invalid_event_is_rejected_whole_listing_each_problem():
    with pytest.raises(BadRequest) as caught:
        c.parse_batch([event(), {**event("e2"), "bytes": -5}, event("e3", at="nope")])
    assert [p["index"] for p in caught.value.details["invalid"]] == [1, 2]


@pytest.mark.parametrize("raw", [None, [], "x", 5, [event()] * (c.MAX_BATCH_EVENTS + 1)])
def test_the_events_field_must_be_a_non_empty_bounded_list(raw):
    with pytest.raises(BadRequest):
        c.parse_batch(raw)


def test_ids_of_uuids_object_ids_and_128_characters_are_accepted():
    for good in ("0f8c2a1e9b7d4c3a8e6f5d4c3b2a1908", "665f1c2e9a3b4d5e6f708192", "a" * 128,
                 "acc:1.2_x-y"):
        assert c.parse_event(event(event_id=good, file_id=good)).file_id == good


def test_a_single_event_object_is_a_batch_of_one():
    assert [e.event_id for e in c.parse_batch(event("solo"))] == ["solo"]


def test_duplicates_within_a_batch_count_once():
    events = c.parse_batch([event("e1", size=10), event("e2", size=20), event("e1", size=10),
                            event("e1", size=10)])
    unique, dropped = c.dedupe(events)
    assert [e.event_id for e in unique] == ["e1", "e2"]
    assert dropped == 2


def test_increments_per_file_and_per_account_split_bytes_by_utc_day():
    events, _ = c.dedupe(c.parse_batch([
        event("e1", "f1", "a1", 100, "2026-11-24T23:59:59Z"),
        event("e2", "f1", "a2", 50, "2026-11-25T00:00:01Z"),
        event("e3", "f2", "a1", 7, "2026-11-25T12:00:00Z"),
        event("e1", "f1", "a1", 100, "2026-11-24T23:59:59Z"),  # duplicate
    ]))
    files = c.increments(events, "file_id")
    assert files["f1"].downloads == 2 and files["f1"].bytes_total == 150
    assert {d: (i.downloads, i.bytes, i.event_ids) for d, i in files["f1"].days.items()} == {
        "2026-11-24": (1, 100, ["e1"]), "2026-11-25": (1, 50, ["e2"])}
    accounts = c.increments(events, "account_id")
    assert accounts["a1"].downloads == 2
    assert {d: i.bytes for d, i in accounts["a1"].days.items()} == {"2026-11-24": 100,
                                                                   "2026-11-25": 7}
    assert accounts["a2"].bytes_total == 50


def test_batch_increments_is_what_stats_ingest_stores_sorted_by_id():
    events, _ = c.dedupe(c.parse_batch([
        event("e2", "f2", "a1", 7, "2026-11-25T12:00:00Z"),
        event("e1", "f1", "a2", 100, "2026-11-24T23:59:59Z"),
        event("e3", "f1", "a1", 50, "2026-11-25T00:00:01Z"),
    ]))
    sent = c.batch_increments(events)
    assert sent["files"] == [
        {"file_id": "f1", "downloads": 2, "bytes": 150, "days": [
            {"day": "2026-11-24", "downloads": 1, "bytes": 100, "event_ids": ["e1"]},
            {"day": "2026-11-25", "downloads": 1, "bytes": 50, "event_ids": ["e3"]}]},
        {"file_id": "f2", "downloads": 1, "bytes": 7, "days": [
            {"day": "2026-11-25", "downloads": 1, "bytes": 7, "event_ids": ["e2"]}]}]
    assert [(a["account_id"], a["downloads"], a["bytes"]) for a in sent["accounts"]] == [
        ("a1", 2, 57), ("a2", 1, 100)]
    assert c.batch_increments([]) == {"files": [], "accounts": []}


def test_jain_index_values():
    assert c.jain_index([5, 5, 5, 5]) == pytest.approx(1.0)
    assert c.jain_index([10, 0, 0, 0]) == pytest.approx(0.25)  # 1/n: one takes all
    assert c.jain_index([1, 2, 3]) == pytest.approx(36 / (3 * 14))
    assert c.jain_index([]) is None
    assert c.jain_index([0, 0]) is None


def test_accounts_today_reads_the_rows_with_the_default_limit_for_a_missing_one():
    rows = [{"account_id": "a1", "bytes_today": 2000, "daily_limit_bytes": 4000},
            {"account_id": "a2", "bytes_today": 0, "daily_limit_bytes": None}]
    days = c.accounts_today(rows, 10_000)
    assert days == [c.AccountDay("a1", 2000, 4000), c.AccountDay("a2", 0, 10_000)]
    assert days[0].share_of_limit == 0.5


def test_balance_reports_spread_and_fairness():
    figures = c.balance([c.AccountDay("a", 30, 100), c.AccountDay("b", 10, 100)])
    assert figures["bytes_today_max"] == 30 and figures["bytes_today_min"] == 10
    assert figures["max_min_ratio"] == 3.0
    assert figures["jain_index"] == pytest.approx(1600 / (2 * 1000))
    idle = c.balance([c.AccountDay("a", 5, 100), c.AccountDay("b", 0, 100)])
    assert idle["max_min_ratio"] is None


def test_projection_at_the_rate_since_midnight():
    now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # a quarter of the day has passed
    accounts = [c.AccountDay("a", 25 * GB, 100 * GB), c.AccountDay("b", 25 * GB, 100 * GB)]
    figures = c.projection(accounts, now)
    assert figures["rate_bytes_per_second"] == pytest.approx(50 * GB / 21_600)
    assert figures["remaining_bytes"] == 150 * GB
    # 150 GB left at 50 GB per 6 h = 18 h: not before the day ends (18 h left).
    assert figures["seconds_until_exhausted"] == pytest.approx(18 * 3600)
    assert figures["exhausted_before_day_end"] is False
    assert figures["exhausted_at"] is None  # limits reset at midnight first
    hot = c.projection([c.AccountDay("a", 80 * GB, 100 * GB)], now)
    assert hot["seconds_until_exhausted"] == pytest.approx(1.5 * 3600)
    assert hot["exhausted_at"] == "2026-11-25T07:30:00.000Z"
    assert hot["exhausted_before_day_end"] is True


def test_a_tiny_rate_projects_no_moment_instead_of_overflowing():
    now = datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC)
    figures = c.projection([c.AccountDay("a", 1, 10**18)], now)
    assert figures["seconds_until_exhausted"] > 10**13  # past the year 9999
    assert figures["exhausted_at"] is None


def test_projection_with_no_traffic_never_runs_out():
    figures = c.projection([c.AccountDay("a", 0, GB)], datetime(2026, 11, 25, 0, tzinfo=UTC))
    assert figures["seconds_until_exhausted"] is None
    assert figures["exhausted_before_day_end"] is False


def test_capacity_plan_with_the_seed_numbers():
    # 1,000,000 users x 500 MB = 5e14 B = 500 TB/month; / 30.4 days = 1.6447e13 B/day;
    # / 100 GB per account per day = 164.47 -> 165 accounts.
    target = c.CapacityTarget(1_000_000, 500, 100 * GB)
    plan = c.capacity_plan(0.0, 20, target)
    assert plan["target_bytes_per_month"] == 500 * 10**12
    assert plan["target_bytes_per_day"] == pytest.approx(500 * 10**12 / 30.4)
    assert plan["accounts_needed_target"] == 165
    assert plan["accounts_missing_for_target"] == 145
    assert plan["accounts_needed_observed"] == 0


def test_capacity_plan_for_the_observed_rate():
    target = c.CapacityTarget(1, 1, 100 * GB)
    # 250 GB/day observed -> 3 accounts of 100 GB/day.
    plan = c.capacity_plan(250 * GB / 86_400, 2, target)
    assert plan["observed_bytes_per_day"] == pytest.approx(250 * GB)
    assert plan["accounts_needed_observed"] == 3
    assert c.accounts_needed(100 * GB, 100 * GB) == 1
    assert c.accounts_needed(100 * GB + 1, 100 * GB) == 2


def test_summary_puts_the_figures_together():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    rows = [{"account_id": "a1", "bytes_today": 10 * GB, "daily_limit_bytes": 100 * GB}]
    figures = c.summary(rows, now, c.CapacityTarget(1_000_000, 500, 100 * GB))
    assert figures["computed_at"] == "2026-11-25T12:00:00.000Z"
    assert figures["day"] == "2026-11-25"
    assert figures["share_of_limit"] == {"a1": 0.1}
    assert figures["balance"]["jain_index"] == 1.0
    assert figures["capacity"]["accounts_needed_observed"] == 1  # 20 GB/day at this rate


def test_malformed_report_rows_do_not_break_the_figures():
    rows = [{"account_id": "a1", "bytes_today": "lots", "daily_limit_bytes": -3},
            {"bytes_today": 5}, {"account_id": "a2", "bytes_today": 2.0, "daily_limit_bytes": 4}]
    days = c.accounts_today(rows, 100)
    assert days == [c.AccountDay("a1", 0, 100), c.AccountDay("a2", 2, 4)]


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=50))
def test_jain_index_lies_between_one_over_n_and_one(values):
    index = c.jain_index(values)
    if sum(values) == 0:
        assert index is None
    else:
        assert 1 / len(values) - 1e-9 <= index <= 1 + 1e-9


@given(st.lists(st.sampled_from(["e1", "e2", "e3", "e4"]), max_size=30))
def test_dedupe_keeps_each_event_id_once_in_first_seen_order(ids):
    events = [c.parse_event(event(i)) for i in ids]
    unique, dropped = c.dedupe(events)
    assert [e.event_id for e in unique] == list(dict.fromkeys(ids))
    assert dropped == len(ids) - len(set(ids))


def test_the_capacity_plan_adds_the_catalogue_ceiling_and_which_accounts_to_add():
    rows = [
        {"account_id": "u1", "bytes_today": 0, "daily_limit_bytes": 100 * GB, "state": "active",
         "kind": "authorized_user", "storage_free_bytes": 9 * GB},
        {"account_id": "s1", "bytes_today": 0, "daily_limit_bytes": 100 * GB, "state": "active",
         "kind": "shared_drive", "storage_free_bytes": 900 * GB},
        {"account_id": "f1", "bytes_today": 0, "daily_limit_bytes": 100 * GB, "state": "full",
         "kind": "authorized_user", "storage_free_bytes": 0},
        {"account_id": "x1", "bytes_today": 0, "daily_limit_bytes": 100 * GB, "state": "active",
         "kind": "service_account", "storage_free_bytes": None},
    ]
    target = c.CapacityTarget(monthly_users=1000, mb_per_user=500, account_daily_limit_bytes=GB)
    capacity = c.summary(rows, datetime(2026, 12, 1, 12, tzinfo=UTC), target)["capacity"]
    assert capacity["catalogue_ceiling_bytes"] == 9 * GB  # the full one receives nothing
    assert capacity["smallest_free_account_id"] == "u1"
    assert capacity["accounts_with_known_storage"] == 2 and capacity["full_accounts"] == 1
    assert capacity["active_accounts_by_kind"] == {"authorized_user": 1, "shared_drive": 1,
                                                   "service_account": 1}
    assert capacity["add_accounts"] == {"count": capacity["accounts_missing_for_target"],
                                        "kind": "shared_drive",
                                        "usable_kinds": ["authorized_user", "shared_drive",
                                                         "delegated"]}
    assert capacity["accounts_missing_for_target"] == 17 - 4
