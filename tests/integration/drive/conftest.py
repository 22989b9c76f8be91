"""One real emulator process per test module, on a free port, stopped by its pid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
import requests
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from devstack.process import free_port
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient, discovery_document
from fileserver.drive.retry import RetryPolicy


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DriveEmulator]:
    base = tmp_path_factory.mktemp("drive")
    server = DriveEmulator(base / "data", free_port(), base / "emulator.log", fault_seed=7)
    server.start(timeout=30)
    yield server
    server.stop()


@pytest.fixture()
def fast_policy() -> RetryPolicy:
    """Real backoff arithmetic with tiny delays, so retry tests stay quick."""
    return RetryPolicy(attempts=12, base_delay=0.005, max_delay=0.05)


@pytest.fixture()
def make_client(emulator: DriveEmulator, fast_policy: RetryPolicy):
    def make(legacy: bool = True, **account: object) -> tuple[DriveClient, dict]:
        """A client and key; by default a service account from before the cutoff."""
        key = emulator.create_account(legacy=legacy, **account)
        return DriveClient(key, emulator.url, policy=fast_policy,
                           chunk_size=256 * 1024), key
    return make


def set_faults(emulator: DriveEmulator, email: str, rules: list[dict]) -> None:
    resp = requests.put(f"{emulator.url}_emulator/accounts/{email}/faults",
                        json={"rules": rules}, timeout=10)
    resp.raise_for_status()


def usage(emulator: DriveEmulator, email: str) -> dict:
    resp = requests.get(f"{emulator.url}_emulator/accounts/{email}", timeout=10)
    resp.raise_for_status()
    return resp.json()


def api_service(emulator: DriveEmulator, credentials: object) -> Any:
    """google-api-python-client's Drive v3 service with any google-auth credentials."""
    raw = httplib2.Http(timeout=30)
    raw.redirect_codes = raw.redirect_codes - {308}  # upload chunks: not a redirect
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=raw)
    return build_from_document(discovery_document(emulator.url), http=http)


def reason(error: HttpError) -> tuple[int, str, str]:
    """(status, reason, message) of a Drive error."""
    body = json.loads(error.content)["error"]
    return error.resp.status, body["errors"][0]["reason"], body["message"]
