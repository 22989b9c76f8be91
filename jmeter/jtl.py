"""Read a CSV JTL (JMeter's sample log) into plain records.

The runner asks JMeter for CSV with a header line and failure messages, through the
``jmeter.save.saveservice.*`` properties in :data:`SAVE_PROPERTIES`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SAVE_PROPERTIES = {
    "jmeter.save.saveservice.output_format": "csv",
    "jmeter.save.saveservice.print_field_names": "true",
    "jmeter.save.saveservice.assertion_results_failure_message": "true",
    "jmeter.save.saveservice.timestamp_format": "ms",
    "jmeter.save.saveservice.thread_counts": "true",
}


@dataclass(frozen=True)
class Sample:
    """One sampler result: start time (epoch ms), elapsed ms, label, outcome."""

    timestamp_ms: int
    elapsed_ms: int
    label: str
    code: str
    success: bool
    failure_message: str
    bytes: int
    thread: str = ""

    @property
    def in_setup(self) -> bool:
        """Sampled by a setUp or tearDown thread group (preparation, not the workload)."""
        return self.thread.startswith(("setUp", "tearDown"))

    @property
    def assertion_failed(self) -> bool:
        """Failed with a message: an assertion said no (not a transport error)."""
        return not self.success and bool(self.failure_message)


def read_jtl(path: Path) -> list[Sample]:
    """All samples of a CSV JTL with a header line; missing file → no samples."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        return [_sample(row) for row in csv.DictReader(handle) if row.get("timeStamp")]


def _sample(row: dict[str, str]) -> Sample:
    return Sample(
        timestamp_ms=int(row["timeStamp"]),
        elapsed_ms=int(row.get("elapsed") or 0),
        label=row.get("label", ""),
        code=row.get("responseCode", ""),
        success=row.get("success", "").lower() == "true",
        failure_message=row.get("failureMessage") or "",
        bytes=int(row.get("bytes") or 0),
        thread=row.get("threadName", ""),
    )
