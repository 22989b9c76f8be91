"""Wire the Stats service to its real adapters, once per process (nothing at import time)."""

from __future__ import annotations

import functools

from fileserver.config import gateway_url, int_setting, secret
from fileserver.stats.compute import CapacityTarget
from fileserver.stats.downloader_client import DownloaderClient
from fileserver.stats.service import StatsService

DEFAULT_DAILY_LIMIT_BYTES = 100 * 10**9


def capacity_target() -> CapacityTarget:
    """TARGET_MONTHLY_USERS x TARGET_MB_PER_USER against DEFAULT_DAILY_LIMIT_BYTES per account."""
    return CapacityTarget(
        monthly_users=int_setting("TARGET_MONTHLY_USERS", 1_000_000),
        mb_per_user=int_setting("TARGET_MB_PER_USER", 500),
        account_daily_limit_bytes=int_setting("DEFAULT_DAILY_LIMIT_BYTES",
                                              DEFAULT_DAILY_LIMIT_BYTES),
    )


@functools.cache
def stats_service() -> StatsService:
    return StatsService(DownloaderClient(gateway_url(), secret("admin-token")),
                        capacity_target())
