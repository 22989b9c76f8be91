"""The runner end to end: JMeter really runs a plan against a real HTTP server process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jmeter import jmx
from jmeter.locate import Jmeter

REPO = Path(__file__).resolve().parents[3]


def _plan(path: Path, wrong_expectation: bool) -> Path:
    """Two threads x two loops of: GET /ok (+ id extraction), a 404, an upload, a JSON POST."""
    body_check = '"status": "nope"' if wrong_expectation else '"status": "ok"'
    plan = jmx.test_plan(
        "runner check", [],
        jmx.thread_group(
            "users", "${__P(threads,1)}", "0", "2",
            jmx.http_defaults("${__P(gateway_protocol)}", "${__P(gateway_host)}",
                              "${__P(gateway_port)}", "5000"),
            jmx.http("get ok", "GET", "/ok", jmx.extract("the_id", '"id":\\s*"([^"]+)"'),
                     jmx.expect_status("200"), jmx.expect("body says ok", [body_check])),
            jmx.http("get missing", "GET", "/missing/${the_id}", jmx.expect_status("404")),
            jmx.http("upload", "POST", "/echo", jmx.expect_status("201"),
                     upload="${__P(file_small)}"),
            jmx.http("post json", "POST", "/echo", jmx.expect("echoed id", ['"id": "abc123"']),
                     body='{"id": "${the_id}"}'),
        ),
    )
    path.write_text(jmx.plan_xml(plan))
    return path


def _run(tmp_path: Path, url: str, runs: int, wrong: bool) -> tuple[int, dict]:
    plan = _plan(tmp_path / "check.jmx", wrong)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "jmeter.run", "--plan", str(plan), "--runs", str(runs),
           "--gateway", url, "--token", "secret-token-x", "--threads", "2", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert (out / "summary.json").exists(), proc.stdout + proc.stderr
    return proc.returncode, json.loads((out / "summary.json").read_text())


def test_passing_plan_writes_summaries_and_charts(
    jmeter_install: Jmeter, tiny_server: str, tmp_path: Path
) -> None:
    code, summary = _run(tmp_path, tiny_server, runs=2, wrong=False)
    assert code == 0, summary
    total = summary["overall"]
    assert total["passed"] and total["runs"] == 2
    assert total["samples"] == 2 * 2 * 2 * 4  # runs x threads x loops x samplers
    assert total["errors"] == 0
    assert total["throughput_per_s"]["min"] <= total["throughput_per_s"]["max"]
    for run in summary["runs"]:
        samplers = run["summary"]["samplers"]
        assert set(samplers) == {"get ok", "get missing", "upload", "post json"}
        assert samplers["get missing"]["samples"] == 4
        assert samplers["get ok"]["p99_ms"] >= samplers["get ok"]["p50_ms"] > 0
        for chart in run["charts"]:
            assert (tmp_path / "out" / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (tmp_path / "out" / "summary.md").read_text()
    assert "PASSED" in markdown and "| get missing | 4 | 0 |" in markdown
    assert "secret-token-x" not in markdown + json.dumps(summary)


def test_failed_assertion_fails_the_run(
    jmeter_install: Jmeter, tiny_server: str, tmp_path: Path
) -> None:
    code, summary = _run(tmp_path, tiny_server, runs=1, wrong=True)
    assert code == 1
    run = summary["runs"][0]
    assert run["summary"]["samplers"]["get ok"]["assertion_failures"] == 4
    assert run["summary"]["samplers"]["post json"]["errors"] == 0
    assert {f["label"] for f in run["summary"]["failures"]} == {"get ok"}
    assert "FAILED" in (tmp_path / "out" / "summary.md").read_text()
