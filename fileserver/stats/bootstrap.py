"""Wire Stats in one process (the pattern of fileserver/wiring.py).

``Stats`` receives the Downloader's client and the capacity target and builds the service;
it connects nothing and has no start-up step (Stats keeps no store of its own).
``PROCESS`` holds this process's ``Stats``: built by ``from_env()`` on first use, or
installed by a test with ``PROCESS.use(Stats(...))``.
"""

from __future__ import annotations

from fileserver.config import gateway_url, int_setting, secret
from fileserver.stats.compute import CapacityTarget
from fileserver.stats.downloader_client import DownloaderClient
from fileserver.stats.service import Downloader, StatsService
from fileserver.wiring import ProcessWiring

DEFAULT_DAILY_LIMIT_BYTES = 100 * 10**9


def capacity_target() -> CapacityTarget:
    """TARGET_MONTHLY_USERS x TARGET_MB_PER_USER against DEFAULT_DAILY_LIMIT_BYTES per account."""
    return CapacityTarget(
        monthly_users=int_setting("TARGET_MONTHLY_USERS", 1_000_000),
        mb_per_user=int_setting("TARGET_MB_PER_USER", 500),
        account_daily_limit_bytes=int_setting("DEFAULT_DAILY_LIMIT_BYTES",
                                              DEFAULT_DAILY_LIMIT_BYTES),
    )


class Stats:
    """The Stats service of one process, from the Downloader client it receives."""

    def __init__(self, downloader: Downloader, target: CapacityTarget) -> None:
        self.service = StatsService(downloader, target)


def from_env() -> Stats:
    """The real dependencies: the Downloader through ``GATEWAY_URL`` with ``admin-token``."""
    return Stats(DownloaderClient(gateway_url(), secret("admin-token")), capacity_target())


PROCESS: ProcessWiring[Stats] = ProcessWiring(from_env)


def stats_service() -> StatsService:
    return PROCESS.get().service
