"""Stats and the Downloader apply one id rule to what stats-ingest stores (the batch cap:
tests/unit/stats/test_compute.py and tests/unit/downloader/test_increments.py), and every
service writes one timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fileserver.contracts import timestamps
from fileserver.downloader import validation as downloader
from fileserver.errors import BadRequest
from fileserver.stats import compute as stats

IDS = ["f1", "A.b:c-d_e", "a" * 128, "a" * 129, "-lead", "a b", "a\n", "", "é", 7, None]


def stats_takes(value: object) -> bool:
    try:
        stats.parse_event({"event_id": value, "file_id": "f", "account_id": "a", "bytes": 1,
                           "at": "2026-12-01T10:00:00Z"})
    except ValueError:
        return False
    return True


def downloader_takes(value: object) -> bool:
    try:
        downloader.ident(value, "event_id")
    except BadRequest:
        return False
    return True


@pytest.mark.parametrize("value", IDS)
def test_stats_refuses_exactly_the_ids_the_downloader_refuses(value):
    assert stats_takes(value) == downloader_takes(value)
    assert downloader_takes(value) == (value in IDS[:3])


def test_one_timestamp_format():
    moment = datetime(2026, 12, 1, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert timestamps.format_utc(moment) == "2026-12-01T10:00:00.123Z"
    assert timestamps.format_utc(moment, timespec="seconds") == "2026-12-01T10:00:00Z"
    assert timestamps.parse_utc("2026-12-01T10:00:00.123Z") == moment.replace(microsecond=123000)
    assert timestamps.parse_utc(timestamps.utc_stamp()).tzinfo is not None
    assert timestamps.parse_utc("2026-12-01T10:00:00").tzinfo is None  # callers refuse it
    now = datetime.now(UTC)
    assert abs(timestamps.parse_utc(timestamps.utc_stamp()) - now) < timedelta(seconds=5)
