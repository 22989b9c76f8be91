"""Summaries of JTL samples (per run and over all runs) and their PNG charts."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from jmeter.jtl import Sample

MAX_LISTED_FAILURES = 50


def percentile(values: list[int], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def _span_s(samples: list[Sample]) -> float:
    start = min(s.timestamp_ms for s in samples)
    end = max(s.timestamp_ms + s.elapsed_ms for s in samples)
    return max((end - start) / 1000, 0.001)


def _figures(samples: list[Sample], span_s: float) -> dict[str, Any]:
    elapsed = [s.elapsed_ms for s in samples]
    return {
        "samples": len(samples),
        "errors": sum(not s.success for s in samples),
        "assertion_failures": sum(s.assertion_failed for s in samples),
        "throughput_per_s": round(len(samples) / span_s, 2),
        "mean_ms": round(statistics.fmean(elapsed), 1) if elapsed else 0.0,
        "p50_ms": percentile(elapsed, 50),
        "p95_ms": percentile(elapsed, 95),
        "p99_ms": percentile(elapsed, 99),
        "max_ms": float(max(elapsed, default=0)),
    }


def summarize(samples: list[Sample]) -> dict[str, Any]:
    """Overall and per-sampler figures of one run, and its failed samples.

    Rates are per second of the workload: setUp/tearDown thread groups (registering accounts,
    waiting for a seed file) neither count nor stretch the time they are divided by.
    """
    if not samples:
        return {"overall": _figures([], 1.0) | {"duration_s": 0.0}, "samplers": {},
                "failures": [], "requirements": {}}
    workload = [s for s in samples if not s.in_setup] or samples
    span = _span_s(workload)
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_label[sample.label].append(sample)
    samplers = {label: _figures(group, span) for label, group in by_label.items()}
    failures = [
        {"label": s.label, "code": s.code, "message": s.failure_message or "(no message)"}
        for s in samples if not s.success
    ]
    return {
        "overall": _figures(samples, span) | {
            "duration_s": round(span, 2),
            "throughput_per_s": round(len(workload) / span, 2)},
        "samplers": samplers,
        "failures": failures[:MAX_LISTED_FAILURES],
        "requirements": requirements(samplers),
    }


def spread(values: list[float]) -> dict[str, float]:
    """min, max, mean and coefficient of variation (stdev / mean) of per-run figures."""
    if not values:
        return {"min": 0.0, "max": 0.0, "mean": 0.0, "cv": 0.0}
    mean = statistics.fmean(values)
    stdev = statistics.pstdev(values) if len(values) > 1 else 0.0
    return {"min": min(values), "max": max(values), "mean": round(mean, 2),
            "cv": round(stdev / mean, 4) if mean else 0.0}


def overall(runs: list[dict[str, Any]], max_cv: float | None = None) -> dict[str, Any]:
    """Totals over every run plus the spread of throughput between runs.

    With ``max_cv``, runs whose throughput varies more than that (stdev / mean) fail.
    """
    figures = [run["summary"]["overall"] for run in runs]
    throughput = spread([f["throughput_per_s"] for f in figures])
    steady = max_cv is None or throughput["cv"] <= max_cv
    return {
        "runs": len(runs),
        "samples": sum(f["samples"] for f in figures),
        "errors": sum(f["errors"] for f in figures),
        "assertion_failures": sum(f["assertion_failures"] for f in figures),
        "throughput_per_s": throughput,
        "max_cv": max_cv,
        "throughput_steady": steady,
        "p95_ms": spread([f["p95_ms"] for f in figures]),
        "passed": steady and all(run["passed"] for run in runs),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _sampler_table(samplers: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| sampler | n | errors | req/s | p50 ms | p95 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, f in sorted(samplers.items()):
        lines.append(f"| {label} | {f['samples']} | {f['errors']} | {f['throughput_per_s']} | "
                     f"{f['p50_ms']:.0f} | {f['p95_ms']:.0f} | {f['p99_ms']:.0f} |")
    return lines


def _cv_limit(total: dict[str, Any]) -> str:
    if total.get("max_cv") is None:
        return ""
    verdict = "ok" if total["throughput_steady"] else "EXCEEDED"
    return f" (limit {total['max_cv']:.0%}: {verdict})"


def render_markdown(meta: dict[str, Any], runs: list[dict[str, Any]],
                    total: dict[str, Any]) -> str:
    """summary.md: settings, the spread over runs, then each run's table and failures."""
    tp = total["throughput_per_s"]
    lines = [f"# JMeter {meta['plan']} plan: {'PASSED' if total['passed'] else 'FAILED'}", "",
             f"JMeter {meta['jmeter_version']}, gateway {meta['gateway']}, "
             f"{total['runs']} run(s), properties: {meta['properties']}", "",
             f"- samples {total['samples']}, errors {total['errors']}, "
             f"assertion failures {total['assertion_failures']}",
             f"- throughput req/s: min {tp['min']}, max {tp['max']}, mean {tp['mean']}, "
             f"cv {tp['cv']:.1%}{_cv_limit(total)}", ""]
    for run in runs:
        o = run["summary"]["overall"]
        lines += [f"## run {run['run']} ({'passed' if run['passed'] else 'FAILED'})", "",
                  f"{o['samples']} samples in {o['duration_s']} s = {o['throughput_per_s']} "
                  f"req/s; p50 {o['p50_ms']:.0f} ms, p95 {o['p95_ms']:.0f} ms, "
                  f"p99 {o['p99_ms']:.0f} ms; errors {o['errors']}; JMeter exit {run['exit_code']}",
                  "", *_sampler_table(run["summary"]["samplers"]), ""]
        checklist = run["summary"].get("requirements", {})
        if checklist:
            lines.append("requirements: " + ", ".join(
                f"{tag} {'ok' if c['errors'] == 0 else 'FAILED'}" for tag, c in checklist.items()))
            lines.append("")
        lines += [f"![{Path(name).stem}]({name})" for name in run["charts"]] + [""]
        lines += [f"- FAILED `{f['label']}` ({f['code']}): {f['message']}"
                  for f in run["summary"]["failures"]]
    return "\n".join(lines) + "\n"


def requirements(samplers: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per requirement tag (sampler names start with ``R01``, ``R02 R07``...): samples, errors."""
    checklist: dict[str, dict[str, int]] = {}
    for label, figures in samplers.items():
        for word in label.split():
            if not (len(word) == 3 and word[0] == "R" and word[1:].isdigit()):
                break
            entry = checklist.setdefault(word, {"samples": 0, "errors": 0})
            entry["samples"] += figures["samples"]
            entry["errors"] += figures["errors"]
    return dict(sorted(checklist.items()))
