"""Who the client is (X-Forwarded-For, trusted hops, IPv6 grouping, exemptions) and the
limit settings."""

from __future__ import annotations

import pytest

from fileserver.downloader.limits import (
    UNPARSED,
    ClientLimits,
    forwarded_address,
    parse_address,
    parse_networks,
)
from fileserver.errors import ConfigError


@pytest.mark.parametrize(("raw", "expected"), [
    ("203.0.113.7", "203.0.113.7"),
    ("203.0.113.7:51234", "203.0.113.7"),  # Go's RemoteAddr, as the OpenFaaS gateway sends it
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("2001:db8::1", "2001:db8::1"),
    ("::ffff:198.51.100.9", "198.51.100.9"),
    (" 198.51.100.9 ", "198.51.100.9"),
])
def test_parse_address_reads_the_forms_proxies_write(raw: str, expected: str) -> None:
    assert str(parse_address(raw)) == expected


@pytest.mark.parametrize("raw", ["", "unknown", "300.1.1.1", "not an ip:80", "[]:80"])
def test_parse_address_refuses_what_is_not_an_address(raw: str) -> None:
    assert parse_address(raw) is None


def test_forwarded_address_counts_trusted_hops_from_the_right() -> None:
    header = "1.1.1.1, 2.2.2.2, 3.3.3.3"
    assert forwarded_address(header, "9.9.9.9", 1) == "3.3.3.3"
    assert forwarded_address(header, "9.9.9.9", 2) == "2.2.2.2"
    assert forwarded_address(header, "9.9.9.9", 5) == "1.1.1.1"  # fewer entries than hops
    assert forwarded_address(header, "9.9.9.9", 0) == "9.9.9.9"  # header ignored
    assert forwarded_address(None, "9.9.9.9", 1) == "9.9.9.9"  # no header: the peer


def test_a_client_cannot_pick_its_key_by_prepending_entries() -> None:
    limits = ClientLimits()
    spoofed = [limits.client(f"10.0.0.{i}, 203.0.113.7", "127.0.0.1") for i in range(5)]
    assert set(spoofed) == {"203.0.113.7"}


def test_ipv6_clients_are_grouped_by_prefix() -> None:
    limits = ClientLimits()
    a = limits.client("2001:db8:1:2::1", None)
    b = limits.client("2001:db8:1:2:ffff::9", None)
    c = limits.client("2001:db8:1:3::1", None)
    assert a == b == "2001:db8:1:2::/64" and c != a
    assert ClientLimits(ipv6_prefix=128).client("2001:db8:1:2::1", None) == "2001:db8:1:2::1/128"


def test_loopback_is_exempt_by_default_and_the_list_is_a_setting() -> None:
    assert ClientLimits().client("127.0.0.1:5555", None) is None
    assert ClientLimits().client("[::1]:5555", None) is None
    assert ClientLimits().client("203.0.113.7", None) == "203.0.113.7"
    only_lab = ClientLimits(exempt=parse_networks("192.0.2.0/24"))
    assert only_lab.client("127.0.0.1", None) == "127.0.0.1"
    assert only_lab.client("192.0.2.200", None) is None


def test_unparsed_entries_share_one_key_and_limits_off_limit_nobody() -> None:
    assert ClientLimits().client("garbage", None) == UNPARSED
    off = ClientLimits(rate_per_minute=0, dedup_seconds=0)
    assert not off.enabled and off.client("203.0.113.7", None) is None


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = ClientLimits.from_env()
    assert (defaults.rate_per_minute, defaults.burst, defaults.dedup_seconds,
            defaults.trusted_hops) == (10.0, 30, 600.0, 1)
    monkeypatch.setenv("CLIENT_RATE_PER_MINUTE", "120")
    monkeypatch.setenv("CLIENT_BURST", "5")
    monkeypatch.setenv("CLIENT_DEDUP_SECONDS", "0")
    monkeypatch.setenv("CLIENT_TRUSTED_HOPS", "2")
    monkeypatch.setenv("CLIENT_LIMITS_EXEMPT", "")
    limits = ClientLimits.from_env()
    assert (limits.rate_per_second, limits.burst, limits.dedup_seconds, limits.trusted_hops,
            limits.exempt) == (2.0, 5, 0.0, 2, ())
    for name, bad in (("CLIENT_BURST", "0"), ("CLIENT_TRUSTED_HOPS", "-1"),
                      ("CLIENT_LIMITS_EXEMPT", "10.0.0.0/33"), ("CLIENT_IPV6_PREFIX", "0")):
        monkeypatch.setenv(name, bad)
        with pytest.raises(ConfigError):
            ClientLimits.from_env()
        monkeypatch.delenv(name)
