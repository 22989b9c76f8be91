"""Per-client limits on get-url and the redirector: the settings and who the client is.

The client is the address in ``X-Forwarded-For`` that the trusted proxies wrote: with
``CLIENT_TRUSTED_HOPS`` = N, the N-th entry from the right (the OpenFaaS gateway writes the
header only when it is absent, a reverse proxy such as Caddy or nginx writes or appends it:
see docs/downloader.md, "Per-client limits"); 0 ignores the header and takes the connection's
peer. IPv6 clients are grouped by their ``CLIENT_IPV6_PREFIX`` network (a home gets a /64).
Addresses in ``CLIENT_LIMITS_EXEMPT`` (default loopback: the machine itself) are not limited.
The state (token buckets, de-duplication) lives in PostgreSQL (migration 006), shared by
every function process; this module only decides the key and the parameters.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from fileserver.config import float_setting, int_setting
from fileserver.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_EXEMPT = "127.0.0.0/8,::1/128"
UNPARSED = "unparsed"  # one shared key for every entry that is not an address


def parse_networks(raw: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, ::1"`` → networks; ConfigError on a bad entry."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"CLIENT_LIMITS_EXEMPT: {exc}") from exc


@dataclass(frozen=True)
class ClientLimits:
    """The limit settings; rate 0 turns the token bucket off, window 0 the de-duplication."""

    rate_per_minute: float = 10.0
    burst: int = 30
    dedup_seconds: float = 600.0
    trusted_hops: int = 1
    ipv6_prefix: int = 64
    exempt: tuple[Network, ...] = field(default_factory=lambda: parse_networks(DEFAULT_EXEMPT))

    def __post_init__(self) -> None:
        if self.rate_per_minute < 0 or self.dedup_seconds < 0 or self.trusted_hops < 0:
            raise ConfigError("client limits: rate, window and hops must not be negative")
        if self.rate_per_minute > 0 and self.burst < 1:
            raise ConfigError("CLIENT_BURST must be at least 1 when a rate is set")
        if not 1 <= self.ipv6_prefix <= 128:
            raise ConfigError("CLIENT_IPV6_PREFIX must be between 1 and 128")

    @classmethod
    def from_env(cls) -> ClientLimits:
        return cls(rate_per_minute=float_setting("CLIENT_RATE_PER_MINUTE", 10.0),
                   burst=int_setting("CLIENT_BURST", 30),
                   dedup_seconds=float_setting("CLIENT_DEDUP_SECONDS", 600.0),
                   trusted_hops=int_setting("CLIENT_TRUSTED_HOPS", 1),
                   ipv6_prefix=int_setting("CLIENT_IPV6_PREFIX", 64),
                   exempt=parse_networks(os.environ.get("CLIENT_LIMITS_EXEMPT",
                                                        DEFAULT_EXEMPT)))

    @property
    def enabled(self) -> bool:
        return self.rate_per_minute > 0 or self.dedup_seconds > 0

    @property
    def rate_per_second(self) -> float:
        return self.rate_per_minute / 60.0

    def client_of_request(self) -> str | None:
        """``client()`` of the Flask request being served (every X-Forwarded-For line)."""
        from flask import request

        return self.client(", ".join(request.headers.getlist("X-Forwarded-For")),
                           request.remote_addr)

    def client(self, forwarded_for: str | None, peer: str | None) -> str | None:
        """The key the limits count under, or None when this request is not limited (limits
        off, or an exempt address)."""
        if not self.enabled:
            return None
        raw = forwarded_address(forwarded_for, peer, self.trusted_hops)
        address = parse_address(raw)
        if address is None:
            return UNPARSED
        if any(address.version == net.version and address in net for net in self.exempt):
            return None
        if address.version == 6:
            return str(ipaddress.ip_network(f"{address}/{self.ipv6_prefix}", strict=False))
        return str(address)


def forwarded_address(forwarded_for: str | None, peer: str | None, hops: int) -> str:
    """The entry ``hops`` from the right of ``X-Forwarded-For`` (the leftmost if the header
    has fewer), or ``peer`` when ``hops`` is 0 or the header is absent."""
    entries = [e.strip() for e in (forwarded_for or "").split(",") if e.strip()]
    if hops == 0 or not entries:
        return peer or ""
    return entries[max(0, len(entries) - hops)]


def parse_address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from ``1.2.3.4``, ``1.2.3.4:5678`` (Go's RemoteAddr, which the OpenFaaS
    gateway forwards), ``::1``, ``[::1]:5678``; IPv4-mapped IPv6 as IPv4; None if neither."""
    text = raw.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
