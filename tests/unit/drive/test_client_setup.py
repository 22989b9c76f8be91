"""DriveClient construction without any server: discovery document, roots, bad keys."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fileserver.drive.client import DriveClient, discovery_document
from fileserver.drive.errors import DriveFatalError


def fake_key() -> dict:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    return {"type": "service_account", "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": private, "private_key_id": "k1", "token_uri": "http://emu/token"}


def test_discovery_document_points_every_url_at_the_emulator() -> None:
    doc = json.loads(discovery_document("http://127.0.0.1:9/"))
    assert doc["rootUrl"] == doc["mtlsRootUrl"] == "http://127.0.0.1:9/"
    assert json.loads(discovery_document(None))["rootUrl"] == "https://www.googleapis.com/"


def test_roots_from_argument_env_or_google(monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key()
    monkeypatch.delenv("DRIVE_WEB_ROOT", raising=False)
    monkeypatch.delenv("DRIVE_API_ROOT", raising=False)
    assert DriveClient(key).download_url("ID") == \
        "https://drive.google.com/uc?id=ID&export=download"
    monkeypatch.setenv("DRIVE_API_ROOT", "http://127.0.0.1:19070")
    assert DriveClient(key).api_root == "http://127.0.0.1:19070/"
    assert DriveClient(key).download_url("ID") == "http://127.0.0.1:19070/uc?id=ID&export=download"
    monkeypatch.setenv("DRIVE_WEB_ROOT", "https://files.example.org/")
    assert DriveClient(key).download_url("X") == "https://files.example.org/uc?id=X&export=download"


@pytest.mark.parametrize("key", [{}, {"type": "service_account"}, "not a dict"])
def test_bad_keys_are_fatal_and_not_echoed(key: object) -> None:
    with pytest.raises(DriveFatalError) as error:
        DriveClient(key, "http://emu/")  # type: ignore[arg-type]
    assert str(error.value) == "invalid service-account key"


def test_chunk_size_follows_drives_256_kib_rule() -> None:
    with pytest.raises(ValueError):
        DriveClient(fake_key(), "http://emu/", chunk_size=1000)


def test_large_files_get_the_link_that_skips_the_scan_warning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = fake_key()
    for name in ("DRIVE_WEB_ROOT", "DRIVE_API_ROOT", "DRIVE_USERCONTENT_ROOT",
                 "DRIVE_LARGE_FILE_BYTES"):
        monkeypatch.delenv(name, raising=False)
    client = DriveClient(key)
    assert client.download_url("ID", 100 * 1000 * 1000) == \
        "https://drive.google.com/uc?id=ID&export=download"
    assert client.download_url("ID", 100 * 1000 * 1000 + 1) == \
        "https://drive.usercontent.google.com/download?id=ID&export=download&confirm=t"
    monkeypatch.setenv("DRIVE_LARGE_FILE_BYTES", "10")
    assert client.download_url("ID", 11).endswith("/download?id=ID&export=download&confirm=t")
    assert client.download_url("ID", 10) == "https://drive.google.com/uc?id=ID&export=download"
    monkeypatch.setenv("DRIVE_API_ROOT", "http://127.0.0.1:19070")
    assert DriveClient(key).download_url("ID", 11) == \
        "http://127.0.0.1:19070/uc?id=ID&export=download&confirm=t"
    monkeypatch.setenv("DRIVE_USERCONTENT_ROOT", "http://127.0.0.1:19071/")
    assert DriveClient(key).download_url("ID", 11) == \
        "http://127.0.0.1:19071/download?id=ID&export=download&confirm=t"


def test_clients_share_drives_resources_built_once_per_root() -> None:
    """A service parsed from the text is ~0.6 MB and its methods ~12 ms of CPU to build;
    accounts x threads of them added up: every client of one root shares one set."""
    first, second = DriveClient(fake_key(), "http://emu/"), DriveClient(fake_key(), "http://emu/")
    assert first._api is second._api
    assert DriveClient(fake_key(), "http://other/")._api is not first._api
    request = second._api["files"].list(pageSize=5, fields="files(id)")
    assert request.uri.startswith("http://emu/drive/v3/files?") and "pageSize=5" in request.uri
    assert second._api["files"].copy(fileId="F", body={"name": "n"}).body == '{"name": "n"}'
