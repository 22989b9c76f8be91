"""Replica health as the Downloader's admin calls and reports show it (the prober writes it:
fileserver/downloader/prober.py)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from fileserver.contracts.timestamps import format_utc
from fileserver.downloader.health_repository import HealthRepository
from fileserver.downloader.validation import ident
from fileserver.errors import BadRequest

MAX_CLOCK_OFFSET = 366 * 86400.0


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


class HealthService:
    def __init__(self, health: HealthRepository) -> None:
        self.health = health

    def set_clock(self, body: dict[str, Any]) -> dict[str, Any]:
        """``{"offset_seconds": N}``: the prober's clock is real time plus N seconds (tests
        move it with the Drive emulator's clock; 0 in production)."""
        raw = body.get("offset_seconds")
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) \
                or abs(raw) > MAX_CLOCK_OFFSET:
            raise BadRequest(f"offset_seconds must be a number of at most {MAX_CLOCK_OFFSET:.0f}")
        self.health.set_clock_offset(float(raw))
        return {"offset_seconds": float(raw)}

    def report(self, file_id: str | None, account_id: str | None) -> dict[str, Any]:
        """Blocked and missing replicas (optionally of one file or account), the counts of
        every live replica by state, and the daily capacity (nominal and healthy)."""
        file_id = None if file_id is None else ident(file_id, "file_id")
        account_id = None if account_id is None else ident(account_id, "account_id")
        items = [{**row, "until": _iso(row["until"]), "checked_at": _iso(row["checked_at"]),
                  "changed_at": _iso(row["changed_at"]),
                  "repair_requested_at": _iso(row["repair_requested_at"])}
                 for row in self.health.unhealthy(file_id, account_id)]
        return {"items": items, "replicas": self.health.counts(),
                "daily_capacity": self.health.capacity()}

    def capacity(self) -> dict[str, int]:
        """Bytes/day of the active accounts (nominal) and of those with every replica ok."""
        return self.health.capacity()

    def annotate(self, items: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
        """Add ``replicas_blocked`` and ``replicas_missing`` to report rows keyed by
        ``column`` (``file_id`` or ``account_id``)."""
        counts = self.health.unhealthy_counts(column, [row[column] for row in items])
        for row in items:
            found = counts.get(row[column], {})
            row["replicas_blocked"] = found.get("blocked", 0)
            row["replicas_missing"] = found.get("missing", 0)
        return items
