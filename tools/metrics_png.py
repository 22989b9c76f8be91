"""Render the key fileserver panels to PNG from Prometheus range queries (no Grafana needed).

    python -m tools.metrics_png --prometheus http://127.0.0.1:19090 --out metrics-png --since 15m

Panels: traffic by function, errors by function and status, replication progress (files by
status), per-account share of the daily limit, bytes handed out per account, stats lag p99.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_POINTS = 300


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    query: str
    ylabel: str
    legend: tuple[str, ...]  # labels that name a series in the legend


PANELS = (
    Panel("traffic", "Requests per second by function",
          "sum by (function) (rate(fileserver_http_requests_total[1m]))", "req/s", ("function",)),
    Panel("errors", "Error responses per second (4xx, 5xx)",
          'sum by (function, status) (rate(fileserver_http_requests_total{status=~"[45].."}[1m]))',
          "req/s", ("function", "status")),
    Panel("replication", "Replication progress: files by status",
          "sum by (status) (fileserver_files_by_status)", "files", ("status",)),
    Panel("account_daily_use", "Share of each Drive account's daily limit used",
          "max by (account_id) (fileserver_account_daily_limit_share)", "share", ("account_id",)),
    Panel("bytes_per_account", "Bytes handed out per account (per minute)",
          "sum by (account_id) (increase(fileserver_download_bytes_handed_out_total[1m]))",
          "bytes/min", ("account_id",)),
    Panel("stats_lag", "Stats lag p99 (event to computed)",
          "histogram_quantile(0.99, sum by (le) (rate(fileserver_stats_lag_seconds_bucket[1m])))",
          "seconds", ()),
)

Series = tuple[str, list[tuple[float, float]]]


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``2h``, ``1d`` to seconds; ValueError otherwise."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"not a duration like 15m: {text!r}")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def series_name(labels: dict[str, str], legend: tuple[str, ...]) -> str:
    parts = [labels.get(name, "") for name in legend]
    return " ".join(p for p in parts if p) or "value"


def query_range(prometheus: str, panel: Panel, start: float, end: float,
                step: int) -> list[Series]:
    """The panel's series from ``/api/v1/query_range``; RuntimeError if Prometheus refuses."""
    response = requests.get(f"{prometheus.rstrip('/')}/api/v1/query_range", timeout=30,
                            params={"query": panel.query, "start": start, "end": end,
                                    "step": step})
    body = response.json()
    if response.status_code != 200 or body.get("status") != "success":
        raise RuntimeError(f"{panel.name}: Prometheus said {body.get('error', response.text)}")
    result = []
    for item in body["data"]["result"]:
        points = [(float(t), float(v)) for t, v in item["values"] if v not in ("NaN", "+Inf")]
        if points:
            result.append((series_name(item["metric"], panel.legend), points))
    return sorted(result)


MAX_LEGEND = 12


def render(panel: Panel, series: list[Series], out: Path) -> None:
    """One PNG per panel; an empty panel says "no data" rather than being skipped."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        ranked = sorted(series, key=lambda s: max(v for _, v in s[1]), reverse=True)
        for index, (name, points) in enumerate(ranked):
            times = [datetime.fromtimestamp(t, UTC) for t, _ in points]
            label = name if index < MAX_LEGEND else None
            axes.plot(times, [v for _, v in points], label=label, linewidth=1.5)
        if not series:
            axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
        elif any(name != "value" for name, _ in series):
            axes.legend(loc="upper left", fontsize="small", ncol=2)
        axes.set_title(panel.title)
        axes.set_ylabel(panel.ylabel)
        axes.set_xlabel("time (UTC)")
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=UTC))
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(out)
    finally:
        plt.close(figure)


def render_all(prometheus: str, out_dir: Path, since_seconds: int,
               now: float | None = None) -> dict[str, int]:
    """Render every panel into ``out_dir``; answer the number of series per panel."""
    end = now if now is not None else time.time()
    step = max(1, since_seconds // MAX_POINTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for panel in PANELS:
        series = query_range(prometheus, panel, end - since_seconds, end, step)
        render(panel, series, out_dir / f"{panel.name}.png")
        counts[panel.name] = len(series)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prometheus", default="http://127.0.0.1:19090")
    parser.add_argument("--out", type=Path, default=Path("metrics-png"))
    parser.add_argument("--since", default="15m", help="window ending now, e.g. 90s, 15m, 2h")
    args = parser.parse_args(argv)
    try:
        since = parse_duration(args.since)
        counts = render_all(args.prometheus, args.out, since)
    except (ValueError, RuntimeError, requests.RequestException) as exc:
        print(f"metrics_png: {exc}", file=sys.stderr)
        return 2
    for name, count in counts.items():
        print(f"{args.out / (name + '.png')}: {count} series")
    return 0


if __name__ == "__main__":
    sys.exit(main())
