"""Stats' increments for tests of the Downloader's ingest, computed by the real Stats code."""

from __future__ import annotations

from typing import Any

from fileserver.downloader.increments import Increments, parse_increments
from fileserver.downloader.reports import ReportService
from fileserver.stats.compute import batch_increments, dedupe, parse_batch


def body(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The stats-ingest body stats-compute sends for ``events`` (de-duplicated)."""
    return {"increments": batch_increments(dedupe(parse_batch(events))[0])}


def increments(events: list[dict[str, Any]]) -> Increments:
    """What StatsRepository.ingest receives for ``events``."""
    return parse_increments(body(events)["increments"])


class DirectDownloader:
    """Stats' Downloader port served by a ReportService in this process (no HTTP)."""

    def __init__(self, reports: ReportService) -> None:
        self.reports = reports

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.reports.ingest(payload)

    def account_rows(self) -> list[dict[str, Any]]:
        return self.reports.account_list(500, 0, None, None)["items"]
