"""Run a JMeter plan non-GUI N times and write summaries and charts.

    python -m jmeter.run --plan functional|load|PATH.jmx --runs N --gateway URL
                         [--token T] [--emulator URL] [--threads 50 --ramp 10 --duration 60]

Token and emulator URL default to the local stack's (``.stack/``, or ``STACK_DIR``).
Results go to ``jmeter/results/<timestamp>/`` (``--out`` to change): per run the JTL, the
JMeter log, ``summary.json`` and PNG charts; overall ``summary.md`` and ``summary.json``.
Exits 1 when any sample failed (an error or a failed assertion) or JMeter itself failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jmeter import charts, report
from jmeter.jtl import SAVE_PROPERTIES, read_jtl
from jmeter.locate import Jmeter, JmeterNotFound, command, find_jmeter
from jmeter.settings import oversized_file, plan_path, plan_properties, upload_files

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m jmeter.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", default="functional", help="functional, load or a .jmx path")
    parser.add_argument("--runs", type=int, default=1, help="how many times to run the plan")
    parser.add_argument("--gateway", default=os.environ.get("GATEWAY_URL") or None)
    parser.add_argument("--token", help="admin token (default: the local stack's)")
    parser.add_argument("--emulator", help="Drive emulator URL (default: the local stack's)")
    parser.add_argument("--threads", type=int, default=50, help="load plan: threads")
    parser.add_argument("--ramp", type=int, default=10, help="load plan: ramp-up seconds")
    parser.add_argument("--duration", type=int, default=60, help="load plan: seconds")
    parser.add_argument("--max-ms", type=int, default=5000,
                        help="load plan: slowest acceptable response (ms)")
    parser.add_argument("--max-upload-bytes", type=int, default=0,
                        help="the stack's MAX_UPLOAD_BYTES: also check that more answers 413")
    parser.add_argument("--max-cv", type=float,
                        help="fail when throughput varies more than this between runs (0.1 = 10%%)")
    parser.add_argument("--accounts", type=int, default=3, help="Drive accounts to register")
    parser.add_argument("--out", type=Path, help="results folder")
    parser.add_argument("-J", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                        help="any other JMeter property (repeatable)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.threads < 1 or args.duration < 1 or args.ramp < 0:
        parser.error("--runs, --threads and --duration must be >= 1, --ramp >= 0")
    if any("=" not in item for item in args.extra):
        parser.error("-J takes KEY=VALUE")
    return args


def run_once(jmeter: Jmeter, plan: Path, run_dir: Path, props: dict[str, str],
             run: int) -> dict[str, Any]:
    """One non-GUI run of ``plan`` into ``run_dir``; its summary, charts and pass/fail."""
    run_dir.mkdir(parents=True, exist_ok=True)
    jtl = run_dir / "results.jtl"
    args = ["-n", "-t", str(plan), "-l", str(jtl), "-j", str(run_dir / "jmeter.log")]
    args += [f"-J{key}={value}" for key, value in {**SAVE_PROPERTIES, **props}.items()]
    argv = command(jmeter, HERE / "results" / ".launcher", args)
    with (run_dir / "console.log").open("wb") as console:
        exit_code = subprocess.run(argv, stdout=console, stderr=subprocess.STDOUT).returncode
    samples = read_jtl(jtl)
    summary = report.summarize(samples)
    chart_files = []
    if samples:
        title = f"{plan.stem} run {run}"
        chart_files = [
            charts.throughput_chart(samples, run_dir / "throughput.png", title).name,
            charts.latency_chart(samples, run_dir / "latency.png", title).name,
        ]
    passed = exit_code == 0 and bool(samples) and summary["overall"]["errors"] == 0
    result = {"run": run, "exit_code": exit_code, "passed": passed, "summary": summary,
              "charts": [f"run-{run}/{name}" for name in chart_files]}
    report.write_json(run_dir / "summary.json", result)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        jmeter = find_jmeter()
    except JmeterNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    plan = plan_path(args.plan, HERE)
    out = args.out or HERE / "results" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    files = upload_files(out / "files")
    if args.max_upload_bytes > 0:
        files.update(oversized_file(out / "files", args.max_upload_bytes))
    props = plan_properties(args, files)
    runs = []
    for number in range(1, args.runs + 1):
        props["run_id"] = f"{out.name}-{number}"
        runs.append(run_once(jmeter, plan, out / f"run-{number}", props, number))
        print(_one_line(runs[-1]), flush=True)
    total = report.overall(runs, args.max_cv)
    meta = {"plan": plan.stem, "jmeter_version": jmeter.version,
            "gateway": props.get("gateway", ""), "properties": _shown(props)}
    report.write_json(out / "summary.json", {"meta": meta, "overall": total, "runs": runs})
    (out / "summary.md").write_text(report.render_markdown(meta, runs, total))
    print(f"{'PASSED' if total['passed'] else 'FAILED'}: summary in {out / 'summary.md'}")
    return 0 if total["passed"] else 1


def _one_line(run: dict[str, Any]) -> str:
    o = run["summary"]["overall"]
    return (f"run {run['run']}: {o['samples']} samples, {o['throughput_per_s']} req/s, "
            f"p95 {o['p95_ms']:.0f} ms, errors {o['errors']} "
            f"(assertions {o['assertion_failures']}), JMeter exit {run['exit_code']}")


def _shown(props: dict[str, str]) -> dict[str, str]:
    """The properties without secrets (the admin token is never written to reports)."""
    return {key: value for key, value in props.items() if key != "token"}


if __name__ == "__main__":
    sys.exit(main())
