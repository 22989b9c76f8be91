"""The redirector's 302 as it goes on the wire, and when a request asks for a Metalink."""

from __future__ import annotations

import pytest
from flask import Flask, Response
from werkzeug.test import EnvironBuilder

from fileserver.downloader.redirect_http import (
    redirect_response,
    redirector_link,
    wants_metalink,
)
from fileserver.downloader.redirector import Holder, Redirect

APP = Flask("redirect-http-test")
SHA = "ab" * 32
MD5 = "cd" * 16


def wire_headers(response: Response, path: str = "/f1/f1.bin") -> list[tuple[str, str]]:
    """The status line's headers as a WSGI server would send them."""
    sent: list[tuple[str, str]] = []
    response(EnvironBuilder(path).get_environ(), lambda _status, headers: sent.extend(headers))
    return sent


def test_the_302_sends_what_werkzeug_would_send_for_the_same_headers() -> None:
    found = Redirect("f1", "f1.bin", 10, MD5, SHA, Holder("a1", "http://d.test/uc?id=é 1"),
                     [Holder("a2", "http://d.test/uc?id=2"), Holder("a3", "http://d.test/3")])
    with APP.test_request_context("/f1/f1.bin"):
        fast = redirect_response(found)
        plain = Response(fast.get_data(), status=302, mimetype="text/html")
        plain.headers["Location"] = found.location.url  # werkzeug converts it when sending
        for name, value in fast.headers.items():
            if name.lower() not in ("location", "content-type", "content-length"):
                plain.headers.add(name, value)
    sent = wire_headers(fast)
    assert sent == wire_headers(plain)
    assert ("Location", "http://d.test/uc?id=%C3%A9%201") in sent
    assert [v for k, v in sent if k == "Link"] == ["<http://d.test/uc?id=2>; rel=duplicate; pri=2",
                                                   "<http://d.test/3>; rel=duplicate; pri=3"]
    assert ("Repr-Digest", "sha-256=:q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=:") in sent


@pytest.mark.parametrize(("path", "accept", "wanted"), [
    ("/f1", "*/*", False),
    ("/f1?x=1", "text/html,application/xhtml+xml;q=0.9", False),
    ("/f1?metalink", "*/*", True),
    ("/f1?%6Detalink=1", "*/*", True),  # the key percent-encoded
    ("/f1?x=metalink", "*/*", False),  # a value, not the key
    ("/f1", "application/metalink4+xml", True),
    ("/f1", "application/metalink4+xml;q=0", False),
])
def test_wants_metalink(path: str, accept: str, wanted: bool) -> None:
    with APP.test_request_context(path, headers={"Accept": accept}):
        assert wants_metalink() is wanted


@pytest.mark.parametrize(("headers", "root"), [
    ({}, "http://fn.internal:8080"),  # no gateway headers: the request's own host
    ({"X-Forwarded-Host": "files.example.org"}, "http://files.example.org"),
    ({"X-Forwarded-Host": "gw:8080, inner:1", "X-Forwarded-Proto": "https"}, "https://gw:8080"),
    ({"X-Forwarded-Host": "[::1]:8080"}, "http://[::1]:8080"),
    ({"X-Forwarded-Host": "evil/path?x=", "X-Forwarded-Proto": "https"},
     "http://fn.internal:8080"),  # not a host[:port]: ignored, never put into a link
    ({"X-Forwarded-Host": "gw", "X-Forwarded-Proto": "javascript"}, "http://gw"),
])
def test_the_link_root_is_the_address_the_client_called(headers, root, monkeypatch) -> None:
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    with APP.test_request_context("/", base_url="http://fn.internal:8080", headers=headers):
        assert redirector_link("f 1", "a b.pdf") == f"{root}/function/download/f%201/a%20b.pdf"


def test_public_url_wins_over_the_forwarded_host(monkeypatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://dl.example.org/")
    with APP.test_request_context("/", headers={"X-Forwarded-Host": "gw:8080"}):
        assert redirector_link("f1", "x") == "https://dl.example.org/function/download/f1/x"
