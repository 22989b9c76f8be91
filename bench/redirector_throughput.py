"""The download redirector's throughput next to get-url's and echo's, in the same run.

    python -m bench.redirector_throughput [--seconds 0.5] [--clients 16] [--rounds 21] [--direct]

Starts its own PostgreSQL, NATS, the download, get-url and echo function processes and the
local gateway (all on free ports, in a temporary directory; the same setup and client loop as
bench/get_url_throughput.py), seeds 10 accounts and 50 files, warms every target up (one
uncounted slice each: connection pools, the first booking of the day) and then, per
concurrency level, takes ``--rounds`` rounds of one ``--seconds`` slice per target on
``/function/download/ID/NAME`` (302, booked like get-url, plus the duplicates),
``/function/get-url/?id=ID`` and ``/function/echo/``, in alternating order (download get-url
echo, then echo get-url download, ...): each round's download and get-url slices are adjacent
in time against the same stack state. The load comes from one pool of worker processes
started once, every worker starting each slice at the same instant; the replica prober is off
(it runs in one of the two processes only). Prints per target the req/s over all rounds, the
worst round's p50/p99, the function process's and the gateway's CPU ms per request (median of
its slices), each round's download/get-url ratio with their median and range (goal, issue
17: median >= 0.9), and the median download/get-url ratio of the function's CPU per request
(a figure that the machine's other load moves less). Every process started here is stopped by
its pid at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

from bench.get_url_throughput import (
    FILES,
    WORKER_PROCESSES,
    run_cleaning_up,
    run_clients,
    start_function,
    start_gateway,
    start_seeded_servers,
    summary,
)
from devstack.process import free_port, interrupt_on_sigterm

TARGETS = ("download", "get-url", "echo")
WARM_UP_SECONDS = 1.0
START_DELAY = 0.3  # s between handing a slice to the workers and its common start
# The replica prober runs in whichever get-url or download process holds its lease: a fixed
# background load (probing the seed's unresolvable links) on one side only. Off here.
FUNCTION_ENV = {"HEALTH_PROBES_PER_SECOND": "0"}


def paths_of(name: str, prefix: str) -> list[str]:
    if name == "download":
        return [f"{prefix}{f}/{f}.bin" for f in FILES]
    if name == "get-url":
        return [f"{prefix}?id={f}" for f in FILES]
    return [prefix]


def timed_worker(port: int, paths: list[str], clients: int, start: float,
                 seconds: float) -> tuple[list[float], int]:
    """One load process: ``clients`` keep-alive clients from ``start`` (``time.monotonic``,
    the same clock in every process) for ``seconds``."""
    time.sleep(max(0.0, start - time.monotonic()))
    return run_clients(port, paths, clients, start + seconds)


class LoadPool:
    """Load-generating processes, started once for the whole run (a pool per slice would
    spend the slice's first second importing in fresh processes on the same cores)."""

    def __init__(self, processes: int = WORKER_PROCESSES) -> None:
        self.processes = processes
        self.pool = multiprocessing.get_context("spawn").Pool(processes)
        self.pool.map(time.sleep, [0.5] * processes * 2)  # every process has imported

    def load(self, base: str, paths: list[str], clients: int,
             seconds: float) -> list[tuple[list[float], int]]:
        """Each process's latencies and error count: ``clients`` closed-loop clients for
        ``seconds``, all starting at one instant."""
        port = int(base.rsplit(":", 1)[1])
        procs = min(self.processes, clients)
        start = time.monotonic() + START_DELAY
        return self.pool.starmap(timed_worker, [(port, paths, clients // procs, start,
                                                 seconds)] * procs)

    def measure(self, base: str, paths: list[str], clients: int, seconds: float,
                process: psutil.Process, gateway: psutil.Process | None) -> dict[str, Any]:
        """req/s, p50/p99 and errors of ``load``; ``cpu_ms`` and ``gateway_ms``: the CPU time
        ``process`` (the function's) and ``gateway`` spent per answered request."""
        watched = [process] + ([gateway] if gateway else [])
        before = [sum(p.cpu_times()[:2]) for p in watched]
        parts = self.load(base, paths, clients, seconds)
        spent = [sum(p.cpu_times()[:2]) - b for p, b in zip(watched, before, strict=True)]
        result = summary([x for part, _ in parts for x in part], sum(e for _, e in parts),
                         seconds)
        ok = max(1, result["ok"])
        return {**result, "cpu_ms": 1000 * spent[0] / ok,
                "gateway_ms": 1000 * spent[1] / ok if gateway else 0.0}

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def run(args: argparse.Namespace, tmp: Path, procs: list, servers: list) -> None:
    postgres, nats = start_seeded_servers(tmp, servers)
    gateway_port = free_port()
    env = {"POSTGRES_URL": postgres.url, "GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
           "LOG_LEVEL": "WARNING", "FILESERVER_ADMIN_TOKEN": "bench"}
    functions, processes = {}, {}
    for name in TARGETS:
        functions[name] = start_function(name, {**env, **FUNCTION_ENV}, tmp, procs)
        processes[name] = psutil.Process(procs[-1].pid)
    targets = {name: (url, "/") for name, url in functions.items()}
    gateway_process = None
    if not args.direct:
        gateway = start_gateway(functions, nats.url, tmp, procs, gateway_port)
        gateway_process = psutil.Process(procs[-1].pid)
        targets = {name: (gateway, f"/function/{name}/") for name in functions}
    with_paths = {name: (base, paths_of(name, prefix), processes[name], gateway_process)
                  for name, (base, prefix) in targets.items()}
    print(f"mode: {'direct' if args.direct else 'through the gateway'}; {args.rounds} "
          f"interleaved rounds of {args.seconds:g} s per target; cpus: {os.cpu_count()}")
    load = LoadPool()
    try:
        for clients in args.clients:
            report(clients, interleaved(load, with_paths, clients, args), args.rounds)
    finally:
        load.close()


# base URL, paths, the function's process, the gateway's (None: direct)
Target = tuple[str, list[str], psutil.Process, psutil.Process | None]


def interleaved(load: LoadPool, targets: dict[str, Target], clients: int,
                args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    """One uncounted warm-up slice per target, then ``--rounds`` rounds of one slice per
    target, the order reversed every round; every slice's result by target."""
    for base, paths, *_processes in targets.values():
        load.load(base, paths, clients, WARM_UP_SECONDS)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    order = list(targets)
    for _round in range(args.rounds):
        for name in order:
            base, paths, process, gateway = targets[name]
            runs[name].append(load.measure(base, paths, clients, args.seconds, process,
                                           gateway))
        order.reverse()
    return runs


def report(clients: int, runs: dict[str, list[dict[str, Any]]], rounds: int) -> None:
    """Per target: req/s over all its slices, the worst slice's p50/p99, the errors, the
    function's CPU ms per request (median over slices); then the per-round
    download/get-url ratios with their median and range."""
    print(f"{'clients':>7} {'target':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
          f" {'cpu ms/req':>10} {'gateway':>8}")
    for name, got in runs.items():
        rps = statistics.fmean(r["rps"] for r in got)
        cpu = statistics.median(r["cpu_ms"] for r in got)
        gateway = statistics.median(r["gateway_ms"] for r in got)
        print(f"{clients:>7} {name:>8} {rps:>8.0f} {max(r['p50_ms'] for r in got):>8.1f} "
              f"{max(r['p99_ms'] for r in got):>8.1f} {sum(r['errors'] for r in got):>6} "
              f"{cpu:>10.2f} {gateway:>8.2f}")
    # A round's download and get-url slices are adjacent in time (get-url is always in the
    # middle): their ratio is the least disturbed by the machine's drifting load.
    ratios = [d["rps"] / g["rps"] for d, g in zip(runs["download"], runs["get-url"],
                                                    strict=True)]
    print(f"{clients:>7} per-round download/get-url: {' '.join(f'{r:.2f}' for r in ratios)}")
    print(f"{clients:>7} download/get-url throughput ratio: {statistics.median(ratios):.2f} "
          f"(median of {rounds} rounds, range {min(ratios):.2f}-{max(ratios):.2f}; "
          f"goal >= 0.9)")
    cpu = [d["cpu_ms"] / g["cpu_ms"] for d, g in zip(runs["download"], runs["get-url"],
                                                     strict=True)]
    print(f"{clients:>7} download/get-url function CPU per request: "
          f"{statistics.median(cpu):.2f} (median; range {min(cpu):.2f}-{max(cpu):.2f})")


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one slice")
    parser.add_argument("--clients", type=int, nargs="+", default=[16])
    parser.add_argument("--rounds", type=int, default=21,
                        help="slices per target, in alternating order")
    parser.add_argument("--direct", action="store_true", help="skip the gateway")
    run_cleaning_up(run, parser.parse_args(), "bench-redirector-")


if __name__ == "__main__":
    main()
