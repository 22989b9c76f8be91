"""Every benchmark in bench/, small sizes, one table: ``python -m bench [--only NAME ...]``.

``--scale`` runs instead the benchmarks of issue 16 with their full sizes (200 accounts,
1,000 files; tens of minutes).

Each benchmark runs as its own process (``python -m bench.NAME`` with small arguments, the
same code as when run alone); this module only reads the figures from what they print and
sets them next to their goals (issues 3-7) and baselines. ``stats_lag`` needs a live stack:
one is started on free ports in a temp dir (one emulator account, one uploaded file) and
stopped afterwards. A figure that could not be read shows as ``?`` with the benchmark's
output tail below the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from devstack.process import interrupt_on_sigterm

NUMBER = r"([0-9][0-9,]*\.?[0-9]*)"


@dataclass(frozen=True)
class Figure:
    """One row: ``pattern``'s first group is the measured value; ``baseline`` likewise."""

    name: str
    pattern: str
    goal: str = "-"
    meets: Callable[[float], bool] | None = None
    baseline: str | None = None  # pattern of the baseline figure in the same output
    meets_ratio: Callable[[float], bool] | None = None  # goal on measured / baseline


@dataclass(frozen=True)
class Benchmark:
    module: str
    args: list[str]
    figures: list[Figure]
    scale_args: list[str] | None = None  # full sizes, for ``--scale``


BENCHMARKS = [
    Benchmark("drive_load", ["--threads", "4", "--seconds", "3"], [
        Figure("emulator files.copy ops/s", r"files\.copy\s+" + NUMBER),
        Figure("emulator /uc download ops/s", r"uc\.download\s+" + NUMBER)]),
    Benchmark("drive_memory", ["--mb", "50"], [
        Figure("emulator RSS growth, 50 MiB upload (MiB)", r"peak RSS upload:.*?\(\+" + NUMBER,
               "< file size", lambda v: v < 50),
        Figure("emulator RSS growth, 50 MiB download (MiB)",
               r"peak RSS download:.*?\(\+" + NUMBER, "< file size", lambda v: v < 50)]),
    Benchmark("upload_gridfs", ["--mb", "128"], [
        Figure("upload-file MB/s (vs GridFS put)",
               r"upload-file \(direct[^)]*\)\s+\S+ s\s+" + NUMBER,
               baseline=r"GridFS put\s+\S+ s\s+" + NUMBER),
        Figure("upload-file peak RSS, 128 MB (MB)", r"peak RSS\s+" + NUMBER, "< 100 MB",
               lambda v: v < 100),
        Figure("upload-file peak temporary disk (MB)", r"peak temporary disk\s+" + NUMBER,
               "0", lambda v: v == 0)]),
    Benchmark("get_url_throughput", ["--seconds", "4", "--clients", "16", "--rate", "500"], [
        Figure("get-url req/s, 16 clients (vs echo)", r"16\s+get-url\s+" + NUMBER,
               ">= 1000, ratio >= 0.5", lambda v: v >= 1000,
               baseline=r"16\s+echo\s+" + NUMBER),
        Figure("get-url req/s with client limits on, 16 clients (vs off)",
               r"16\s+limited\s+" + NUMBER, ">= 0.8x limits off",
               baseline=r"16\s+get-url\s+" + NUMBER, meets_ratio=lambda r: r >= 0.8),
        Figure("get-url p99 ms paced at 500/s", r"paced.*\n\s+get-url\s+\S+\s+\S+\s+" + NUMBER,
               "<= 50 ms", lambda v: v <= 50)]),
    Benchmark("redirector_throughput", ["--seconds", "0.5", "--clients", "16", "--rounds", "21"], [
        Figure("download redirector req/s, 16 clients (vs get-url)",
               r"16\s+download\s+" + NUMBER, baseline=r"16\s+get-url\s+" + NUMBER),
        Figure("redirector/get-url ratio, median of 21 interleaved rounds",
               r"throughput ratio: " + NUMBER, ">= 0.9", lambda v: v >= 0.9),
        Figure("redirector/get-url ratio, lowest round (vs highest)",
               r"throughput ratio: .*range " + NUMBER + "-",
               baseline=r"throughput ratio: .*range [0-9.]+-" + NUMBER),
        Figure("download function CPU ms per request (vs get-url's)",
               r"16\s+download(?:\s+\S+){5}\s+" + NUMBER,
               baseline=r"16\s+get-url(?:\s+\S+){5}\s+" + NUMBER)]),
    Benchmark("client_limits_sql", ["--calls", "1000"], [
        Figure("get-url call in PostgreSQL with limits on, new client (us, vs off)",
               r"new client\s+" + NUMBER, baseline=r"plain\s+" + NUMBER)]),
    Benchmark("replica_health_sql", ["--calls", "1000"], [
        Figure("get-url call in PostgreSQL with replica health, 3 of 10 blocked (us, vs 003)",
               r"3 of 10 blocked\s+" + NUMBER, baseline=r"\n\s+003\s+" + NUMBER)]),
    Benchmark("replication_throughput", ["--sizes", "1,10", "--accounts", "8"], [
        Figure("replication MB/s, 10 MB x 8 accounts (vs plain upload)",
               r"\n\s+10\s+\S+\s+\S+\s+\S+\s+" + NUMBER,
               baseline=r"\n\s+10\s+" + NUMBER),
        Figure("VPS egress, 10 MB file (x file size)", r"\n\s+10(?:\s+\S+){6}\s+" + NUMBER,
               "<= 1.05", lambda v: v <= 1.05)]),
    Benchmark("stats_compute", ["--events", "10000", "--accounts", "200", "--calls", "500"], [
        Figure("stats compute, in process (events/s)", r"\(" + NUMBER + r" events/s\)"),
        Figure("stats-compute process (calls/s)", NUMBER + r" calls/s")]),
    Benchmark("stats_lag", ["--rate", "200", "--seconds", "8"], [
        Figure("stats lag: get-url/s achieved (target 200)", r"handed out at " + NUMBER + "/s",
               ">= 200", lambda v: v >= 190),
        Figure("stats lag p99 at 200 get-url/s (s)", r"p99 " + NUMBER + " s", "<= 2 s",
               lambda v: v <= 2)]),
    Benchmark("scale_replication", ["--accounts", "4,8", "--mb", "2"], [
        Figure("time to uploaded, widest account count, latency model on (s; vs one copy)",
               r"widest: \d+ accounts: to uploaded " + NUMBER,
               "<= 15x one copy (at 200)", baseline=r"widest: .*one copy " + NUMBER),
        Figure("replicator peak open sockets to Drive (vs pool size)",
               r"peak open sockets to the emulator: " + NUMBER, "<= pool size",
               baseline=r"\(pool size " + NUMBER),
        Figure("token exchanges per account per hour", NUMBER + r" per account per hour",
               "<= 1.1", lambda v: v <= 1.1)],
              scale_args=["--accounts", "8,50,200", "--mb", "20"]),
    Benchmark("scale_get_url", ["--accounts", "200", "--files", "50", "--seconds", "3"], [
        Figure("get-url req/s, files on 200 accounts (vs files on 4)",
               r"held by 200\s+" + NUMBER, baseline=r"held by 4\s+" + NUMBER),
        Figure("get-url 200-holder / 4-holder throughput ratio", r"wide/narrow ratio: " + NUMBER,
               ">= 0.8", lambda v: v >= 0.8)],
              scale_args=["--accounts", "200", "--files", "1000", "--seconds", "8"]),
    Benchmark("scale_reconcile", ["--accounts", "20", "--files", "100"], [
        Figure("reconciliation pass (s)", r"reconciliation pass: " + NUMBER + " s",
               "<= 300 s (200 x 1,000)", lambda v: v <= 300),
        Figure("reconciliation peak RSS (MB; vs before the pass)", r"peak RSS " + NUMBER,
               "<= 300 MB", lambda v: v <= 300, baseline=r"before the pass " + NUMBER)],
              scale_args=["--accounts", "200", "--files", "1000"]),
]


def run_module(bench: Benchmark, env: dict[str, str], scale: bool = False) -> str:
    started = time.monotonic()
    args = bench.scale_args if scale and bench.scale_args else bench.args
    done = subprocess.run([sys.executable, "-m", f"bench.{bench.module}", *args],
                          capture_output=True, text=True, env=env,
                          timeout=7200 if scale else 900)
    print(f"  bench.{bench.module}: {time.monotonic() - started:.0f} s, exit {done.returncode}",
          file=sys.stderr)
    return done.stdout + done.stderr


def value(pattern: str, output: str) -> float | None:
    found = re.search(pattern, output)
    return float(found.group(1).replace(",", "")) if found else None


def row(figure: Figure, output: str) -> list[str]:
    measured = value(figure.pattern, output)
    base = value(figure.baseline, output) if figure.baseline else None
    ratio = f"{measured / base:.2f}" if measured is not None and base else "-"
    verdict = "-"
    if figure.meets is not None and measured is not None:
        verdict = "met" if figure.meets(measured) else "NOT met"
    if figure.meets_ratio is not None and measured is not None and base:
        verdict = "met" if figure.meets_ratio(measured / base) else "NOT met"
    shown = "?" if measured is None else f"{measured:,.2f}".rstrip("0").rstrip(".")
    return [figure.name, figure.goal, shown, ratio, verdict]


def print_table(rows: list[list[str]]) -> None:
    header = ["figure", "goal", "measured", "ratio to baseline", "goal met?"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
    print(f"\nmachine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")


def seeded_stack(base: Path):
    """A local stack with one emulator account and one uploaded file (for stats_lag)."""
    from devstack.config import StackConfig
    from devstack.process import wait_until
    from devstack.stack import Stack

    stack = Stack(StackConfig.free(base / "stack"))
    stack.up()
    env, admin = stack.env, {"Authorization": f"Bearer {stack.admin_token}"}
    gateway = stack.gateway_url
    key = requests.post(f"{env['DRIVE_API_ROOT'].rstrip('/')}/_emulator/accounts",
                        json={"email": "bench@bench.iam.gserviceaccount.com", "legacy": True},
                        timeout=30)
    requests.post(f"{gateway}/function/drive-accounts/", headers=admin, timeout=30,
                  json={"name": "bench", "key": key.json()}).raise_for_status()
    upload = requests.post(f"{gateway}/function/upload-file/", headers=admin, timeout=60,
                           params={"name": "lag.bin"}, data=os.urandom(10_000))
    file_id = upload.json()["id"]
    wait_until(lambda: requests.get(f"{gateway}/function/files/{file_id}", timeout=10)
               .json()["status"] == "uploaded", 120, interval=0.2)
    return stack


def run_all(selected: list[Benchmark], scale: bool = False) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for bench in selected:
        env = dict(os.environ)
        if bench.module != "stats_lag":
            outputs[bench.module] = run_module(bench, env, scale)
            continue
        base = Path(tempfile.mkdtemp(prefix="bench-stack-"))
        stack = seeded_stack(base)
        try:
            env.update(stack.env)
            outputs[bench.module] = run_module(bench, env)
        finally:
            stack.down()
            shutil.rmtree(base, ignore_errors=True)
    return outputs


def main(argv: list[str] | None = None) -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=[b.module for b in BENCHMARKS])
    parser.add_argument("--scale", action="store_true",
                        help="only the benchmarks with full sizes (issue 16), at those sizes")
    args = parser.parse_args(argv)
    selected = [b for b in BENCHMARKS if (not args.only or b.module in args.only)
                and (not args.scale or b.scale_args)]
    outputs = run_all(selected, args.scale)
    rows = [row(figure, outputs[b.module]) for b in selected for figure in b.figures]
    print_table(rows)
    for bench in selected:
        if any(value(f.pattern, outputs[bench.module]) is None for f in bench.figures):
            print(f"\n--- bench.{bench.module} output (a figure was not found) ---\n"
                  + outputs[bench.module][-2000:])


if __name__ == "__main__":
    main()
