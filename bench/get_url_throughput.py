"""get-url throughput and latency, next to a trivial function's (echo) on the same path, and
next to get-url with the per-client limits on.

    python -m bench.get_url_throughput [--seconds 10] [--clients 16 64] [--rate 500] [--direct]
                                       [--servers streaming waitress]

Starts its own PostgreSQL, NATS, two get-url processes (``get-url``: limits off,
``CLIENT_RATE_PER_MINUTE=0 CLIENT_DEDUP_SECONDS=0``; ``limited``: the default limits on),
the echo function and the local gateway, all on free ports in a temporary directory, seeds
10 accounts and 50 files (1 KB..20 MB, replicated everywhere, limits far away) and then, per
concurrency level, hits ``/function/get-url?id=...``, ``/function/limited?id=...`` and
``/function/echo`` for ``--seconds`` each (in 5 interleaved slices, so that load from
elsewhere on the machine falls on all three alike) from worker processes (keep-alive
connections, one per client). Every request carries ``X-Forwarded-For`` of a random address
of 198.18.0.0/15 (131,072 clients, RFC 2544's benchmarking range): with limits on nearly
every call is a new client and a new file for it, the limits' most expensive case (a bucket
row and a de-duplication row written, then the booking). ``--direct`` skips the gateway.
Prints req/s, p50 and p99 per target, the get-url/echo ratio and the limited/get-url ratio,
then p50/p99 of each paced at ``--rate`` req/s. Goals (issue 5): >= 1,000 req/s, p99 <= 50
ms at 500 req/s, ratio >= 0.5; issue 18: limited/get-url >= 0.8.
With ``--servers streaming waitress`` the functions and the gateway run once on each HTTP
server (today's streaming one, then waitress as before issue 19: ``bench.waitress_serve``) and
the req/s ratio streaming/waitress is printed per target (issue 19: not lower).
Every process started here is stopped by its pid at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from devstack.config import function_dir
from devstack.nats import NatsServer
from devstack.postgres import PostgresServer
from devstack.process import free_port, interrupt_on_sigterm, stop_pid, wait_until
from fileserver.downloader.db import Database, migrate
from fileserver.downloader.repository import RegistryRepository

ROOT = Path(__file__).resolve().parent.parent
FILES = [f"f{i:02d}" for i in range(50)]
WORKER_PROCESSES = 4
PACED_CLIENTS = 32
CLIENT_ADDRESSES = 1 << 17  # 198.18.0.0/15
ROUNDS = 5  # closed-loop runs are taken in interleaved slices
LIMITS_OFF = {"CLIENT_RATE_PER_MINUTE": "0", "CLIENT_DEDUP_SECONDS": "0"}


def seed(url: str) -> None:
    db = Database(url, pool_size=2)
    migrate(db)
    registry = RegistryRepository(db)
    rng = random.Random(1)
    for i in range(10):
        registry.put_account(f"acc{i:02d}", f"acc{i:02d}@x.test", 10**18, True, 1)
    for file_id in FILES:
        registry.put_file(file_id, f"{file_id}.bin", rng.randint(1_000, 20_000_000), None, 1)
        for i in range(10):
            registry.put_replica(file_id, f"acc{i:02d}", f"{file_id}-{i}",
                                 f"http://drive.test/uc?id={file_id}-{i}", 1)
    db.close()


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def start_function(name: str, env: dict[str, str], tmp: Path, procs: list,
                   server: str = "streaming") -> str:
    port = free_port()
    # The local stack's own defaults (fileserver.runtime.serve, gateway), or the baseline.
    # function_dir: functions/NAME, or bench/functions/NAME for echo.
    module = "fileserver.runtime.serve" if server == "streaming" else "bench.waitress_serve"
    procs.append(start_process(["-m", module, str(function_dir(name)), "--port",
                                str(port)], env, tmp / f"{name}.log"))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30)
    return url


def start_gateway(functions: dict[str, str], nats_url: str, tmp: Path, procs: list,
                  port: int, server: str = "streaming") -> str:
    registry = tmp / "functions.json"
    registry.write_text(json.dumps(functions))
    args = (["-m", "devstack.gateway", "--functions"] if server == "streaming"
            else ["-m", "bench.waitress_serve", "--gateway"])
    procs.append(start_process([*args, str(registry), "--port", str(port), "--nats-url",
                                nats_url], {}, tmp / "gateway.log"))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30)
    return url


def client_loop(port: int, paths: list[str], deadline: float, out: list[float],
                errors: list[int], interval: float = 0.0, forwarded: bool = False) -> None:
    """Closed loop (``interval`` 0: next request as soon as the last answered), or paced: one
    request every ``interval`` s, latency counted from its scheduled time (so a slow answer
    also counts against the requests that had to wait for it). ``forwarded``: each request
    as from a random client of 198.18.0.0/15 (``X-Forwarded-For``); else from 127.0.0.1,
    which the client limits exempt."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    rng = random.Random()
    scheduled = time.perf_counter() + rng.random() * interval
    while time.monotonic() < deadline:
        if interval:
            time.sleep(max(0.0, scheduled - time.perf_counter()))
        started = scheduled if interval else time.perf_counter()
        scheduled += interval
        conn.request("GET", rng.choice(paths), headers=random_client(rng) if forwarded else {})
        response = conn.getresponse()
        response.read()
        if response.status < 400:  # 200, or the download redirector's 302
            out.append(time.perf_counter() - started)
        else:
            errors.append(response.status)
    conn.close()


def random_client(rng: random.Random) -> dict[str, str]:
    client = rng.randrange(CLIENT_ADDRESSES)
    return {"X-Forwarded-For": f"198.{18 + (client >> 16)}.{(client >> 8) & 255}.{client & 255}"}


def worker(port: int, paths: list[str], clients: int, seconds: float,
           interval: float, forwarded: bool = False) -> tuple[list[float], int]:
    """One load process: ``clients`` threads, each on its own keep-alive connection."""
    return run_clients(port, paths, clients, time.monotonic() + seconds, interval, forwarded)


def run_clients(port: int, paths: list[str], clients: int, deadline: float,
                interval: float = 0.0, forwarded: bool = False) -> tuple[list[float], int]:
    """``clients`` threads running ``client_loop`` until ``deadline`` (``time.monotonic``):
    the latencies of their requests and how many failed."""
    latencies: list[float] = []
    errors: list[int] = []
    threads = [threading.Thread(target=client_loop, args=(port, paths, deadline, latencies,
                                                           errors, interval, forwarded))
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, len(errors)


def measure(base: str, paths: list[str], clients: int, seconds: float,
            rate: float = 0.0, forwarded: bool = False) -> dict[str, Any]:
    """Closed-loop with ``clients`` clients, or paced at ``rate`` req/s in total if given;
    ``forwarded``: as from random clients (``client_loop``)."""
    port = int(base.rsplit(":", 1)[1])
    procs = min(WORKER_PROCESSES, clients)
    interval = clients / rate if rate else 0.0
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(procs) as pool:
        parts = pool.starmap(worker, [(port, paths, clients // procs, seconds, interval,
                                       forwarded)] * procs)
    return summary([x for part, _ in parts for x in part], sum(e for _, e in parts), seconds)


def summary(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    q = statistics.quantiles(sorted(latencies), n=100)
    return {"rps": len(latencies) / seconds, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "ok": len(latencies), "errors": errors, "latencies": latencies}


def measure_rounds(targets: dict[str, tuple[str, list[str]]], clients: int, seconds: float,
                   rounds: int = ROUNDS) -> dict[str, dict[str, Any]]:
    """``seconds`` per target, as ``rounds`` slices taken in turn (A B C A B C ...), so a
    neighbour's load on this shared machine falls on every target alike."""
    slices: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, (base, paths) in targets.items():
            slices[name].append(measure(base, paths, clients, seconds / rounds, forwarded=True))
    return {name: summary([x for r in parts for x in r["latencies"]],
                          sum(r["errors"] for r in parts), seconds)
            for name, parts in slices.items()}


def start_seeded_servers(tmp: Path, servers: list) -> tuple[PostgresServer, NatsServer]:
    """PostgreSQL with the seeded catalogue, and NATS, under ``tmp``; both appended to
    ``servers`` (stopped by ``run_cleaning_up``)."""
    postgres = PostgresServer(tmp / "pg", free_port(), tmp / "pg.log")
    postgres.start(timeout=60)
    servers.append(postgres)
    nats = NatsServer(tmp / "nats", free_port(), free_port(), tmp / "nats.log")
    nats.start()
    servers.append(nats)
    seed(postgres.url)
    return postgres, nats


def run(args: argparse.Namespace, tmp: Path, procs: list, servers: list) -> None:
    postgres, nats = start_seeded_servers(tmp, servers)
    rps: dict[str, dict[tuple[int, str], float]] = {}
    for server in args.servers:
        started: list = []
        try:
            rps[server] = run_server(args, server, postgres.url, nats.url, tmp, started)
        finally:
            for proc in started:
                stop_pid(proc.pid)
                proc.wait()
    if len(rps) > 1:
        first, *others = args.servers
        for other in others:
            for key, value in rps[first].items():
                print(f"{key[0]:>7} {key[1]:>8} req/s {first}/{other}: "
                      f"{value / rps[other][key]:.2f}")


def run_server(args: argparse.Namespace, server: str, postgres_url: str, nats_url: str,
               tmp: Path, procs: list) -> dict[tuple[int, str], float]:
    """Functions and gateway on ``server``; req/s by (clients, target)."""
    gateway_port = free_port()
    env = {"POSTGRES_URL": postgres_url, "GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
           "LOG_LEVEL": "WARNING", "FILESERVER_ADMIN_TOKEN": "bench"}
    functions = {"get-url": start_function("get-url", {**env, **LIMITS_OFF}, tmp, procs, server),
                 "limited": start_function("get-url", env, tmp, procs, server),
                 "echo": start_function("echo", env, tmp, procs, server)}
    targets = {name: (url, "/") for name, url in functions.items()}
    if not args.direct:
        gateway = start_gateway(functions, nats_url, tmp, procs, gateway_port, server)
        targets = {name: (gateway, f"/function/{name}/") for name in functions}
    print(f"server: {server}; mode: {'direct' if args.direct else 'through the gateway'}; "
          f"{args.seconds:.0f} s per run; cpus: {os.cpu_count()}")
    print(f"{'clients':>7} {'target':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    rps = {}
    with_paths = {name: (base, [path] if name == "echo" else [f"{path}?id={f}" for f in FILES])
                  for name, (base, path) in targets.items()}
    for clients in args.clients:
        results = measure_rounds(with_paths, clients, args.seconds)
        for name, r in results.items():
            rps[(clients, name)] = r["rps"]
            print(f"{clients:>7} {name:>8} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} "
                  f"{r['p99_ms']:>8.1f} {r['errors']:>6}")
        ratio = results["get-url"]["rps"] / results["echo"]["rps"]
        print(f"{clients:>7} get-url/echo throughput ratio: {ratio:.2f}")
        ratio = results["limited"]["rps"] / results["get-url"]["rps"]
        print(f"{clients:>7} limits on/off (limited/get-url) throughput ratio: {ratio:.2f}")
    if args.rate:
        paced(args, targets)
    return rps


def paced(args: argparse.Namespace, targets: dict[str, tuple[str, str]]) -> None:
    """Latency at a fixed request rate (goal: get-url p99 <= 50 ms at 500 req/s)."""
    print(f"paced at {args.rate:.0f} req/s ({PACED_CLIENTS} clients):")
    for name, (base, path) in targets.items():
        paths = [path] if name == "echo" else [f"{path}?id={f}" for f in FILES]
        r = measure(base, paths, PACED_CLIENTS, args.seconds, args.rate, forwarded=True)
        print(f"{'':>7} {name:>8} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['errors']:>6}")


def run_cleaning_up(run: Any, args: argparse.Namespace, prefix: str) -> None:
    """``run(args, tmp, procs, servers)`` in a temporary folder; then every process it
    appended to ``procs`` is stopped by its pid and every server in ``servers`` stopped."""
    procs: list[subprocess.Popen[bytes]] = []
    servers: list = []
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        try:
            run(args, Path(tmp), procs, servers)
        finally:
            for proc in procs:
                stop_pid(proc.pid)
                proc.wait()
            for server in reversed(servers):
                server.stop()


def main() -> None:
    interrupt_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--direct", action="store_true", help="skip the gateway")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="paced run's req/s (0: no paced run)")
    parser.add_argument("--servers", nargs="+", default=["streaming"],
                        choices=("streaming", "waitress"),
                        help="HTTP servers to run the functions and gateway on, in turn")
    run_cleaning_up(run, parser.parse_args(), "bench-get-url-")


if __name__ == "__main__":
    main()
