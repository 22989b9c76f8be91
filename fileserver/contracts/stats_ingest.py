"""What Stats may send the Downloader's stats-ingest: the limits both sides check.

Stats refuses up front, with the reason, any event the Downloader would refuse; the Downloader
checks the same limits again on what it stores. ``ID_PATTERN`` is also the Downloader's rule
for every id it stores (files, accounts, events).
"""

from __future__ import annotations

import re
from typing import Any

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
ID_RULE = "an id of 1-128 letters, digits or ._:-"
MAX_INTEGER = 2**63 - 1  # a PostgreSQL bigint: downloads, bytes, versions
MAX_BATCH_EVENTS = 10_000  # download events per stats-compute batch and per stats-ingest call


def is_id(value: Any) -> bool:
    """``value`` is a string that matches ``ID_PATTERN`` whole."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None
