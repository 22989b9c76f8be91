"""Where the gateway and token come from; table alignment."""

from __future__ import annotations

import json

from devstack.config import StackConfig
from fileserver.cli.errors import format_duration
from fileserver.cli.tables import size, table
from fileserver.cli.target import DEFAULT_GATEWAY, DEFAULT_STACK_DIR, resolve


def write_stack(folder, gateway: str, token: str, state: str = "ready") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "admin-token").write_text(token + "\n")
    (folder / "stack.json").write_text(json.dumps({
        "state": state, "gateway_url": gateway,
        "admin_token_file": str(folder / "admin-token")}))


def test_local_stack_gives_gateway_and_token(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_URL", raising=False)
    monkeypatch.delenv("FILESERVER_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("STACK_DIR", str(tmp_path / "s"))
    write_stack(tmp_path / "s", "http://127.0.0.1:9999", "local-secret")
    assert resolve(None, None).gateway == "http://127.0.0.1:9999"
    assert resolve(None, None).token == "local-secret"
    other = resolve("http://vps:8080/", None)
    assert other.gateway == "http://vps:8080" and other.token is None  # never sent elsewhere
    assert resolve(None, "explicit").token == "explicit"
    monkeypatch.setenv("FILESERVER_ADMIN_TOKEN", "from-env")
    monkeypatch.setenv("GATEWAY_URL", "http://env-gw:8080")
    assert resolve(None, None) == resolve("http://env-gw:8080", "from-env")


def test_stopped_or_absent_stack_falls_back_to_default(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_URL", raising=False)
    monkeypatch.delenv("FILESERVER_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("STACK_DIR", str(tmp_path / "s"))
    assert resolve(None, None).gateway == DEFAULT_GATEWAY
    write_stack(tmp_path / "s", "http://127.0.0.1:9999", "t", state="stopped")
    assert resolve(None, None).gateway == DEFAULT_GATEWAY and resolve(None, None).token is None


def test_unreadable_stack_file_falls_back_to_default(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GATEWAY_URL", raising=False)
    monkeypatch.setenv("STACK_DIR", str(tmp_path))
    (tmp_path / "stack.json").write_text("{not json")
    assert resolve(None, None).gateway == DEFAULT_GATEWAY
    (tmp_path / "stack.json").write_text("[1, 2]")
    assert resolve(None, None).gateway == DEFAULT_GATEWAY


def test_the_cli_looks_where_the_local_stack_writes(monkeypatch) -> None:
    """Without STACK_DIR the CLI reads the folder devstack uses, without importing devstack."""
    monkeypatch.delenv("STACK_DIR", raising=False)
    assert StackConfig.from_env().dir == DEFAULT_STACK_DIR


def test_table_aligns_numbers_right_and_text_left() -> None:
    text = table(("NAME", "DOWNLOADS", "SIZE"), [("a.bin", 5, size(1_500_000)),
                                                  ("longer.bin", 12, size(999)),
                                                  ("c", None, None)], right=("SIZE",))
    assert text.splitlines() == [
        "NAME        DOWNLOADS    SIZE",
        "a.bin               5  1.5 MB",
        "longer.bin         12   999 B",
        "c                   -       -",
    ]


def test_durations() -> None:
    assert [format_duration(s) for s in (0, 59, 61, 3600, 86399)] == [
        "0s", "59s", "1m 01s", "1h 00m", "23h 59m"]
