"""Every kind of API answer becomes one clear line and its documented exit code."""

from __future__ import annotations

import pytest

from fileserver.cli import errors
from fileserver.cli.main import main
from tests.unit.cli.conftest import Answer, FakeGateway


def run(fake: FakeGateway, capsys: pytest.CaptureFixture[str], *args: str,
        token: tuple[str, ...] = ("--token", "t0k")) -> tuple[int, str]:
    code = main(["--gateway", fake.url, *token, *args])
    return code, capsys.readouterr().err


def error(status: int, code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "request_id": "r1"}}


def test_quota_exhausted_says_when_it_resets(fake_gateway: FakeGateway, capsys) -> None:
    fake_gateway.answer = Answer(503, error(503, "service_unavailable", "every account holding "
                                            "this file reached its daily limit"),
                                 {"Retry-After": "5400"})
    code, err = run(fake_gateway, capsys, "url", "abc")
    assert code == errors.EXIT_UNAVAILABLE
    assert "reached its daily limit; retry in 1h 30m (at " in err and " UTC)" in err
    assert fake_gateway.seen[0].path == "/function/get-url/?id=abc"


def test_conflict_and_server_errors(fake_gateway: FakeGateway, capsys) -> None:
    fake_gateway.answer = Answer(409, error(409, "conflict", "file x has no ready replica yet"))
    code, err = run(fake_gateway, capsys, "url", "x")
    assert code == errors.EXIT_CONFLICT and "conflict: file x has no ready replica yet" in err
    fake_gateway.answer = Answer(500, "<html>proxy exploded</html>")
    code, err = run(fake_gateway, capsys, "files", "ls")
    assert code == errors.EXIT_ERROR and "500 http_500: <html>proxy exploded</html>" in err


def test_token_is_sent_and_missing_token_is_named(fake_gateway: FakeGateway, capsys,
                                                  monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("STACK_DIR", str(tmp_path))
    monkeypatch.delenv("FILESERVER_ADMIN_TOKEN", raising=False)
    fake_gateway.answer = Answer(401, error(401, "unauthorized", "a valid admin token..."))
    code, err = run(fake_gateway, capsys, "accounts", "ls")
    assert code == errors.EXIT_AUTH and "refused the admin token" in err
    assert fake_gateway.seen[-1].headers["Authorization"] == "Bearer t0k"
    code, err = run(fake_gateway, capsys, "accounts", "ls", token=())
    assert code == errors.EXIT_AUTH and "no admin token was found" in err
    assert "Authorization" not in fake_gateway.seen[-1].headers


def test_options_work_before_and_after_the_command(fake_gateway: FakeGateway, capsys) -> None:
    fake_gateway.answer = Answer(200, {"items": [], "total": 0})
    assert main(["files", "ls", "--json", "--gateway", fake_gateway.url]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert main(["--json", "--gateway", fake_gateway.url, "files", "ls"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_lists_are_read_page_by_page(fake_gateway: FakeGateway, capsys) -> None:
    fake_gateway.answer = Answer(200, {"items": [{"id": "a"}], "total": 3})
    from fileserver.cli.client import GatewayClient
    from fileserver.cli.target import Target

    items = GatewayClient(Target(fake_gateway.url, None)).list_all("files", status="uploaded")
    assert len(items) == 3
    assert [s.path for s in fake_gateway.seen] == [
        f"/function/files/?status=uploaded&limit=500&offset={n}" for n in range(3)]
