"""How fast devstack.netns_relay copies, next to a direct loopback connection, in the same run.

    python -m bench.netns_relay_throughput [--mib 512] [--rounds 3]

Starts a TCP sink on the host and the same sink behind the relay in a namespace of its own
(root only), then sends ``--mib`` MiB to each, alternating, ``--rounds`` times. Prints MB/s
of both and their ratio per round and the median ratio. Every process started here is
stopped by its pid at the end.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time

from devstack.process import free_port, port_open, stop_pid, wait_until

MIB = 1 << 20
# Counts what it receives on each connection and answers the count; exits on SIGTERM (it
# runs as PID 1 behind the relay, where SIGTERM has no default action).
SINK = """
import signal, socket, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
while True:
    conn, _ = server.accept()
    count = 0
    while block := conn.recv(1 << 20):
        count += len(block)
    conn.sendall(str(count).encode())
    conn.close()
"""


def send(port: int, total: int) -> float:
    """MB/s of one connection sending ``total`` bytes to the sink on ``port``."""
    block = b"\0" * MIB
    with socket.create_connection(("127.0.0.1", port)) as conn:
        started = time.monotonic()
        for _ in range(total // MIB):
            conn.sendall(block)
        conn.shutdown(socket.SHUT_WR)
        assert int(conn.recv(64)) == total
        return total / (time.monotonic() - started) / 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    direct, inside, relayed = free_port(), free_port(), free_port()
    procs = [subprocess.Popen([sys.executable, "-c", SINK, str(direct)]),
             subprocess.Popen([sys.executable, "-m", "devstack.netns_relay", "--inbound",
                               f"{relayed}:{inside}", "--", sys.executable, "-c", SINK,
                               str(inside)], stdout=subprocess.DEVNULL)]
    try:
        wait_until(lambda: port_open(direct) and send(relayed, MIB) > 0, 30)
        ratios = []
        for n in range(args.rounds):
            plain, through = send(direct, args.mib * MIB), send(relayed, args.mib * MIB)
            ratios.append(through / plain)
            print(f"round {n + 1}: direct {plain:.0f} MB/s, through the relay {through:.0f} "
                  f"MB/s ({through / plain:.2f}x)", flush=True)
        print(f"median: the relay copies at {statistics.median(ratios):.2f}x a direct "
              f"loopback connection ({args.mib} MiB per stream)")
    finally:
        for proc in procs:
            stop_pid(proc.pid)
            proc.wait()


if __name__ == "__main__":
    main()
