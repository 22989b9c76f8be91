"""One real emulator process per test module, on a free port, stopped by its pid."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devstack.process import free_port
from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
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
    def make(**account: object) -> tuple[DriveClient, dict]:
        key = emulator.create_account(**account)
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
