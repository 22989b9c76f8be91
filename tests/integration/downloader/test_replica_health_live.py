"""Replica health live (issue 18, Must show): the whole local stack (emulator, Uploader,
replicator, Downloader with its prober, gateway) on free ports.

Six accounts hold a file. The emulator blocks the file on two of them (Google's "Too many
users" page, admin op of routes_download) and deletes it on a third (admin ``delete_file``).
Within 60 s of the next get-url calls no handed-out link points at those copies and every
handed-out link downloads byte-identical; the deleted copy is re-copied by the replicator
(new Drive id, downloadable). The next UTC day (the emulator's clock and the prober's moved
together by the same offset) the blocked copies are probed again and handed out again.

This stack runs with ``HEALTH_REPAIR_BLOCKED=0`` so that the blocked copies stay and can
come back; the repair of a quota-blocked copy (the default) is the second test.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.config import StackConfig
from devstack.stack import LocalStack
from emulators.drive.admin_client import DriveAdmin
from fileserver.cli.main import main
from tests.conftest import server_tmp_dir

ACCOUNTS = 6
SIZE = 300_000
HEALTH_ENV = {"HEALTH_HOT_RECHECK_SECONDS": "3", "HEALTH_PROBES_PER_SECOND": "2"}
_clients = itertools.count(1)


@contextmanager
def health_stack(name: str, env: dict[str, str]) -> Iterator[LocalStack]:
    base = server_tmp_dir(name)
    stack = LocalStack(StackConfig.free(base / "stack", extra_env={**HEALTH_ENV, **env},
                                        prometheus_enabled=False))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


class Api:
    """The few calls the test makes through the stack's gateway and to the emulator."""

    def __init__(self, stack: LocalStack) -> None:
        self.gateway = stack.gateway_url
        self.admin = {"Authorization": f"Bearer {stack.admin_token}"}
        self.drive_url = stack.component("drive-emulator")["url"].rstrip("/") + "/"
        self.drive = DriveAdmin(self.drive_url)

    def add_accounts(self, count: int) -> None:
        for n in range(count):
            key = self.drive.create_account(
                legacy=True, email=f"health-{n}-{secrets.token_hex(3)}@h.iam.gserviceaccount.com")
            body = {"name": f"health {n}", "key": key, "daily_limit_bytes": 10**11}
            got = requests.post(f"{self.gateway}/function/drive-accounts", json=body,
                                headers=self.admin, timeout=60)
            assert got.status_code in (200, 201), got.text

    def upload(self, data: bytes) -> str:
        got = requests.post(f"{self.gateway}/function/upload-file", headers=self.admin,
                            files={"file": ("health.bin", data, "application/octet-stream")},
                            timeout=120)
        assert got.status_code in (200, 201, 202), got.text
        return got.json()["id"]

    def file(self, file_id: str) -> dict[str, Any]:
        return requests.get(f"{self.gateway}/function/files/{file_id}", timeout=30).json()

    def wait_uploaded(self, file_id: str, holders: int) -> dict[str, str]:
        """``{account_id: drive_file_id}`` once every account holds a ready copy."""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            file = self.file(file_id)
            ready = {r["account_id"]: r["drive_file_id"] for r in file["replicas"]["accounts"]
                     if r.get("state") == "ready" and r.get("drive_file_id")}
            if file["status"] == "uploaded" and len(ready) == holders:
                return ready
            time.sleep(1)
        raise AssertionError(f"not replicated: {self.file(file_id)}")

    def get_url(self, file_id: str) -> dict[str, Any]:
        """One get-url call from a new client (each a person of its own: no repeat)."""
        n = next(_clients)
        got = requests.get(f"{self.gateway}/function/get-url", params={"id": file_id},
                           headers={"X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}"},
                           timeout=30)
        assert got.status_code == 200, got.text
        return got.json()

    def health(self) -> dict[str, Any]:
        return requests.get(f"{self.gateway}/function/downloader-sync/health",
                            headers=self.admin, timeout=30).json()

    def block(self, drive_file_id: str) -> None:
        got = requests.put(f"{self.drive_url}_emulator/files/{drive_file_id}/download-quota",
                           json={"blocked": True}, timeout=30)
        assert got.ok, got.text

    def move_clocks(self, offset: float) -> None:
        """The emulator's clock and the prober's, by the same offset."""
        self.drive.set_clock(offset)
        got = requests.put(f"{self.gateway}/function/downloader-sync/health/clock",
                           json={"offset_seconds": offset}, headers=self.admin, timeout=30)
        assert got.ok, got.text


def report(stack: LocalStack, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``fileserver report ...`` against the stack; its standard output."""
    capsys.readouterr()
    assert main(["--gateway", stack.gateway_url, f"--token={stack.admin_token}", "report",
                 *args]) == 0
    return capsys.readouterr().out


def check_reports(stack: LocalStack, capsys: pytest.CaptureFixture[str], file_id: str,
                  blocked: list[str], missing: list[str]) -> None:
    """account-stats, file-stats and stats-summary (through ``fileserver report``) show the
    blocked and missing replicas and the healthy capacity next to the nominal one."""
    accounts = {r["account_id"]: r for r in json.loads(report(stack, capsys, "accounts",
                                                              "--json"))}
    assert {a for a, r in accounts.items() if r["replicas_blocked"]} == set(blocked)
    assert {a for a, r in accounts.items() if r["replicas_missing"]} == set(missing)
    files = {r["file_id"]: r for r in json.loads(report(stack, capsys, "files", "--json"))}
    assert (files[file_id]["replicas_blocked"], files[file_id]["replicas_missing"]) == (
        len(blocked), len(missing))
    assert "BLOCKED" in report(stack, capsys, "accounts").splitlines()[0]
    deadline = time.monotonic() + 30  # Stats computes its first summary after the events
    summary = requests.get(f"{stack.gateway_url}/function/stats-summary", timeout=30)
    while summary.status_code == 404 and time.monotonic() < deadline:
        time.sleep(1)
        summary = requests.get(f"{stack.gateway_url}/function/stats-summary", timeout=30)
    daily = summary.json()["daily_capacity"]
    assert daily["nominal_bytes_per_day"] == ACCOUNTS * 10**11
    assert daily["healthy_bytes_per_day"] == (ACCOUNTS - len(blocked) - len(missing)) * 10**11
    assert "capacity/day (healthy)" in report(stack, capsys, "summary")


def drive_id_of(url: str) -> str:
    return url.split("id=", 1)[1].split("&", 1)[0]


def sha256_of_link(url: str) -> str:
    got = requests.get(url, timeout=60)  # follows /uc's redirect to the usercontent host
    assert got.status_code == 200, (url, got.status_code, got.text[:200])
    return hashlib.sha256(got.content).hexdigest()


def calls_until_clean(api: Api, file_id: str, bad: set[str], seconds: float,
                      clean_run: int = 24) -> list[dict[str, Any]]:
    """get-url every 0.25 s until ``clean_run`` answers in a row point at none of ``bad``;
    answer that run (fail after ``seconds``)."""
    deadline = time.monotonic() + seconds
    run: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        answer = api.get_url(file_id)
        run = [] if drive_id_of(answer["url"]) in bad else [*run, answer]
        if len(run) >= clean_run:
            return run
        time.sleep(0.25)
    raise AssertionError(f"links to {bad} still handed out after {seconds} s")


def seconds_past_next_utc_day(hours_at_least: float) -> float:
    """An offset that lands after the next UTC midnight and at least ``hours_at_least``
    from now (the emulator's block lasts 24 h from when it was set)."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max((midnight - now).total_seconds(), hours_at_least * 3600) + 120


@pytest.mark.slow
def test_blocked_and_deleted_replicas_leave_rotation_are_recopied_and_come_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with health_stack("health-live", {"HEALTH_REPAIR_BLOCKED": "0"}) as stack:
        api = Api(stack)
        api.add_accounts(ACCOUNTS)
        data = secrets.token_bytes(SIZE)
        digest = hashlib.sha256(data).hexdigest()
        file_id = api.upload(data)
        copies = api.wait_uploaded(file_id, ACCOUNTS)
        accounts = sorted(copies)
        blocked, deleted = accounts[:2], accounts[2]
        for account in blocked:
            api.block(copies[account])
        api.drive.delete_file(copies[deleted])
        bad = {copies[a] for a in (*blocked, deleted)}

        started = time.monotonic()
        clean = calls_until_clean(api, file_id, bad, 60)
        clean_after = time.monotonic() - started
        assert clean_after <= 60
        for url in {answer["url"] for answer in clean}:
            assert sha256_of_link(url) == digest
        health = api.health()["items"]
        if any(i["state"] == "missing" for i in health):  # before its repair lands
            check_reports(stack, capsys, file_id, blocked, [deleted])

        # The deleted copy is re-copied on its account: a new Drive id, downloadable.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            now = api.wait_uploaded(file_id, ACCOUNTS)
            if now[deleted] != copies[deleted]:
                break
            time.sleep(1)
        assert now[deleted] != copies[deleted], "the deleted copy was not re-copied"
        assert {a: now[a] for a in blocked} == {a: copies[a] for a in blocked}
        fresh = f"{api.drive_url}uc?id={now[deleted]}&export=download"
        assert sha256_of_link(fresh) == digest
        states = {(i["account_id"], i["state"]) for i in api.health()["items"]}
        assert states == {(a, "blocked") for a in blocked}, states
        check_reports(stack, capsys, file_id, blocked, [])

        # The next UTC day on both clocks: the blocked copies are probed again and are back.
        api.move_clocks(seconds_past_next_utc_day(24))
        deadline = time.monotonic() + 60
        while api.health()["items"] and time.monotonic() < deadline:
            time.sleep(1)
        assert api.health()["items"] == []
        handed = {drive_id_of(api.get_url(file_id)["url"]) for _ in range(4 * ACCOUNTS)}
        assert {copies[a] for a in blocked} <= handed
        for account in blocked:
            assert sha256_of_link(f"{api.drive_url}uc?id={copies[account]}&export=download") \
                == digest
        print(json.dumps({"no_bad_link_after_seconds": round(clean_after, 1)}))


def wait_recopied(api: Api, file_id: str, account: str, old: str, holders: int) -> str:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        now = api.wait_uploaded(file_id, holders)[account]
        if now != old:
            return now
        time.sleep(1)
    raise AssertionError(f"copy {old} on {account} was not replaced")


@pytest.mark.slow
def test_a_quota_blocked_copy_is_reset_by_a_fresh_copy(tmp_path: Path) -> None:
    with health_stack("health-reset", {}) as stack:
        api = Api(stack)
        api.add_accounts(3)
        data = secrets.token_bytes(SIZE)
        file_id = api.upload(data)
        copies = api.wait_uploaded(file_id, 3)
        account = sorted(copies)[0]
        api.block(copies[account])
        calls_until_clean(api, file_id, {copies[account]}, 60, clean_run=6)
        new = wait_recopied(api, file_id, account, copies[account], 3)
        old_link = requests.get(f"{api.drive_url}uc?id={copies[account]}&export=download",
                                timeout=30)
        assert old_link.status_code == 404  # the old copy is deleted
        assert sha256_of_link(f"{api.drive_url}uc?id={new}&export=download") == \
            hashlib.sha256(data).hexdigest()
        handed = {drive_id_of(api.get_url(file_id)["url"]) for _ in range(12)}
        assert new in handed and copies[account] not in handed
