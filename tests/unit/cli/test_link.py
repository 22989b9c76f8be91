"""``fileserver link ID --expires``: durations, the admin call it makes, 429's message."""

from __future__ import annotations

import json

import pytest

from fileserver.cli import errors
from fileserver.cli.link import parse_lifetime
from fileserver.cli.main import main
from tests.unit.cli.conftest import Answer, FakeGateway


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800),
                                                ("1h", 3600), ("7D", 604_800)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_lifetime(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "1w", "-5m", "h", "1.5h"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(errors.CliError) as bad:
        parse_lifetime(text)
    assert bad.value.exit_code == errors.EXIT_USAGE


def test_link_mints_through_downloader_sync(fake_gateway: FakeGateway, capsys) -> None:
    fake_gateway.answer = Answer(201, {"file_id": "abc", "url": "https://f.example/x?sig=s",
                                       "expires": 1, "expires_at": "2026-12-01T10:00:00Z"})
    code = main(["--gateway", fake_gateway.url, "--token", "t0k", "link", "abc",
                 "--expires", "2h"])
    out = capsys.readouterr().out
    assert code == 0 and "https://f.example/x?sig=s" in out and "2026-12-01T10:00:00Z" in out
    seen = fake_gateway.seen[-1]
    assert (seen.method, seen.path) == ("POST", "/function/downloader-sync/links")
    assert seen.headers["Authorization"] == "Bearer t0k"
    assert seen.body_size == len(json.dumps({"file_id": "abc", "expires_in": 7200}))


def test_too_many_requests_says_when_to_retry(fake_gateway: FakeGateway, capsys) -> None:
    fake_gateway.answer = Answer(429, {"error": {"code": "too_many_requests",
                                                 "message": "too many download requests"}},
                                 {"Retry-After": "75"})
    code = main(["--gateway", fake_gateway.url, "url", "abc"])
    err = capsys.readouterr().err
    assert code == errors.EXIT_UNAVAILABLE and "retry in 1m 15s" in err
