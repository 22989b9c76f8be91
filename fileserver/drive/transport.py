"""One HTTP pool and one credential per account for every DriveClient of a process.

``HttpPool`` is an httplib2-compatible object (``request(uri, method, ...)``) over a bounded
set of ``httplib2.Http`` objects: a call borrows one for the length of one HTTP exchange and
gives it back, so any number of threads and accounts share at most ``size`` keep-alive
connections per host (httplib2 itself is not thread-safe; each borrowed ``Http`` is used by
one thread at a time). ``CredentialCache`` keeps one google-auth credential per key, whose
access token is reused by every client of that account until it nears expiry
(google-auth's refresh threshold) and is refreshed by one thread at a time.
``DriveTransport`` holds both; ``shared_transport()`` is the process's one (built on first
use, size from ``DRIVE_HTTP_POOL_SIZE``, default 32).
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials

from fileserver import config
from fileserver.drive.credentials import credentials_from_key

HTTP_TIMEOUT = 120
DEFAULT_POOL_SIZE = 32  # = the replicator's copy width (REPLICATOR_COPY_WIDTH, all jobs together)
CACHED_ACCOUNTS = 4096


def _new_http(timeout: float) -> httplib2.Http:
    http = httplib2.Http(timeout=timeout)
    # Drive answers upload chunks with 308 Resume Incomplete: not a redirect.
    http.redirect_codes = http.redirect_codes - {308}
    return http


class HttpPool:
    """At most ``size`` ``httplib2.Http`` objects, lent one per request (blocks when all are
    lent); the attributes google_auth_httplib2 reads (timeout, redirect_codes...) are the
    shared settings of every member."""

    def __init__(self, size: int = DEFAULT_POOL_SIZE, timeout: float = HTTP_TIMEOUT) -> None:
        if size < 1:
            raise ValueError("the pool needs at least one connection")
        self.size = size
        self.timeout = timeout
        self.redirect_codes = _new_http(timeout).redirect_codes
        self.follow_redirects = True
        self._idle: queue.LifoQueue[httplib2.Http] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    def _borrow(self) -> httplib2.Http:
        with self._lock:
            if self._idle.empty() and self._created < self.size:
                self._created += 1
                return _new_http(self.timeout)
        return self._idle.get()

    def request(self, uri: str, method: str = "GET", body: Any = None,
                headers: dict[str, str] | None = None,
                redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
                connection_type: Any = None, **kwargs: Any) -> tuple[httplib2.Response, bytes]:
        """One HTTP exchange on a borrowed ``Http`` (httplib2's signature and answer)."""
        http = self._borrow()
        try:
            return http.request(uri, method, body=body, headers=headers,
                                redirections=redirections, connection_type=connection_type,
                                **kwargs)
        except BaseException:
            http.close()  # a half-read response must not be reused
            raise
        finally:
            self._idle.put(http)

    def close(self) -> None:
        for http in list(self._idle.queue):
            http.close()


class SharedCredentials(Credentials):
    """One account's credential for every thread: the token is refreshed under a lock, once,
    when google-auth no longer finds it valid (expired or within its refresh threshold)."""

    def __init__(self, inner: Credentials) -> None:
        super().__init__()
        self._inner = inner
        self._lock = threading.Lock()
        self.refreshes = 0

    @property
    def token(self) -> str | None:  # type: ignore[override]
        return self._inner.token

    @token.setter
    def token(self, value: str | None) -> None:
        pass  # the inner credential owns the token (google-auth's base __init__ sets None)

    @property
    def expiry(self):  # type: ignore[override]  # noqa: ANN201
        return self._inner.expiry

    @expiry.setter
    def expiry(self, value) -> None:  # noqa: ANN001
        pass

    @property
    def valid(self) -> bool:
        return self._inner.valid

    def refresh(self, request: Any) -> None:
        """Called after a 401: refresh unless another thread already did since."""
        stale = self._inner.token
        with self._lock:
            if self._inner.token == stale:
                self._refresh(request)

    def _refresh(self, request: Any) -> None:
        self._inner.refresh(request)
        self.refreshes += 1

    def before_request(self, request: Any, method: str, url: str,
                       headers: dict[str, str]) -> None:
        if not self._inner.valid:
            with self._lock:
                if not self._inner.valid:
                    self._refresh(request)
        self._inner.apply(headers)


def key_fingerprint(key: dict[str, Any]) -> str:
    """A digest of the whole key: a new key for the same account gets a new credential."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


class CredentialCache:
    """``SharedCredentials`` per key (built by ``credentials_from_key``), least recently used
    dropped beyond ``capacity``."""

    def __init__(self, capacity: int = CACHED_ACCOUNTS,
                 build: Callable[[dict[str, Any]], Credentials] = credentials_from_key) -> None:
        self.capacity = capacity
        self._build = build
        self._entries: OrderedDict[str, SharedCredentials] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: dict[str, Any]) -> SharedCredentials:
        fingerprint = key_fingerprint(key) if isinstance(key, dict) else ""
        with self._lock:
            found = self._entries.get(fingerprint)
            if found is not None:
                self._entries.move_to_end(fingerprint)
                return found
        built = SharedCredentials(self._build(key))  # parse outside the lock (RSA key load)
        with self._lock:
            found = self._entries.setdefault(fingerprint, built)
            self._entries.move_to_end(fingerprint)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            return found

    def refreshes(self) -> int:
        """Token exchanges made by the cached credentials so far."""
        with self._lock:
            return sum(entry.refreshes for entry in self._entries.values())


@dataclass
class DriveTransport:
    """What every DriveClient of one process shares."""

    pool: HttpPool
    credentials: CredentialCache

    def authorized_http(self, key: dict[str, Any]) -> google_auth_httplib2.AuthorizedHttp:
        """An httplib2-compatible object sending ``key``'s account token over the pool."""
        return google_auth_httplib2.AuthorizedHttp(self.credentials.get(key), http=self.pool)


_shared: DriveTransport | None = None
_shared_lock = threading.Lock()


def shared_transport() -> DriveTransport:
    """The process's transport; pool size from ``DRIVE_HTTP_POOL_SIZE`` (default 32)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            size = config.int_setting("DRIVE_HTTP_POOL_SIZE", DEFAULT_POOL_SIZE)
            _shared = DriveTransport(HttpPool(size), CredentialCache())
        return _shared
