"""Many accounts and threads over one transport: sockets bounded by the pool, one token each."""

from __future__ import annotations

import io
import threading

import psutil

from emulators.drive.server import DriveEmulator
from fileserver.drive.client import DriveClient
from fileserver.drive.retry import RetryPolicy
from fileserver.drive.transport import CredentialCache, DriveTransport, HttpPool


def sockets_to(port: int) -> int:
    return sum(1 for conn in psutil.Process().net_connections("tcp")
               if conn.raddr and conn.raddr.port == port and conn.status == "ESTABLISHED")


def token_posts(emulator: DriveEmulator) -> int:
    return emulator.log_path.read_text().count("POST /token ")


def test_thirty_accounts_on_twelve_threads_share_four_sockets(emulator: DriveEmulator) -> None:
    transport = DriveTransport(HttpPool(size=4, timeout=30), CredentialCache())
    keys = [emulator.create_account(legacy=True) for _ in range(30)]
    before = token_posts(emulator)
    owner = DriveClient(keys[0], emulator.url, transport=transport)
    source = owner.upload(io.BytesIO(b"x" * 1000), 1000, "s.bin", "application/octet-stream", {})
    for key in keys[1:]:
        owner.share_with(source.id, key["client_email"])
    peak, errors, stop = [0], [], threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], sockets_to(emulator.port))

    def work(worker: int) -> None:
        try:
            for key in keys[1 + worker % 3::3]:  # every thread works on ~10 accounts
                client = DriveClient(key, emulator.url, policy=RetryPolicy(attempts=3),
                                     transport=transport)
                client.get(client.copy(source.id, "c.bin", {}).id)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    sampler.join()
    assert not errors
    assert 1 <= peak[0] <= 4
    assert token_posts(emulator) - before == 30 == transport.credentials.refreshes()
    transport.pool.close()
