"""downloader-sync client: paths, versions, auth, and how failures are classified."""

from __future__ import annotations

import pytest
import requests

from tests.unit.fake_http import FakeResponse, FakeSession
from workers.replicator.downloader_client import DownloaderSyncClient
from workers.replicator.errors import PermanentError, TransientError
from workers.replicator.model import Account


def client(*answers) -> tuple[DownloaderSyncClient, FakeSession]:
    session = FakeSession(list(answers))
    return DownloaderSyncClient("http://gw/", "tok", session=session), session


def test_calls_follow_the_contract():
    sync, session = client(FakeResponse(200, {"applied": True}),
                           FakeResponse(200, {"items": [{"file_id": "f"}, "junk"]}))
    sync.put_account(Account("a1", "a@x", "disabled", 3, 99))
    assert sync.replicas(file_id="f") == [{"file_id": "f"}]
    method, url, kwargs = session.sent[0]
    assert (method, url) == ("PUT", "http://gw/function/downloader-sync/accounts/a1")
    assert kwargs["json"] == {"email": "a@x", "daily_limit_bytes": 99, "active": False,
                              "version": 3, "kind": "service_account", "state": "disabled",
                              "storage_limit_bytes": None, "storage_usage_bytes": 0,
                              "storage_checked_at": None}
    assert Account("a2", "b@x", "full", 4, 99).serving  # sent as active: it still serves
    assert session.sent[1][2]["params"] == {"file_id": "f"}
    assert session.headers["Authorization"] == "Bearer tok"


def test_replica_versions_increase():
    sync, session = client(FakeResponse(200, {}), FakeResponse(200, {}))
    sync.put_replica("f", "a", "d", "u")
    sync.delete_replica("f", "a")
    assert session.sent[1][2]["params"]["version"] > session.sent[0][2]["json"]["version"]


@pytest.mark.parametrize(("answer", "error"), [
    (requests.ConnectionError("refused"), TransientError),
    (FakeResponse(502, {}), TransientError),
    (FakeResponse(429, {}), TransientError),
    (FakeResponse(400, {"error": {}}), PermanentError),
    (FakeResponse(200, {"no": "items"}), TransientError),
])
def test_failures_are_classified(answer, error):
    sync, _ = client(answer)
    with pytest.raises(error):
        sync.replicas()


def test_replica_accounts_reads_the_items_list():
    sync, session = client(FakeResponse(200, {"items": ["a1", "a2"]}), FakeResponse(200, {}))
    assert sync.replica_accounts() == ["a1", "a2"]
    assert session.sent[0][:2] == ("GET", "http://gw/function/downloader-sync/replicas/accounts")
    with pytest.raises(TransientError):
        sync.replica_accounts()  # no items list


def test_the_downloader_adapter_offers_every_call_of_the_port():
    """The bootstrap wraps this client in ``adapters.DownloaderSync``: a port method missing
    there fails only in a live pass (the reconciler's replica_accounts once did)."""
    from workers.replicator.adapters import DownloaderSync
    from workers.replicator.ports import Downloader

    calls = {name for name in vars(Downloader) if not name.startswith("_")}
    assert "replica_accounts" in calls
    assert {name for name in calls if not callable(getattr(DownloaderSync, name, None))} == set()
    assert {name for name in calls if not callable(getattr(DownloaderSyncClient, name, None))} \
        == set()
