"""The Downloader's repositories and services against a real PostgreSQL (fresh database each)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack.process import free_port
from fileserver.downloader.db import Database, migrate, migration_files
from fileserver.downloader.outbox import OutboxRelay
from fileserver.downloader.reports import ReportService
from fileserver.downloader.repository import OutboxRepository, RegistryRepository
from fileserver.downloader.service import DownloadService
from fileserver.downloader.stats_repository import StatsRepository
from fileserver.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from tests.integration.downloader.stats_payload import body
from tests.support.downloader_rows import bytes_today, unsent

NOW = datetime(2026, 11, 25, 23, 0, 0, tzinfo=UTC)


def seed(db: Database, accounts: int, files: dict[str, int], limit: int = 10**12) -> None:
    registry = RegistryRepository(db)
    for i in range(accounts):
        registry.put_account(f"acc{i}", f"acc{i}@example.com", limit, True, 1)
    for file_id, size in files.items():
        registry.put_file(file_id, f"{file_id}.bin", size, None, 1)
        for i in range(accounts):
            registry.put_replica(file_id, f"acc{i}", f"d-{file_id}-{i}",
                                 f"http://drive.test/uc?id=d-{file_id}-{i}&export=download", 1)


def test_migrations_are_idempotent_and_safe_concurrently(empty_database_url: str) -> None:
    databases = [Database(empty_database_url) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        applied = list(pool.map(migrate, databases))
    every = [version for version, _sql in migration_files()]
    assert every[:4] == ["001_initial", "002_outbox_ack", "003_get_url_function",
                         "004_stats_event_horizon"]
    assert sorted(len(a) for a in applied) == [0, 0, 0, len(every)]
    assert migrate(databases[0]) == []
    versions = databases[0].run("SELECT version FROM schema_migrations")
    assert sorted(row["version"] for row in versions) == every
    for database in databases:
        database.close()


def test_get_url_rotates_in_order_and_hands_out_the_replica_url(db: Database) -> None:
    seed(db, 4, {"f1": 1000})
    service = DownloadService(db, clock=lambda: NOW)
    picks = [service.get_url("f1") for _ in range(8)]
    assert [p["account_id"] for p in picks] == ["acc0", "acc1", "acc2", "acc3"] * 2
    assert picks[1]["url"] == "http://drive.test/uc?id=d-f1-1&export=download"
    assert picks[0]["size"] == 1000 and picks[0]["name"] == "f1.bin"
    assert bytes_today(db, NOW.date()) == {f"acc{i}": 2000 for i in range(4)}
    assert unsent(db) == 8


def test_get_url_errors(db: Database) -> None:
    seed(db, 2, {"f1": 600}, limit=1000)
    registry = RegistryRepository(db)
    registry.put_file("bare", "bare.bin", 10, None, 1)
    service = DownloadService(db, clock=lambda: NOW)
    with pytest.raises(NotFound):
        service.get_url("nope")
    with pytest.raises(BadRequest):
        service.get_url("../etc")
    with pytest.raises(Conflict) as conflict:
        service.get_url("bare")
    assert conflict.value.details == {"status": "replicating"}
    assert {service.get_url("f1")["account_id"] for _ in range(2)} == {"acc0", "acc1"}
    with pytest.raises(ServiceUnavailable) as full:
        service.get_url("f1")
    assert full.value.headers["Retry-After"] == "3600"  # 23:00 UTC → midnight
    registry.delete_file("f1", 2)
    with pytest.raises(NotFound):
        service.get_url("f1")


def test_disabled_or_deleted_accounts_are_skipped(db: Database) -> None:
    seed(db, 3, {"f1": 10})
    registry = RegistryRepository(db)
    registry.put_account("acc1", "acc1@example.com", 10**12, False, 2)
    registry.delete_replica("f1", "acc2", 2)
    service = DownloadService(db, clock=lambda: NOW)
    assert {service.get_url("f1")["account_id"] for _ in range(4)} == {"acc0"}


def test_concurrent_reservations_never_pass_the_limit(db: Database) -> None:
    seed(db, 3, {"f1": 100}, limit=1000)  # room for exactly 30 URLs
    service = DownloadService(db, clock=lambda: NOW)

    def attempt(_: int) -> str:
        try:
            return service.get_url("f1")["account_id"]
        except ServiceUnavailable:
            return "full"

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(attempt, range(45)))
    assert results.count("full") == 15
    assert bytes_today(db, NOW.date()) == {"acc0": 1000, "acc1": 1000, "acc2": 1000}
    assert unsent(db) == 30


def test_outbox_relay_keeps_events_until_stats_ingest_records_them(db: Database,
                                                                    async_gateway) -> None:
    seed(db, 2, {"f1": 10})
    service = DownloadService(db, clock=lambda: NOW)
    ids = {service.get_url("f1")["event_id"] for _ in range(5)}
    outbox = OutboxRepository(db)
    down = OutboxRelay(db, "http://127.0.0.1:9", timeout=0.5)
    assert down.drain() == 0
    async_gateway.fail_next = 1
    relay = OutboxRelay(db, async_gateway.url)
    assert relay.drain() == 0  # the 503 keeps the rows unsent
    assert unsent(db) == 5
    assert relay.drain() == 5
    assert (unsent(db), outbox.pending()) == (0, 5)  # sent, not yet confirmed
    batch = async_gateway.batches[0]
    assert batch["path"] == "/async-function/stats-compute"
    assert {e["event_id"] for e in batch["body"]["events"]} == ids
    assert set(batch["body"]["events"][0]) == {"event_id", "file_id", "account_id", "bytes", "at"}
    assert relay.drain() == 0  # nothing due yet
    # Stats lost the batch (faasd's queue-worker does not retry): it is sent again later.
    db.run("UPDATE outbox SET sent_at = now() - interval '301 seconds' RETURNING id")
    assert relay.drain() == 5
    ReportService(StatsRepository(db), clock=lambda: NOW).ingest(
        body(batch["body"]["events"][:3]))
    relay.drain()
    assert outbox.pending() == 2  # the three ingested events are purged


class ProbingGateway(BaseHTTPRequestHandler):
    """Answers ``/async-function/stats-compute`` with ``status`` after running ``probe``
    while the relay's POST is still open."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.probe()  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_the_relay_holds_no_row_lock_and_no_transaction_while_it_posts(db: Database) -> None:
    seed(db, 1, {"f1": 10})
    service = DownloadService(db, clock=lambda: NOW)
    for _ in range(3):
        service.get_url("f1")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), ProbingGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    seen: list[tuple[int, int, int]] = []

    def probe() -> None:
        locked = len(db.run("SELECT id FROM outbox FOR UPDATE NOWAIT"))  # raises if locked
        idle_in_transaction = int(db.run(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction'")[0]["n"])
        # A second relay meanwhile finds the rows claimed (marked sent): nothing to send twice.
        seen.append((locked, idle_in_transaction, OutboxRelay(db, url).send_batch()))

    server.probe, server.status = probe, 503  # type: ignore[attr-defined]
    try:
        relay = OutboxRelay(db, url)
        assert relay.drain() == 0 and relay.refused  # refused: released, not lost
        assert seen == [(3, 0, 0)]
        server.status = 202  # type: ignore[attr-defined]
        assert relay.drain() == 3
        assert seen[1] == (3, 0, 0)
        assert unsent(db) == 0
    finally:
        server.shutdown()
        server.server_close()


def test_a_claim_whose_relay_died_is_sent_again_after_resend_after(db: Database,
                                                                   async_gateway) -> None:
    seed(db, 1, {"f1": 10})
    DownloadService(db, clock=lambda: NOW).get_url("f1")
    outbox = OutboxRepository(db)
    assert len(outbox.claim(10, resend_after=300)) == 1  # then the relay dies mid-POST
    assert OutboxRelay(db, async_gateway.url).drain() == 0  # not due again yet
    db.run("UPDATE outbox SET sent_at = now() - interval '301 seconds' RETURNING id")
    assert OutboxRelay(db, async_gateway.url).drain() == 1
    with pytest.raises(ValueError):
        OutboxRelay(db, async_gateway.url, timeout=30, resend_after=60)


def test_relay_thread_sends_soon_after_a_download(db: Database, async_gateway) -> None:
    seed(db, 1, {"f1": 10})
    # Idle polling every 60 s: only the wake-up can make it send within the 20 s window,
    # which is wide enough for a loaded machine.
    relay = OutboxRelay(db, async_gateway.url, idle_seconds=60)
    relay.start()
    try:
        service = DownloadService(db, on_event=relay.wake.set)
        event_id = service.get_url("f1")["event_id"]
        done = threading.Event()
        for _ in range(400):
            if unsent(db) == 0 and async_gateway.batches:
                done.set()
                break
            threading.Event().wait(0.05)
        assert done.is_set()
        assert async_gateway.batches[0]["body"]["events"][0]["event_id"] == event_id
    finally:
        relay.stop()


def ingest_body(events: list[tuple[str, str, str, int, str]], computed_at: str) -> dict:
    """What stats-compute sends for these events (increments), with a summary."""
    return {**body([{"event_id": e, "file_id": f, "account_id": a, "bytes": b,
                     "at": f"{d}T10:00:00Z"} for e, f, a, b, d in events]),
            "summary": {"computed_at": computed_at, "spread": 1.0}}


def test_ingest_is_idempotent_and_reports_read_the_rows(db: Database) -> None:
    seed(db, 2, {"f1": 10, "f2": 20})
    reports = ReportService(StatsRepository(db), clock=lambda: NOW)
    today, yesterday = NOW.date().isoformat(), "2026-11-24"
    payload = ingest_body([("e1", "f1", "acc0", 10, today), ("e2", "f2", "acc1", 20, today),
                           ("e3", "f2", "acc0", 20, yesterday), ("e1", "f1", "acc0", 10, today)],
                          "2026-11-25T23:00:00Z")
    assert reports.ingest(payload) == {"applied": 3, "duplicates": 0, "expired": 0}
    assert reports.ingest(payload) == {"applied": 0, "duplicates": 3, "expired": 0, "refused": {
        "duplicates": ["e1", "e2", "e3"], "expired": []}}  # refused whole, nothing added
    f2 = reports.file_one("f2")
    assert (f2["downloads"], f2["bytes_today"], f2["bytes_total"]) == (2, 20, 40)
    acc0 = reports.account_one("acc0")
    assert (acc0["downloads"], acc0["bytes_today"], acc0["bytes_total"]) == (2, 10, 30)
    assert acc0["share_of_limit_today"] == 10 / 10**12
    listed = reports.file_list(1, 0, "bytes_total", "desc")
    assert listed["total"] == 2 and [r["file_id"] for r in listed["items"]] == ["f2"]
    assert reports.file_list(1, 1, "bytes_total", "desc")["items"][0]["file_id"] == "f1"
    with pytest.raises(BadRequest):
        reports.file_list(10, 0, "size; DROP TABLE files", None)
    assert reports.summary()["spread"] == 1.0
    reports.ingest({"summary": {"computed_at": "2026-11-25T22:00:00Z", "spread": 9}})
    assert reports.summary()["spread"] == 1.0  # an older summary never replaces a newer one


def test_ingest_accepts_events_of_deleted_files_and_rejects_bad_input(db: Database) -> None:
    reports = ReportService(StatsRepository(db), clock=lambda: NOW)
    payload = ingest_body([("e9", "gone", "gone-acc", 5, "2026-11-25")], "2026-11-25T23:00:00Z")
    assert reports.ingest(payload)["applied"] == 1
    for bad in ({"increments": "x"}, {"increments": {"files": [{"file_id": "e1"}]}},
                {"summary": {"computed_at": "yesterday"}}):
        with pytest.raises(BadRequest):
            reports.ingest(bad)


def test_relay_backs_off_while_the_gateway_is_down(db: Database, async_gateway) -> None:
    seed(db, 1, {"f1": 10})
    async_gateway.fail_next = 1000
    relay = OutboxRelay(db, async_gateway.url, idle_seconds=0.05, max_backoff=5)
    relay.start()
    try:
        service = DownloadService(db, on_event=relay.wake.set)
        for _ in range(40):  # every download wakes the relay; it must not retry each time
            service.get_url("f1")
            threading.Event().wait(0.02)
        tried = 1000 - async_gateway.fail_next
        assert 1 <= tried <= 6  # 0.05 + 0.1 + 0.2 + 0.4 ... s within ~1 s
        assert unsent(db) == 40
    finally:
        relay.stop()
