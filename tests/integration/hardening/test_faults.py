"""Faults under load: while uploads and get-url calls run, kill -9 and restart in turn
PostgreSQL, NATS, the Mongo wire server, the gateway, every function, the queue-worker and
the replicator. Afterwards every accepted upload is ``uploaded``, every URL handed out is
counted exactly once in the reports (per file and per account), and each Drive account holds
exactly one copy of every file and nothing else.

Runs on a stack of its own (it starts from empty reports) and takes a few minutes: slow.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from devstack.process import wait_until
from devstack.stack import Stack
from fileserver.drive.client import DriveClient
from tests.integration.hardening.conftest import Api, api_on_own_stack

pytestmark = pytest.mark.slow

SERVERS = ["postgres", "nats", "mongo"]  # the supervisor restarts them only when asked
ACCOUNTS = 3


@dataclass
class Workload:
    """Uploads and get-url calls from two threads; what was accepted and handed out."""

    api: Api
    accepted: list[str] = field(default_factory=list)
    handed_out: Counter = field(default_factory=Counter)  # (file_id, account_id) -> URLs
    # get-url calls whose answer was lost (5xx, no connection): counted or not, both fine
    unanswered: Counter = field(default_factory=Counter)  # file_id -> calls
    refused: Counter = field(default_factory=Counter)  # status or exception name -> count
    stop: threading.Event = field(default_factory=threading.Event)

    def _note(self, outcome: str) -> None:
        self.refused[outcome] += 1

    def uploads(self) -> None:
        rng = random.Random(1)
        while not self.stop.is_set():
            try:
                answer = requests.post(self.api.url("/function/upload-file/"),
                                       headers=self.api.admin, timeout=30,
                                       params={"name": f"load-{len(self.accepted)}.bin"},
                                       data=os.urandom(rng.randint(1_000, 300_000)))
                if answer.status_code == 202:
                    self.accepted.append(answer.json()["id"])
                else:
                    self._note(f"upload {answer.status_code}")
            except requests.RequestException as exc:
                self._note(f"upload {type(exc).__name__}")
            time.sleep(0.5)

    def downloads(self) -> None:
        while not self.stop.is_set():
            if not self.accepted:
                time.sleep(0.1)
                continue
            file_id = random.choice(self.accepted)
            try:
                answer = requests.get(self.api.url("/function/get-url/"),
                                      params={"id": file_id}, timeout=30)
                if answer.status_code == 200:
                    self.handed_out[(file_id, answer.json()["account_id"])] += 1
                else:
                    self._note(f"get-url {answer.status_code}")
                    self.unanswered[file_id] += answer.status_code >= 500
            except requests.RequestException as exc:
                self._note(f"get-url {type(exc).__name__}")
                self.unanswered[file_id] += 1
            time.sleep(0.05)

    def __enter__(self) -> Workload:
        self.threads = [threading.Thread(target=self.uploads, daemon=True),
                        threading.Thread(target=self.downloads, daemon=True)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


@pytest.fixture(scope="module")
def fault_stack() -> Iterator[Api]:
    with api_on_own_stack("fault-stack") as api:
        yield api


def restart(stack: Stack, name: str) -> None:
    """kill -9 ``name`` and wait until the supervisor has it running again."""
    request = stack.dir / "restart" / name
    if name in SERVERS:
        request.parent.mkdir(exist_ok=True)
        request.touch()
    try:
        old = stack.kill(name)
        stack.wait_restarted(name, old, timeout=120)
    finally:
        request.unlink(missing_ok=True)


def victims(stack: Stack) -> list[str]:
    apps = [n for n, part in stack.info()["components"].items() if part["kind"] == "app"]
    return SERVERS + sorted(apps)


def drive_copies(api: Api) -> dict[str, Counter]:
    """Per account: how many Drive files are tagged with each fileserver id."""
    root = api.stack.env["DRIVE_API_ROOT"]
    return {account_id: Counter(f.app_properties.get("fileserver_id")
                                for f in DriveClient(key, root).list_files())
            for account_id, key in api.keys.items()}


def uploaded_files(api: Api) -> set[str]:
    rows = requests.get(api.url("/function/files/"), params={"limit": 500}, timeout=30).json()
    return {row["id"] for row in rows["items"] if row["status"] == "uploaded"}


def counted(api: Api, path: str, key: str) -> dict[str, int]:
    rows = requests.get(api.url(path), params={"limit": 500}, timeout=30).json()["items"]
    return {row[key]: row["downloads"] for row in rows if row["downloads"]}


def count_problems(api: Api, handed_out: Counter, unanswered: Counter) -> list[str]:
    """How the reports differ from the URLs handed out: a file or account counted fewer times
    than its URLs (a lost count), or more than its URLs plus the calls whose answer was lost
    (a double count)."""
    per_file, per_account = Counter(), Counter()
    for (file_id, account_id), n in handed_out.items():
        per_file[file_id] += n
        per_account[account_id] += n
    lost_answers = sum(unanswered.values())
    problems = []
    for path, key, expected, slack in (
            ("/function/file-stats/", "file_id", per_file, unanswered),
            ("/function/account-stats/", "account_id", per_account, None)):
        counts = counted(api, path, key)
        for ident in set(expected) | set(counts):
            extra = slack[ident] if slack is not None else lost_answers
            if not expected[ident] <= counts.get(ident, 0) <= expected[ident] + extra:
                problems.append(f"{key} {ident}: counted {counts.get(ident, 0)}, handed out "
                                f"{expected[ident]}, answers lost {extra}")
    return problems


def check_counts(api: Api, handed_out: Counter, unanswered: Counter) -> None:
    """Wait for the reports to match. An event whose stats-compute call was lost is sent
    again by get-url's outbox relay after its ``resend_after`` (300 s), hence the long wait."""
    problems: list[list[str]] = [[]]

    def converged() -> bool:
        problems[0] = count_problems(api, handed_out, unanswered)
        return not problems[0]

    try:
        wait_until(converged, 420, interval=2)
    except Exception as exc:
        raise AssertionError(f"reports differ from URLs handed out: {problems[0][:10]}") from exc
    time.sleep(5)  # nothing late may push a count over
    assert count_problems(api, handed_out, unanswered) == []


def test_every_fault_under_load_converges_without_loss_or_double_count(fault_stack):
    api, stack = fault_stack, fault_stack.stack
    for n in range(ACCOUNTS):
        api.add_account(f"fault-{n}")
    injected = []
    with Workload(api) as load:
        for name in victims(stack):
            time.sleep(2)
            restart(stack, name)
            injected.append(name)
        time.sleep(3)
    accepted, handed_out = list(load.accepted), load.handed_out
    print(f"\nfaults injected: {len(injected)} ({', '.join(injected)}); uploads accepted: "
          f"{len(accepted)}; URLs handed out: {sum(handed_out.values())}; "
          f"refused during faults: {dict(load.refused)}")
    assert len(injected) >= 14 and len(accepted) >= 20 and sum(handed_out.values()) >= 20
    # A database or a process down is a 502/503 (retry) or a refused connection, never a 500.
    assert not [outcome for outcome in load.refused if outcome.endswith(" 500")], load.refused

    api.wait_uploaded(accepted, timeout=240)
    check_counts(api, handed_out, load.unanswered)

    # Drive holds exactly one copy of every uploaded file on every account, nothing else
    # (an upload answered 5xx mid-fault may still have been stored: it must converge too).
    uploaded = uploaded_files(api)
    assert set(accepted) <= uploaded
    for account_id, held in drive_copies(api).items():
        assert held == Counter(uploaded), f"{account_id}: duplicate or orphan Drive files"


def replica_ids(api: Api, file_id: str) -> dict[str, str]:
    """``{account_id: drive_file_id}`` of the file's ready copies (the Uploader's view)."""
    file = requests.get(api.url(f"/function/files/{file_id}"), timeout=30).json()
    return {r["account_id"]: r["drive_file_id"] for r in file["replicas"]["accounts"]
            if r["state"] == "ready"}


def block_on_first_account(api: Api, file_ids: list[str]) -> set[str]:
    """Google's per-file quota page on the first account's copy of each file (emulator
    admin op); the Drive ids blocked."""
    emulator = api.stack.env["DRIVE_API_ROOT"].rstrip("/")
    account = sorted(api.keys)[0]
    blocked = set()
    for file_id in file_ids:
        drive_id = replica_ids(api, file_id).get(account)
        if drive_id is None:
            continue
        requests.put(f"{emulator}/_emulator/files/{drive_id}/download-quota",
                     json={"blocked": True}, timeout=30).raise_for_status()
        blocked.add(drive_id)
    return blocked


def test_blocked_replicas_under_load_lose_nothing():
    """The blocked-replica fault: while uploads and get-url calls run, Google's quota page
    appears on one account's copy of every file uploaded so far. The prober finds them, the
    replicator resets each by a fresh copy; afterwards nothing is lost (every upload
    uploaded, every URL counted once), no blocked copy is handed out, and each account holds
    exactly one copy of every file (the blocked ones deleted)."""
    with api_on_own_stack("blocked-fault") as api:
        for n in range(ACCOUNTS):
            api.add_account(f"blocked-{n}")
        with Workload(api) as load:
            wait_until(lambda: len(load.accepted) >= 6, 120, interval=0.5)
            api.wait_uploaded(list(load.accepted[:6]), timeout=120)
            blocked = block_on_first_account(api, list(load.accepted[:6]))
            time.sleep(20)
        accepted = list(load.accepted)
        assert len(blocked) == 6 and sum(load.handed_out.values()) >= 20
        assert not [outcome for outcome in load.refused if outcome.endswith(" 500")]
        api.wait_uploaded(accepted, timeout=240)
        check_counts(api, load.handed_out, load.unanswered)

        def reset() -> bool:
            current = {d for f in accepted for d in replica_ids(api, f).values()}
            return not current & blocked

        wait_until(reset, 240, interval=2)
        for file_id in accepted[:6]:
            links = {requests.get(api.url("/function/get-url/"), params={"id": file_id},
                                  timeout=30).json()["url"] for _ in range(2 * ACCOUNTS)}
            assert not {url for url in links if any(d in url for d in blocked)}
        uploaded = uploaded_files(api)
        assert set(accepted) <= uploaded
        wait_until(lambda: all(held == Counter(uploaded)
                               for held in drive_copies(api).values()), 60, interval=2)
