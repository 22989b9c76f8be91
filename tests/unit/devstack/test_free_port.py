"""free_port: loopback ports for servers about to start, clear of outgoing connections."""

from __future__ import annotations

import socket

from devstack import process
from devstack.process import free_port


def test_ports_are_distinct_bindable_and_below_the_outgoing_range() -> None:
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    low = process._ephemeral_low()
    assert all(20000 <= port < low for port in ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))


def test_a_port_in_use_is_never_handed_out(monkeypatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(process, "_PORTS_FROM", taken)
        monkeypatch.setattr(process, "_ephemeral_low", lambda: taken + 1000)
        monkeypatch.setattr(process, "_handed_out", set())
        assert all(free_port() != taken for _ in range(200))


def test_without_room_below_the_outgoing_range_the_kernel_picks(monkeypatch) -> None:
    monkeypatch.setattr(process, "_ephemeral_low", lambda: 20500)
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
