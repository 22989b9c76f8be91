"""DownloaderClient: paging, retries only where a retry can help, errors as UpstreamError."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from fileserver.errors import UpstreamError
from fileserver.stats.downloader_client import DownloaderClient


class FakeResponse:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self.body = body

    def json(self) -> Any:
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


class FakeSession:
    """Answers queued responses (or raises queued exceptions) and records the calls."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, dict]] = []
        self.headers: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        self.calls.append((method, url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(answers: list[Any]) -> tuple[DownloaderClient, FakeSession]:
    session = FakeSession(answers)
    return DownloaderClient("http://gw/", "tok", session=session,  # type: ignore[arg-type]
                            retry_delays=(0, 0)), session


def test_account_rows_pages_until_a_short_page():
    page = [{"account_id": f"a{i}"} for i in range(500)]
    downloader, session = client([FakeResponse(200, {"items": page, "total": 501}),
                                  FakeResponse(200, {"items": [{"account_id": "z"}]})])
    assert len(downloader.account_rows()) == 501
    assert [c[2]["params"]["offset"] for c in session.calls] == [0, 500]
    assert session.calls[0][1] == "http://gw/function/account-stats"
    assert session.headers["Authorization"] == "Bearer tok"


def test_unreachable_and_503_are_retried():
    downloader, session = client([requests.ConnectionError("down"), FakeResponse(503, {}),
                                  FakeResponse(200, {"applied": 1, "duplicates": 0})])
    assert downloader.ingest({"events": []}) == {"applied": 1, "duplicates": 0}
    assert len(session.calls) == 3


@pytest.mark.parametrize("answer", [FakeResponse(401, {}), FakeResponse(400, {}),
                                    FakeResponse(200, ValueError("not json")),
                                    FakeResponse(200, ["a list"])])
def test_errors_a_retry_cannot_fix_fail_at_once(answer):
    downloader, session = client([answer])
    with pytest.raises(UpstreamError):
        downloader.ingest({"events": []})
    assert len(session.calls) == 1


def test_giving_up_after_the_retries():
    downloader, session = client([FakeResponse(503, {})] * 3)
    with pytest.raises(UpstreamError) as caught:
        downloader.ingest({"events": []})
    assert caught.value.details["status"] == 503
    assert len(session.calls) == 3
