"""Report figures from JTL samples: percentiles, per-sampler counts, spread over runs."""

from __future__ import annotations

from pathlib import Path

from jmeter import report
from jmeter.jtl import Sample, read_jtl


def _sample(ts: int, elapsed: int, label: str = "a", ok: bool = True, msg: str = "") -> Sample:
    return Sample(ts, elapsed, label, "200" if ok else "500", ok, msg, 10)


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert report.percentile(values, 50) == 50
    assert report.percentile(values, 95) == 95
    assert report.percentile(values, 99) == 99
    assert report.percentile([7], 99) == 7
    assert report.percentile([], 50) == 0


def test_summarize_counts_errors_and_assertion_failures_per_sampler() -> None:
    samples = [_sample(1000, 100), _sample(1500, 300, "b", ok=False, msg="expected 200"),
               _sample(2000, 1000, "b", ok=False)]
    summary = report.summarize(samples)
    assert summary["overall"]["duration_s"] == 2.0  # 1000 → 3000 ms
    assert summary["overall"]["throughput_per_s"] == 1.5
    assert summary["samplers"]["b"]["errors"] == 2
    assert summary["samplers"]["b"]["assertion_failures"] == 1
    assert summary["samplers"]["a"]["errors"] == 0
    assert [f["message"] for f in summary["failures"]] == ["expected 200", "(no message)"]


def test_spread_reports_min_max_and_coefficient_of_variation() -> None:
    assert report.spread([90.0, 100.0, 110.0]) == {
        "min": 90.0, "max": 110.0, "mean": 100.0, "cv": 0.0816}
    assert report.spread([5.0])["cv"] == 0.0


def test_read_jtl_parses_quoted_failure_messages(tmp_path: Path) -> None:
    jtl = tmp_path / "r.jtl"
    jtl.write_text(
        "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
        "failureMessage,bytes\n"
        '1700000000000,12,get url,404,Not Found,t 1-1,text,false,"Test failed: code, 404",77\n'
    )
    [sample] = read_jtl(jtl)
    assert sample.label == "get url" and sample.elapsed_ms == 12 and not sample.success
    assert sample.failure_message == "Test failed: code, 404" and sample.assertion_failed
    assert read_jtl(tmp_path / "none.jtl") == []


def _run(number: int, throughput: float, passed: bool = True) -> dict:
    figures = {"samples": 10, "errors": 0, "assertion_failures": 0,
               "throughput_per_s": throughput, "p95_ms": 5.0}
    return {"run": number, "passed": passed, "summary": {"overall": figures}}


def test_overall_fails_when_throughput_spread_exceeds_the_limit() -> None:
    steady = [_run(1, 100.0), _run(2, 104.0), _run(3, 98.0)]
    assert report.overall(steady, max_cv=0.05)["passed"]
    jumpy = [_run(1, 100.0), _run(2, 150.0), _run(3, 60.0)]
    total = report.overall(jumpy, max_cv=0.05)
    assert not total["passed"] and not total["throughput_steady"]
    assert total["throughput_per_s"]["min"] == 60.0 and total["throughput_per_s"]["max"] == 150.0
    assert report.overall(jumpy)["passed"]  # no limit given: the spread is only reported
    assert not report.overall([_run(1, 100.0, passed=False)])["passed"]


def test_setup_samples_do_not_dilute_throughput() -> None:
    setup = Sample(0, 5000, "wait for seed", "200", True, "", 1, "setUp: seed 1-1")
    work = [Sample(10_000 + 100 * i, 50, "get-url", "200", True, "", 1, "readers 1-1")
            for i in range(20)]
    overall = report.summarize([setup, *work])["overall"]
    assert overall["samples"] == 21
    assert overall["duration_s"] == 1.95  # 10.0 s → 11.95 s, the setUp wait left out
    assert overall["throughput_per_s"] == round(20 / 1.95, 2)
