"""Wire the Downloader of one process (the pattern of fileserver/wiring.py).

``Downloader`` receives the database, the gateway and the settings, and builds each service
on first use; constructing it connects nothing and starts nothing. Two steps touch the
world, and each is an explicit call that the functions' handlers list with
``on_first_request``:

- ``migrate_schema()``: the schema migrations (every Downloader function, before its first
  query; the first process applies what is new, the others nothing);
- ``start_outbox()``: the outbox relay and replica prober threads, only in the functions
  that write download events (get-url, download). The relay's first pass sends what any
  earlier process left in the outbox.

``PROCESS`` holds this process's ``Downloader``: built by ``from_env()`` on first use, or
installed by a test with ``PROCESS.use(Downloader(...))``. The functions below are what the
handlers call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fileserver.config import gateway_url, int_setting, optional_secret, postgres_url
from fileserver.downloader.db import Database, migrate
from fileserver.downloader.health import HealthService
from fileserver.downloader.health_repository import HealthRepository
from fileserver.downloader.limits import ClientLimits
from fileserver.downloader.outbox import OutboxRelay
from fileserver.downloader.prober import Prober, prober_from_env
from fileserver.downloader.redirector import RedirectService
from fileserver.downloader.reports import ReportService
from fileserver.downloader.repository import RegistryRepository
from fileserver.downloader.service import DownloadService
from fileserver.downloader.signed_links import LinkSigner, link_signer
from fileserver.downloader.stats_repository import StatsRepository
from fileserver.downloader.sync import SyncService
from fileserver.wiring import ProcessWiring

T = TypeVar("T")


@dataclass(frozen=True)
class DownloaderSettings:
    pool_size: int = 10
    outbox_idle_seconds: float = 1.0
    holders_cache_seconds: float = 2.0
    retention_days: int = 7
    duplicate_links: int = 4

    @classmethod
    def from_env(cls) -> DownloaderSettings:
        """``POSTGRES_POOL_SIZE``, ``OUTBOX_IDLE_MS``, ``DOWNLOAD_HOLDERS_CACHE_MS``,
        ``STATS_EVENT_RETENTION_DAYS``, ``DOWNLOAD_DUPLICATE_LINKS`` (docs/downloader.md)."""
        return cls(pool_size=int_setting("POSTGRES_POOL_SIZE", 10),
                   outbox_idle_seconds=int_setting("OUTBOX_IDLE_MS", 1000) / 1000,
                   holders_cache_seconds=int_setting("DOWNLOAD_HOLDERS_CACHE_MS", 2000) / 1000,
                   retention_days=int_setting("STATS_EVENT_RETENTION_DAYS", 7),
                   duplicate_links=max(0, int_setting("DOWNLOAD_DUPLICATE_LINKS", 4)))


class Downloader:
    """The Downloader services of one process, built once each from what it receives."""

    def __init__(self, database: Database, gateway: str, *, admin_token: str | None = None,
                 limits: ClientLimits | None = None, signer: LinkSigner | None = None,
                 settings: DownloaderSettings | None = None, relay: OutboxRelay | None = None,
                 prober: Prober | None = None,
                 migrations: Callable[[Database], object] = migrate) -> None:
        self.database = database
        self.migrations = migrations
        self.gateway = gateway
        self.admin_token = admin_token
        self.limits = limits or ClientLimits()
        self.signer = signer
        self.settings = settings or DownloaderSettings()
        self._given: dict[str, Any] = {"relay": relay, "prober": prober}
        self._built: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._migrated = False
        self._outbox_started = False

    def _once(self, name: str, build: Callable[[], T]) -> T:
        found = self._built.get(name)
        if found is None:
            with self._lock:
                if name not in self._built:
                    self._built[name] = self._given.get(name) or build()
                found = self._built[name]
        return found

    def migrate(self) -> None:
        """Apply the migrations this database lacks (once per process; retried after a
        failure, e.g. while PostgreSQL is down)."""
        with self._lock:
            if not self._migrated:
                self.migrations(self.database)
                self._migrated = True

    def start_outbox(self) -> None:
        """Start the relay thread (it sends the outbox to stats-compute) and the prober."""
        with self._lock:
            if not self._outbox_started:
                self.relay.start()
                self.prober.start()
                self._outbox_started = True

    @property
    def relay(self) -> OutboxRelay:
        return self._once("relay", lambda: OutboxRelay(
            self.database, self.gateway, idle_seconds=self.settings.outbox_idle_seconds))

    @property
    def prober(self) -> Prober:
        """The replica prober (one process at a time probes, see prober.py)."""
        return self._once("prober", lambda: prober_from_env(
            HealthRepository(self.database), self.gateway, self.admin_token))

    @property
    def download_service(self) -> DownloadService:
        """get-url's service: each event it writes wakes the relay."""
        return self._once("download", lambda: DownloadService(
            self.database, on_event=self.relay.wake.set, limits=self.limits))

    @property
    def redirect_service(self) -> RedirectService:
        """The download redirector's service: books through the get-url service."""
        return self._once("redirect", lambda: RedirectService(
            self.download_service, cache_seconds=self.settings.holders_cache_seconds))

    @property
    def sync_service(self) -> SyncService:
        return self._once("sync", lambda: SyncService(RegistryRepository(self.database)))

    @property
    def health_service(self) -> HealthService:
        return self._once("health", lambda: HealthService(HealthRepository(self.database)))

    @property
    def report_service(self) -> ReportService:
        return self._once("reports", lambda: ReportService(
            StatsRepository(self.database), health=self.health_service,
            retention_days=self.settings.retention_days))


def from_env() -> Downloader:
    """The real dependencies: the pool on ``POSTGRES_URL`` (it connects on first query),
    ``GATEWAY_URL``, the ``admin-token`` and ``download-link-secret`` secrets, ``CLIENT_*``."""
    settings = DownloaderSettings.from_env()
    return Downloader(Database(postgres_url(), pool_size=settings.pool_size), gateway_url(),
                      admin_token=optional_secret("admin-token"),
                      limits=ClientLimits.from_env(), signer=link_signer(), settings=settings)


PROCESS: ProcessWiring[Downloader] = ProcessWiring(from_env)


def downloader() -> Downloader:
    return PROCESS.get()


def migrate_schema() -> None:
    """Every Downloader function's first step (``on_first_request``)."""
    downloader().migrate()


def start_outbox() -> None:
    """The first step of get-url and download, the functions that write download events."""
    downloader().start_outbox()


def database() -> Database:
    return downloader().database


def relay() -> OutboxRelay:
    return downloader().relay


def prober() -> Prober:
    return downloader().prober


def signer() -> LinkSigner | None:
    """The signed-link signer when ``download-link-secret`` is set, else None."""
    return downloader().signer


def client_limits() -> ClientLimits:
    """The per-client limit settings of this process (``CLIENT_*``)."""
    return downloader().limits


def duplicate_links() -> int:
    """How many other holders the redirector lists in ``Link: rel=duplicate`` headers."""
    return downloader().settings.duplicate_links


def download_service() -> DownloadService:
    return downloader().download_service


def redirect_service() -> RedirectService:
    return downloader().redirect_service


def sync_service() -> SyncService:
    return downloader().sync_service


def health_service() -> HealthService:
    return downloader().health_service


def report_service() -> ReportService:
    return downloader().report_service
