"""``accounts ls`` shows each account's kind, storage and state; ``upload --wait`` with no
active account (or none with room) says so at once and exits non-zero, sending no byte."""

from __future__ import annotations

import pytest

from fileserver.cli import errors
from fileserver.cli.main import main
from tests.unit.cli.conftest import Answer, FakeGateway


def account(state: str, free: int | None, **extra) -> dict:
    storage = {"limit_bytes": None if free is None else 40_000_000,
               "usage_bytes": 0 if free is None else 40_000_000 - free,
               "free_bytes": free, "checked_at": "2026-12-01T09:00:00.000Z"}
    return {"id": f"id-{state}", "email": f"{state}@example.org", "name": state,
            "kind": "authorized_user", "daily_limit_bytes": 10**11, "state": state,
            "storage": storage, **extra}


def listing(*items: dict) -> Answer:
    return Answer(200, {"items": list(items), "total": len(items), "limit": 500, "offset": 0})


def test_accounts_ls_shows_kind_storage_and_state_with_its_reason(fake_gateway, capsys):
    fake_gateway.answer = listing(
        account("active", 30_000_000),
        account("full", 0, state_reason="The user's Drive storage quota has been exceeded."),
        account("paused", None, paused_until="2026-12-02T00:00:00.000Z"))
    assert main(["--gateway", fake_gateway.url, "--token", "t", "accounts", "ls"]) == 0
    out = capsys.readouterr().out
    assert "KIND" in out and "STORAGE" in out and "authorized_user" in out
    assert "10.0 MB/40.0 MB" in out and "40.0 MB/40.0 MB" in out
    assert "full: The user's Drive storage quota has been exceeded." in out
    assert "paused until 2026-12-02 00:00 UTC" in out
    assert "3 account(s): 1 active, 1 full, 1 paused" in out


@pytest.mark.parametrize(("accounts", "words"), [
    ((), "no active Drive account to replicate to (none registered)"),
    ((account("full", 0), account("disabled", None)), "full@example.org full"),
    ((account("active", 1_000),), "no active Drive account has room for 0.1 MB"),
])
def test_upload_wait_without_an_account_that_can_take_it_fails_at_once(
        fake_gateway: FakeGateway, capsys, tmp_path, accounts, words):
    path = tmp_path / "f.bin"
    path.write_bytes(b"\0" * 100_000)
    fake_gateway.answer = listing(*accounts)
    code = main(["--gateway", fake_gateway.url, "--token", "t", "upload", "--wait", str(path)])
    assert code == errors.EXIT_UNAVAILABLE
    assert words in capsys.readouterr().err
    assert all(seen.method == "GET" for seen in fake_gateway.seen)  # nothing uploaded


def test_a_507_says_there_is_no_room(fake_gateway: FakeGateway, capsys, tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"\0" * 10)
    fake_gateway.answer = Answer(507, {"error": {"code": "insufficient_storage", "message":
                                                 "10 bytes do not fit", "request_id": "r"}})
    assert main(["--gateway", fake_gateway.url, "--token", "t", "upload", str(path)]) == \
        errors.EXIT_UNAVAILABLE
    assert "no room on the Drive accounts: 10 bytes do not fit" in capsys.readouterr().err
