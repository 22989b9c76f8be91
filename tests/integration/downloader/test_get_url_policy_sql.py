"""The balancing policy runs inside PostgreSQL (``fs_get_url``, migration 003); its choice must
be the one of the Python reference, ``tests.support.balancer_reference.preference``, for any
loads, limits, file size and last account (property test on a real PostgreSQL)."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fileserver.downloader.db import Database
from fileserver.downloader.repository import RegistryRepository
from tests.support.balancer_reference import Holder, preference

DAY = date(2026, 11, 25)
IDS = ["a", "a0", "b", "B", "acc1", "acc10", "acc2", "z"]  # code point order matters

holders = st.dictionaries(
    st.sampled_from(IDS),
    st.tuples(st.integers(0, 2_000), st.integers(0, 2_500)),  # (bytes today, daily limit)
    min_size=1, max_size=len(IDS))


def reset(db: Database) -> None:
    db.run("TRUNCATE accounts, files, replicas, account_usage, file_cursor, outbox")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(loads=holders, size=st.integers(1, 600),
       last=st.one_of(st.none(), st.sampled_from(IDS + ["", "m"])))
@example(loads={"a": (0, 10**6), "b": (0, 10**6), "z": (0, 10**6)}, size=10, last="b")  # z
@example(loads={"a": (0, 10**6), "b": (0, 10**6), "z": (0, 10**6)}, size=10, last="m")  # z
@example(loads={"a": (500, 10**6), "b": (0, 10**6), "z": (100, 10**6)}, size=10, last="")  # b
@example(loads={"a": (0, 5), "b": (990, 1000), "z": (0, 10**6)}, size=10, last="a")  # z
def test_sql_chooses_as_the_python_reference(db: Database, loads, size, last) -> None:
    reset(db)
    registry = RegistryRepository(db)
    registry.put_file("f", "f.bin", size, None, 1)
    for account_id, (used, limit) in loads.items():
        registry.put_account(account_id, f"{account_id}@x.test", limit, True, 1)
        registry.put_replica("f", account_id, f"d-{account_id}", f"http://d/{account_id}", 1)
        db.run("INSERT INTO account_usage (account_id, day, bytes_today) VALUES (:a, :d, :b)",
               a=account_id, d=DAY, b=used)
    if last is not None:
        db.run("INSERT INTO file_cursor (file_id, last_account_id) VALUES ('f', :l)", l=last)

    [got] = db.run("SELECT * FROM fs_get_url('f', :d, 'e1', '2026-11-25T10:00:00.000Z')", d=DAY)

    expected = preference([Holder(a, f"http://d/{a}", limit, used)
                           for a, (used, limit) in loads.items()], last or None, size)
    if not expected:
        assert got["outcome"] == "full"
        assert db.run("SELECT count(*) AS n FROM outbox")[0]["n"] == 0
        return
    assert (got["outcome"], got["account_id"]) == ("ok", expected[0].account_id)
    assert got["bytes_today"] == expected[0].bytes_today + size
    [event] = db.run("SELECT event FROM outbox")
    assert event["event"] == {"event_id": "e1", "file_id": "f", "account_id": got["account_id"],
                              "bytes": size, "at": "2026-11-25T10:00:00.000Z"}
    assert db.run("SELECT last_account_id FROM file_cursor")[0]["last_account_id"] == \
        got["account_id"]
