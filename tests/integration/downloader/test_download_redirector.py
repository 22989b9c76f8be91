"""The download redirector as a real function process on a real PostgreSQL: 302 with
duplicates and digests, HEAD books nothing, Metalink, errors as JSON and as HTML pages."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from xml.etree import ElementTree as ET

import pytest
import requests

from fileserver.downloader.db import Database
from fileserver.downloader.repository import OutboxRepository
from fileserver.downloader.service import utc_now
from tests.support.downloader_rows import bytes_today

SHA = hashlib.sha256(b"content").hexdigest()
MD5 = hashlib.md5(b"content").hexdigest()  # noqa: S324 - Drive's checksum
NS = {"m": "urn:ietf:params:xml:ns:metalink"}


def seed(sync: str, admin: dict[str, str], accounts: int, size: int = 1000,
         limit: int = 10**9) -> None:
    for i in range(accounts):
        body = {"email": f"a{i}@x.test", "daily_limit_bytes": limit, "active": True, "version": 1}
        assert requests.put(f"{sync}/accounts/a{i}", json=body, headers=admin).ok
    body = {"name": "report 2026.pdf", "size": size, "md5": MD5, "sha256": SHA, "version": 1}
    assert requests.put(f"{sync}/files/f1", json=body, headers=admin).json()["applied"]
    for i in range(accounts):
        replica = {"drive_file_id": f"d{i}", "url": f"http://drive.test/uc?id=d{i}", "version": 1}
        assert requests.put(f"{sync}/replicas/f1/a{i}", json=replica, headers=admin).ok


@pytest.fixture()
def stack(database_url: str, async_gateway, admin, start_function: Callable[..., str]):
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": async_gateway.url,
           "DOWNLOAD_DUPLICATE_LINKS": "2"}
    return start_function("downloader-sync", env), start_function("download", env), \
        start_function("get-url", env)


def test_302_to_the_booked_replica_with_duplicates_and_digests(stack, admin, db: Database):
    sync, download, get_url = stack
    seed(sync, admin, 4)
    first = requests.get(f"{download}/f1/report%202026.pdf", allow_redirects=False)
    assert first.status_code == 302
    assert first.headers["Location"] == "http://drive.test/uc?id=d0"
    links = first.headers["Link"].split(", ")
    assert links == ["<http://drive.test/uc?id=d1>; rel=duplicate; pri=2",
                     "<http://drive.test/uc?id=d2>; rel=duplicate; pri=3"]
    sha_b64 = base64.b64encode(bytes.fromhex(SHA)).decode()
    assert first.headers["Repr-Digest"] == f"sha-256=:{sha_b64}:"
    assert first.headers["Digest"].startswith(f"SHA-256={sha_b64}, MD5=")
    assert first.headers["Cache-Control"] == "private, no-store"
    # The same rotation as get-url: the next call (either function) takes the next account.
    second = requests.get(f"{download}/f1", allow_redirects=False)
    assert second.headers["Location"] == "http://drive.test/uc?id=d1"
    assert requests.get(f"{get_url}/", params={"id": "f1"}).json()["account_id"] == "a2"
    assert bytes_today(db, utc_now().date()) == {"a0": 1000, "a1": 1000, "a2": 1000, "a3": 0}
    assert OutboxRepository(db).pending() == 3


def test_head_books_nothing_and_get_url_links_to_the_redirector(stack, admin, db: Database):
    sync, download, get_url = stack
    seed(sync, admin, 3)
    for _ in range(5):
        head = requests.head(f"{download}/f1/x.pdf", allow_redirects=False)
        assert head.status_code == 302 and head.headers["Location"].startswith("http://drive")
        assert "Repr-Digest" in head.headers and head.headers["Link"].count("rel=duplicate") == 2
    assert sum(bytes_today(db, utc_now().date()).values()) == 0
    assert OutboxRepository(db).pending() == 0
    answer = requests.get(f"{get_url}/", params={"id": "f1"}).json()
    host = get_url.removeprefix("http://")
    assert answer["download_url"] == f"http://{host}/function/download/f1/report%202026.pdf"


def test_metalink_lists_every_holder_with_size_and_hash(stack, admin):
    sync, download, _ = stack
    seed(sync, admin, 4, size=1234)
    for kwargs in ({"params": {"metalink": ""}},
                   {"headers": {"Accept": "application/metalink4+xml"}}):
        answer = requests.get(f"{download}/f1", **kwargs)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/metalink4+xml")
        entry = ET.fromstring(answer.content).find("m:file", NS)
        assert entry.get("name") == "report 2026.pdf"
        assert entry.find("m:size", NS).text == "1234"
        assert entry.find("m:hash[@type='sha-256']", NS).text == SHA
        urls = [(u.get("priority"), u.text) for u in entry.findall("m:url", NS)]
        assert len(urls) == 4 and [p for p, _ in urls] == ["1", "2", "3", "4"]
        assert len({u for _, u in urls}) == 4


def test_errors_as_json_for_clients_and_html_for_browsers(stack, admin):
    sync, download, _ = stack
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    missing = requests.get(f"{download}/nope", allow_redirects=False)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    page = requests.get(f"{download}/nope", headers=browser)
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "File not found" in page.text and "nope" in page.text
    body = {"name": "a.bin", "size": 600, "md5": MD5, "version": 1}
    requests.put(f"{sync}/files/f2", json=body, headers=admin)
    assert requests.get(f"{download}/f2").status_code == 409
    assert requests.head(f"{download}/f2").status_code == 409
    account = {"email": "a@x.test", "daily_limit_bytes": 1000, "active": True, "version": 1}
    requests.put(f"{sync}/accounts/a9", json=account, headers=admin)
    replica = {"drive_file_id": "d9", "url": "http://drive.test/uc?id=d9", "version": 1}
    requests.put(f"{sync}/replicas/f2/a9", json=replica, headers=admin)
    ok = requests.get(f"{download}/f2", allow_redirects=False)
    assert ok.status_code == 302 and "Link" not in ok.headers and "Repr-Digest" not in ok.headers
    full = requests.get(f"{download}/f2", headers=browser)
    assert full.status_code == 503 and 0 < int(full.headers["Retry-After"]) <= 86400
    assert "Try again later" in full.text and "daily limit" in full.text
    assert requests.head(f"{download}/f2").status_code == 503
    assert requests.get(f"{download}/bad id!").status_code == 400
