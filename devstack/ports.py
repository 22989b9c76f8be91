"""Which ports the local stack will listen on, whether they are free, and who holds them.

``up`` calls ``check_free`` before it starts anything: a port in use fails at once with the
port, what holds it (read with psutil where the system lets us) and the setting that moves
it. ``owned_by`` tells the supervisor whether the process it started is the one listening,
so that another program answering on the same port never counts as the component being up.
"""

from __future__ import annotations

import socket

import psutil

from devstack.config import StackConfig
from devstack.process import StartError


class PortInUse(StartError):
    """One or more of the stack's ports is taken by another process."""


def planned(config: StackConfig, components: list[str]) -> dict[int, tuple[str, str]]:
    """Port → (component, setting that moves it), for the components that will start;
    PortInUse if two of them are set to the same port."""
    ports: dict[int, tuple[str, str]] = {}
    twice: list[str] = []

    def claim(port: int, what: str, setting: str) -> None:
        if port in ports:
            twice.append(f"port {port} is set for both {ports[port][0]} ({ports[port][1]}) "
                         f"and {what} ({setting}); move one")
        ports[port] = (what, setting)

    fixed = [("gateway", "gateway", "gateway"), ("postgres", "postgres", "postgres"),
             ("nats", "nats", "nats"), ("nats-monitor", "nats", "nats_monitor"),
             ("mongo", "mongo", "mongo"), ("drive-emulator", "drive-emulator", "drive"),
             ("drive-emulator usercontent", "drive-emulator", "drive_usercontent"),
             ("prometheus", "prometheus", "prometheus"),
             ("replicator", "replicator", "replicator_metrics")]
    for name, owner, field in fixed:
        if owner in components and hasattr(config, field):
            claim(getattr(config, field), name, f"STACK_{field.upper()}_PORT")
    for name in config.function_names():
        if name in components:
            setting = f"STACK_FUNCTIONS_BASE_PORT (functions take consecutive ports from " \
                      f"{config.functions_base})"
            claim(config.function_port(name), name, setting)
            for extra, label in config.watchdog_ports(name):
                claim(extra, f"{name} ({label})", setting)
    if twice:
        raise PortInUse("the stack cannot start, nothing was started:\n  " + "\n  ".join(twice))
    return ports


def in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether binding ``port`` fails (as the servers themselves would bind it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def listeners(port: int) -> list[int]:
    """Pids listening on ``port`` that this user may see (empty when none can be read)."""
    try:
        conns = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        return []
    return sorted({c.pid for c in conns if c.pid and c.laddr and c.laddr.port == port
                   and c.status == psutil.CONN_LISTEN})


def holder(port: int) -> str:
    """Who listens on ``port``: "pid 123 (nginx: /usr/sbin/nginx -g ...)", or why unknown."""
    pids = listeners(port)
    if not pids:
        return f"a process this user cannot see (try: sudo ss -ltnp 'sport = :{port}')"
    described = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            command = " ".join(proc.cmdline())[:120] or proc.name()
            described.append(f"pid {pid} ({command})")
        except psutil.Error:
            described.append(f"pid {pid}")
    return ", ".join(described)


def check_free(config: StackConfig, components: list[str]) -> None:
    """Raise PortInUse naming every planned port that is taken, its holder and setting."""
    busy = [(port, what, setting) for port, (what, setting) in
            sorted(planned(config, components).items()) if in_use(port)]
    if busy:
        lines = [f"port {port} ({what}) is already in use by {holder(port)}; "
                 f"move it with {setting}" for port, what, setting in busy]
        raise PortInUse("the stack cannot start, nothing was started:\n  " + "\n  ".join(lines))


def owned_by(port: int, pid: int) -> bool:
    """Whether ``port`` is listened on by ``pid`` or one of its descendants; True when the
    listeners cannot be read (nothing to compare; check_free ran before the start)."""
    pids = listeners(port)
    if not pids:
        return True
    try:
        family = {pid} | {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.Error:
        return False
    return bool(family & set(pids))
