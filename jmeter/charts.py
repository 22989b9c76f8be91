"""PNG charts of a run: throughput and latency over time (matplotlib, Agg backend)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

from jmeter.jtl import Sample  # noqa: E402
from jmeter.report import percentile  # noqa: E402


def _per_second(samples: list[Sample]) -> dict[int, list[Sample]]:
    start = min(s.timestamp_ms for s in samples)
    buckets: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        buckets[(sample.timestamp_ms + sample.elapsed_ms - start) // 1000].append(sample)
    return dict(sorted(buckets.items()))


def throughput_chart(samples: list[Sample], path: Path, title: str) -> Path:
    """Completed samples and errors per second."""
    buckets = _per_second(samples)
    seconds = list(buckets)
    fig, axis = plt.subplots(figsize=(9, 4))
    axis.plot(seconds, [len(b) for b in buckets.values()], label="samples/s")
    axis.plot(seconds, [sum(not s.success for s in b) for b in buckets.values()],
              label="errors/s", color="red")
    _finish(fig, axis, title, "requests per second", path)
    return path


def latency_chart(samples: list[Sample], path: Path, title: str) -> Path:
    """p50, p95 and max response time per second."""
    buckets = _per_second(samples)
    seconds = list(buckets)
    fig, axis = plt.subplots(figsize=(9, 4))
    for pct, name in ((50, "p50"), (95, "p95"), (100, "max")):
        values = [percentile([s.elapsed_ms for s in b], pct) for b in buckets.values()]
        axis.plot(seconds, values, label=name)
    _finish(fig, axis, title, "response time (ms)", path)
    return path


def _finish(fig: plt.Figure, axis: plt.Axes, title: str, ylabel: str, path: Path) -> None:
    axis.set_title(title)
    axis.set_xlabel("seconds since start")
    axis.set_ylabel(ylabel)
    axis.grid(True, alpha=0.3)
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
