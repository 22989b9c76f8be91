"""Run a command in namespaces of its own, as a container would, bridged to the host's loopback.

``python -m devstack.netns_relay --inbound 18100:18100 --inbound 18132:8081 --outbound 27117
--netns-file F -- fwatchdog`` (Linux, root or CAP_SYS_ADMIN):

1. binds the inbound ports on the host's 127.0.0.1 (``HOST:INSIDE``),
2. enters a new network namespace (only ``lo``, brought up) and a new PID namespace,
3. listens inside on 127.0.0.1 on every ``--outbound`` port (the services the command's
   environment names: databases, NATS, the Drive emulator, the gateway),
4. starts the command as PID 1 of the new PID namespace, with a private ``/proc`` of its own
   (a mount namespace) and SIGKILL as its parent-death signal,
5. relays every connection: inbound host -> the command's port inside, outbound inside -> the
   same port on the host.

Each local function's of-watchdog thus has its own ``:8081`` (of-watchdog 0.11.6 cannot move
its metrics port), as in its container. SIGTERM is forwarded to the command (as PID 1 it gets
it only if it handles it, like a container's entrypoint: fwatchdog does), connections keep
being relayed while it drains, and the relay exits with the command's exit code when it ends;
the kernel then kills whatever is left in its PID namespace, and the network namespace goes
with its last process (nothing to remove: it is never named in ``ip netns``). If the relay is
SIGKILLed, the parent-death signal takes the command, hence the whole namespace, with it.
``--netns-file`` receives the namespace's inode (``net:[N]``), so a test can check that no
process is left in it. Without CAP_SYS_ADMIN it exits at once with code 78 saying why.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import errno
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
PR_SET_PDEATHSIG = 1
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
EX_CONFIG = 78  # sysexits.h: the relay cannot enter namespaces here
CHUNK = 256 * 1024
LOOPBACK = "127.0.0.1"
_libc = ctypes.CDLL(None, use_errno=True)


class NamespaceError(OSError):
    """A namespace call the kernel refused (not root, no CAP_SYS_ADMIN, or disabled)."""


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        hint = (" (needs CAP_SYS_ADMIN: root, outside a restricted container)"
                if code in (errno.EPERM, errno.EACCES) else "")
        raise NamespaceError(code, f"{what}: {os.strerror(code)}{hint}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


def namespace_id(pid: str = "thread-self") -> str:
    """``net:[N]``: the network namespace of ``pid`` (this thread by default)."""
    return os.readlink(f"/proc/{pid}/ns/net")


def loopback_up() -> None:
    """``ip link set lo up`` in the current network namespace (SIOCSIFFLAGS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def unavailable_reason() -> str | None:
    """Why a relay cannot run here (no network or PID namespace for this user), or None.
    Probed in a throwaway process, so the caller's own namespaces never change."""
    try:
        probe = subprocess.run([sys.executable, "-m", "devstack.netns_relay", "--probe"],
                               capture_output=True, text=True, timeout=30,
                               cwd=Path(__file__).resolve().parent.parent)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the namespace probe could not run: {exc}"
    if probe.returncode == 0:
        return None
    return (probe.stderr.strip().splitlines() or [f"exit code {probe.returncode}"])[-1]


def listener(port: int) -> socket.socket:
    """A non-blocking TCP listener on 127.0.0.1:``port`` in the current network namespace."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def socket_in(namespace: int, home: int) -> socket.socket:
    """A TCP socket created in network namespace ``namespace`` (this thread returns to
    ``home`` at once: a socket stays in the namespace it was created in)."""
    setns(namespace)
    try:
        sock = socket.socket()
    finally:
        setns(home)
    sock.setblocking(False)
    return sock


def child_setup() -> None:
    """In the command's process, before exec: die with the relay; a /proc of its own PID
    namespace (as a container has), in a mount namespace that changes nothing outside."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    unshare(CLONE_NEWNS)
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
           "mount proc")


async def pump(source: socket.socket, target: socket.socket) -> None:
    """Copy ``source`` to ``target`` until EOF, then half-close ``target``."""
    loop = asyncio.get_running_loop()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with contextlib.suppress(OSError):
        while count := await loop.sock_recv_into(source, buffer):
            await loop.sock_sendall(target, view[:count])
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


async def bridge(client: socket.socket, upstream: socket.socket, port: int) -> None:
    """Connect ``upstream`` to 127.0.0.1:``port`` and relay both ways; close both after."""
    loop = asyncio.get_running_loop()
    try:
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(upstream, (LOOPBACK, port))
        await asyncio.gather(pump(client, upstream), pump(upstream, client))
    except OSError:
        pass  # nothing listens there (yet): the client sees its connection closed
    finally:
        client.close()
        upstream.close()


async def serve(sock: socket.socket, port: int, target_ns: int, home: int) -> None:
    """Accept on ``sock`` forever; relay each connection to ``port`` in ``target_ns``."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task] = set()
    while True:
        client, _ = await loop.sock_accept(sock)
        client.setblocking(False)
        task = asyncio.create_task(bridge(client, socket_in(target_ns, home), port))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def relay(inbound: list[tuple[socket.socket, int]], outbound: list[socket.socket],
                host_ns: int, inside_ns: int, child: subprocess.Popen) -> int:
    """Relay until ``child`` exits; SIGTERM/SIGINT are forwarded to it. Its exit code."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, child.send_signal, signal.SIGTERM)
    servers = [serve(sock, port, inside_ns, inside_ns) for sock, port in inbound]
    servers += [serve(sock, sock.getsockname()[1], host_ns, inside_ns) for sock in outbound]
    tasks = [asyncio.create_task(server) for server in servers]
    exited = asyncio.Event()
    pidfd = os.pidfd_open(child.pid)
    loop.add_reader(pidfd, exited.set)
    await exited.wait()
    for task in tasks:
        task.cancel()
    os.close(pidfd)
    code = child.wait()
    return code if code >= 0 else 128 - code


def port_pair(text: str) -> tuple[int, int]:
    host, _, inside = text.partition(":")
    return int(host), int(inside or host)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="devstack.netns_relay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inbound", type=port_pair, action="append", default=[],
                        metavar="HOST:INSIDE", help="host 127.0.0.1:HOST -> inside :INSIDE")
    parser.add_argument("--outbound", type=int, action="append", default=[], metavar="PORT",
                        help="inside 127.0.0.1:PORT -> the host's 127.0.0.1:PORT")
    parser.add_argument("--netns-file", type=Path, help="write the namespace's id here")
    parser.add_argument("--probe", action="store_true",
                        help="only check that the namespaces can be entered")
    parser.add_argument("command", nargs="*", help="after --: the command to run inside")
    args = parser.parse_args(argv)
    if not args.probe and not args.command:
        parser.error("no command given (after --)")
    return args


def enter() -> tuple[int, int]:
    """Enter a new network and PID namespace with ``lo`` up: (host ns fd, inside ns fd)."""
    host_ns = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    unshare(CLONE_NEWNET | CLONE_NEWPID)
    loopback_up()
    return host_ns, os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        inbound = [(listener(host), inside) for host, inside in args.inbound]
        host_ns, inside_ns = enter()
    except NamespaceError as exc:
        sys.exit(print(f"netns_relay: cannot enter a network namespace here: {exc.strerror}",
                       file=sys.stderr) or EX_CONFIG)
    if args.probe:
        return
    outbound = [listener(port) for port in args.outbound]
    if args.netns_file:
        args.netns_file.write_text(namespace_id() + "\n")
    print(f"netns_relay: {namespace_id()} inbound {args.inbound} outbound {args.outbound}",
          flush=True)
    child = subprocess.Popen(args.command, preexec_fn=child_setup)  # noqa: PLW1509 - single thread
    sys.exit(asyncio.run(relay(inbound, outbound, host_ns, inside_ns, child)))


if __name__ == "__main__":
    main()
