"""Wire the Downloader once per process: database pool, migrations, services, outbox relay.

Nothing connects at import time; the first call does, with the environment of that moment.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import TypeVar

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

T = TypeVar("T")
_LOCK = threading.RLock()


def once(factory: Callable[[], T]) -> Callable[[], T]:
    """Cache ``factory()`` per process; safe when several request threads call it first."""
    cached = functools.cache(factory)

    @functools.wraps(factory)
    def get() -> T:
        with _LOCK:
            return cached()

    return get


@once
def database() -> Database:
    db = Database(postgres_url(), pool_size=int_setting("POSTGRES_POOL_SIZE", 10))
    migrate(db)
    _drain_once_in_background(db)
    return db


@once
def relay() -> OutboxRelay:
    return OutboxRelay(database(), gateway_url(),
                       idle_seconds=int_setting("OUTBOX_IDLE_MS", 1000) / 1000)


def _drain_once_in_background(db: Database) -> None:
    """Every Downloader process relays what an earlier process left in the outbox, on start."""
    one_shot = OutboxRelay(db, gateway_url())
    threading.Thread(target=_quiet_drain, args=(one_shot,), name="outbox-drain",
                     daemon=True).start()


def _quiet_drain(one_shot: OutboxRelay) -> None:
    # A failure here is harmless: the rows stay and the get-url relay retries them.
    with contextlib.suppress(Exception):
        one_shot.drain()


@once
def download_service() -> DownloadService:
    """The get-url service, with its long-lived outbox relay thread."""
    outbox = relay()
    outbox.start()
    prober().start()
    return DownloadService(database(), on_event=outbox.wake.set, limits=client_limits())


@once
def prober() -> Prober:
    """The replica prober of this process (started with the get-url service: get-url and
    download processes; one of them at a time probes, see fileserver/downloader/prober.py)."""
    return prober_from_env(HealthRepository(database()), gateway_url(),
                           optional_secret("admin-token"))


@once
def signer() -> LinkSigner | None:
    """The signed-link signer when ``download-link-secret`` is set (read once), else None."""
    return link_signer()


@once
def client_limits() -> ClientLimits:
    """The per-client limit settings of this process (``CLIENT_*``, read once)."""
    return ClientLimits.from_env()


@once
def redirect_service() -> RedirectService:
    """The download redirector's service: books through the get-url service above."""
    return RedirectService(download_service(),
                           cache_seconds=int_setting("DOWNLOAD_HOLDERS_CACHE_MS", 2000) / 1000)


@once
def duplicate_links() -> int:
    """How many other holders the redirector lists in ``Link: rel=duplicate`` headers (read
    once)."""
    return max(0, int_setting("DOWNLOAD_DUPLICATE_LINKS", 4))


@once
def sync_service() -> SyncService:
    return SyncService(RegistryRepository(database()))


@once
def health_service() -> HealthService:
    return HealthService(HealthRepository(database()))


@once
def report_service() -> ReportService:
    return ReportService(StatsRepository(database()), health=health_service(),
                         retention_days=int_setting("STATS_EVENT_RETENTION_DAYS", 7))
