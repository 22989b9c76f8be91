"""The timestamp text of fileserver: ISO-8601 in UTC, milliseconds, a trailing ``Z``.

Every service writes its times this way (``2026-11-25T10:00:00.123Z``): the Uploader's
documents, the job bodies, the Downloader's answers and the Stats figures. The strings sort
in time order.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_utc(moment: datetime, timespec: str = "milliseconds") -> str:
    """``moment`` (timezone-aware) as ``2026-11-25T10:00:00.123Z`` (``timespec="seconds"``:
    ``2026-11-25T10:00:00Z``, for whole-second times such as a signed link's expiry)."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_stamp() -> str:
    """Now, as :func:`format_utc` writes it."""
    return format_utc(datetime.now(UTC))


def parse_utc(text: str) -> datetime:
    """An ISO-8601 timestamp (a ``Z`` or an offset) as a datetime; ``ValueError`` if it is
    not one. A timestamp without a time zone comes back naive: callers refuse it."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
