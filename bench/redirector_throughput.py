"""The download redirector's throughput next to get-url's and echo's, in the same run.

    python -m bench.redirector_throughput [--seconds 10] [--clients 16] [--rounds 2] [--direct]

Starts its own PostgreSQL, NATS, the download, get-url and echo function processes and the
local gateway (all on free ports, in a temporary directory; the same setup and load loop as
bench/get_url_throughput.py), seeds 10 accounts and 50 files, then per concurrency level hits
``/function/download/ID`` (302, booked like get-url, plus the duplicates query),
``/function/get-url/?id=ID`` and ``/function/echo/`` for ``--seconds`` each, ``--rounds``
times in alternating order. Prints mean req/s and worst p50/p99 per target and the median over
rounds of the download/get-url ratio (goal, issue 17: >= 0.9). Every process
started here is stopped by its pid at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from bench.get_url_throughput import (
    FILES,
    measure,
    run_cleaning_up,
    start_function,
    start_gateway,
    start_seeded_servers,
)
from devstack.process import free_port, interrupt_on_sigterm

TARGETS = ("download", "get-url", "echo")


def paths_of(name: str, prefix: str) -> list[str]:
    if name == "download":
        return [f"{prefix}{f}/{f}.bin" for f in FILES]
    if name == "get-url":
        return [f"{prefix}?id={f}" for f in FILES]
    return [prefix]


def run(args: argparse.Namespace, tmp: Path, procs: list, servers: list) -> None:
    postgres, nats = start_seeded_servers(tmp, servers)
    gateway_port = free_port()
    env = {"POSTGRES_URL": postgres.url, "GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
           "LOG_LEVEL": "WARNING", "FILESERVER_ADMIN_TOKEN": "bench"}
    functions = {name: start_function(name, env, tmp, procs) for name in TARGETS}
    targets = {name: (url, "/") for name, url in functions.items()}
    if not args.direct:
        gateway = start_gateway(functions, nats.url, tmp, procs, gateway_port)
        targets = {name: (gateway, f"/function/{name}/") for name in functions}
    print(f"mode: {'direct' if args.direct else 'through the gateway'}; {args.seconds:.0f} s "
          f"per run; cpus: {os.cpu_count()}")
    print(f"{'clients':>7} {'target':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for clients in args.clients:
        results = interleaved(targets, clients, args)
        for name, r in results.items():
            print(f"{clients:>7} {name:>8} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} "
                  f"{r['p99_ms']:>8.1f} {r['errors']:>6}")
        ratio = results["download"]["ratio"]
        print(f"{clients:>7} download/get-url throughput ratio: {ratio:.2f} (median of "
              f"{args.rounds} rounds; goal >= 0.9)")


def interleaved(targets: dict[str, tuple[str, str]], clients: int,
                args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """``--rounds`` runs per target in turn, the order reversed every round (the machine's
    load drifts); per target the mean req/s and the worst p50/p99 of its runs."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    order = list(targets)
    for _round in range(args.rounds):
        for name in order:
            base, prefix = targets[name]
            runs[name].append(measure(base, paths_of(name, prefix), clients, args.seconds))
        order.reverse()
    summary = {name: {"rps": sum(r["rps"] for r in got) / len(got),
                      "p50_ms": max(r["p50_ms"] for r in got),
                      "p99_ms": max(r["p99_ms"] for r in got),
                      "errors": sum(r["errors"] for r in got)} for name, got in runs.items()}
    # Each round's download and get-url runs are adjacent in time: their ratio is the least
    # disturbed by the machine's drifting load; the median over rounds is reported.
    summary["download"]["ratio"] = statistics.median(
        d["rps"] / g["rps"] for d, g in zip(runs["download"], runs["get-url"], strict=True))
    return summary


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[16])
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs per target, in alternating order")
    parser.add_argument("--direct", action="store_true", help="skip the gateway")
    run_cleaning_up(run, parser.parse_args(), "bench-redirector-")


if __name__ == "__main__":
    main()
