"""Signed links live: downloader-sync mints them (admin), the download redirector honours
only valid ones: an expired and a forged link answer 403 and book nothing, a valid one
redirects; get-url's ``download_url`` is signed. Real function processes, real PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from fileserver.downloader.db import Database
from fileserver.downloader.repository import OutboxRepository
from fileserver.downloader.service import utc_now
from tests.integration.downloader.test_download_redirector import seed
from tests.support.downloader_rows import bytes_today

SECRET = "link-secret-for-tests"


@pytest.fixture()
def stack(database_url: str, async_gateway, start_function: Callable[..., str]):
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": async_gateway.url,
           "FILESERVER_DOWNLOAD_LINK_SECRET": SECRET, "PUBLIC_URL": "https://files.example"}
    return start_function("downloader-sync", env), start_function("download", env), \
        start_function("get-url", env)


def mint(sync: str, admin: dict[str, str], seconds: int) -> str:
    made = requests.post(f"{sync}/links", json={"file_id": "f1", "expires_in": seconds},
                         headers=admin, timeout=10)
    assert made.status_code == 201, made.text
    return made.json()["url"]


def on(download: str, link: str, **changes: str) -> requests.Response:
    """GET ``link``'s path and query (with ``changes``) from the redirector process."""
    parts = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    path = parts.path.removeprefix("/function/download")
    return requests.get(f"{download}{path}?{urlencode(query)}", allow_redirects=False,
                        headers={"Accept": "application/json"}, timeout=10)


def booked(db: Database) -> tuple[int, int]:
    usage = sum(bytes_today(db, utc_now().date()).values())
    return usage, OutboxRepository(db).pending()


def test_expired_and_forged_links_are_403_and_book_nothing_a_valid_one_redirects(
        stack, admin, db: Database) -> None:
    sync, download, _ = stack
    seed(sync, admin, 3)
    short = mint(sync, admin, 1)
    valid = mint(sync, admin, 3600)
    assert valid.startswith("https://files.example/function/download/f1/report%202026.pdf?")
    time.sleep(2.1)
    refusals = {
        "expired": on(download, short),
        "forged": on(download, valid, sig="A" * 43),
        "longer": on(download, valid, expires=str(int(time.time()) + 10**6)),
        "unsigned": requests.get(f"{download}/f1", allow_redirects=False, timeout=10),
    }
    codes = {name: (r.status_code, r.json()["error"]["code"]) for name, r in refusals.items()}
    assert codes == {"expired": (403, "link_expired"), "forged": (403, "link_invalid"),
                     "longer": (403, "link_invalid"), "unsigned": (403, "signed_link_required")}
    assert "expired at" in refusals["expired"].json()["error"]["message"]
    assert booked(db) == (0, 0)
    good = on(download, valid)
    assert good.status_code == 302 and good.headers["Location"].startswith("http://drive.test/")
    assert booked(db) == (1000, 1)


def test_get_url_hands_out_a_signed_download_url(stack, admin) -> None:
    sync, download, get_url = stack
    seed(sync, admin, 2)
    answer = requests.get(f"{get_url}/", params={"id": "f1"}, timeout=10).json()
    assert on(download, answer["download_url"]).status_code == 302


def test_minting_is_admin_only_checked_before_the_body_and_validated(stack, admin) -> None:
    sync, _, _ = stack
    seed(sync, admin, 1)
    anonymous = requests.post(f"{sync}/links", data=b"{" * 100_000, timeout=10,
                              headers={"Content-Type": "application/json"})
    assert anonymous.status_code == 401
    for body, status in (({"file_id": "f1", "expires_in": 0}, 400),
                         ({"file_id": "f1", "expires_in": "1h"}, 400),
                         ({"file_id": "f1", "expires_in": 400 * 86_400}, 400),
                         ({"file_id": "../x", "expires_in": 60}, 400),
                         ({"file_id": "nope", "expires_in": 60}, 404)):
        got = requests.post(f"{sync}/links", json=body, headers=admin, timeout=10)
        assert got.status_code == status, (body, got.text)


def test_without_the_secret_links_are_not_signed_and_minting_is_409(
        database_url: str, async_gateway, admin, start_function: Callable[..., str]) -> None:
    env = {"POSTGRES_URL": database_url, "GATEWAY_URL": async_gateway.url}
    sync, download = start_function("downloader-sync", env), start_function("download", env)
    seed(sync, admin, 1)
    got = requests.post(f"{sync}/links", json={"file_id": "f1", "expires_in": 60},
                        headers=admin, timeout=10)
    assert got.status_code == 409 and "download-link-secret" in got.json()["error"]["message"]
    assert requests.get(f"{download}/f1", allow_redirects=False, timeout=10).status_code == 302
