"""The shared HTTP pool and credential cache without a Drive server."""

from __future__ import annotations

import datetime
import http.server
import threading
import time
from collections.abc import Iterator

import pytest
from google.auth.credentials import Credentials

from fileserver.drive.transport import CredentialCache, HttpPool, SharedCredentials


class CountingCredentials(Credentials):
    """A credential whose refresh takes a little while and yields a token for ``lifetime``."""

    def __init__(self, lifetime: float = 3600.0) -> None:
        super().__init__()
        self.lifetime = lifetime
        self.exchanges = 0

    def refresh(self, request: object) -> None:
        time.sleep(0.01)
        self.exchanges += 1
        self.token = f"t{self.exchanges}"
        self.expiry = (datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
                       + datetime.timedelta(seconds=self.lifetime))


def hammer(target, threads: int = 20, calls: int = 10) -> None:  # noqa: ANN001
    def run() -> None:
        for _ in range(calls):
            target()
    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def test_one_token_exchange_for_many_threads_while_the_token_is_fresh() -> None:
    inner = CountingCredentials()
    shared = SharedCredentials(inner)
    seen: set[str] = set()

    def call() -> None:
        headers: dict[str, str] = {}
        shared.before_request(None, "GET", "http://x/", headers)
        seen.add(headers["authorization"])

    hammer(call)
    assert inner.exchanges == shared.refreshes == 1
    assert seen == {"Bearer t1"}


def test_a_token_near_expiry_is_exchanged_again_once() -> None:
    inner = CountingCredentials(lifetime=60.0)  # inside google-auth's refresh threshold
    shared = SharedCredentials(inner)
    shared.before_request(None, "GET", "http://x/", {})
    shared.before_request(None, "GET", "http://x/", {})
    assert inner.exchanges == 2


def test_a_401_refresh_is_done_once_by_the_threads_that_saw_the_same_token() -> None:
    inner = CountingCredentials()
    shared = SharedCredentials(inner)
    shared.before_request(None, "GET", "http://x/", {})
    barrier = threading.Barrier(8)

    def after_401() -> None:
        barrier.wait()
        shared.refresh(None)

    hammer(after_401, threads=8, calls=1)
    assert 2 <= inner.exchanges <= 3  # one refresh per token seen stale, not one per thread


def test_cache_gives_one_credential_per_key_and_a_new_one_for_a_new_key() -> None:
    built: list[dict] = []

    def build(key: dict) -> Credentials:
        built.append(key)
        return CountingCredentials()

    cache = CredentialCache(capacity=2, build=build)
    first = cache.get({"client_email": "a", "private_key": "1"})
    hammer(lambda: cache.get({"client_email": "a", "private_key": "1"}))
    assert cache.get({"private_key": "1", "client_email": "a"}) is first
    assert cache.get({"client_email": "a", "private_key": "2"}) is not first  # rotated key
    cache.get({"client_email": "b"})
    assert cache.get({"client_email": "a", "private_key": "1"}) is not first  # evicted (LRU)


class KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[tuple[str, int]] = set()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        KeepAliveHandler.connections.add(self.client_address)
        time.sleep(0.002)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    KeepAliveHandler.connections = set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_pool_bounds_connections_whatever_the_number_of_threads(server: str) -> None:
    pool = HttpPool(size=4, timeout=10)
    statuses: list[int] = []
    hammer(lambda: statuses.append(pool.request(server)[0].status), threads=24, calls=10)
    assert statuses == [200] * 240
    assert len(KeepAliveHandler.connections) <= 4  # the server saw at most 4 connections
    pool.close()


def test_pool_keeps_308_out_of_redirects() -> None:
    assert 308 not in HttpPool(size=1).redirect_codes
    with pytest.raises(ValueError):
        HttpPool(size=0)
