"""The runner's defaults come from the local stack's folder; secrets never reach reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from jmeter.run import _shown, parse_args
from jmeter.settings import oversized_file, plan_properties, stack_token, stack_url


def test_stack_json_components_as_list_or_mapping(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text(json.dumps({"components": [
        {"name": "drive-accounts", "url": "http://127.0.0.1:18101"},
        {"name": "drive", "url": "http://127.0.0.1:19999"}]}))
    assert stack_url(tmp_path, ("drive-emulator", "drive")) == "http://127.0.0.1:19999"
    (tmp_path / "stack.json").write_text(json.dumps({"gateway": {"url": "http://h:1"}}))
    assert stack_url(tmp_path, ("gateway",)) == "http://h:1"


def test_config_json_ports_when_stack_json_lacks_urls(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"gateway": 18080, "drive": 19071}))
    assert stack_url(tmp_path, ("gateway",)) == "http://127.0.0.1:18080"
    assert stack_url(tmp_path / "missing", ("gateway",)) == ""


def test_properties_use_the_stack_and_hide_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "admin-token").write_text("tok-123\n")
    (tmp_path / "config.json").write_text(json.dumps({"gateway": 18080, "drive": 19071}))
    monkeypatch.setenv("STACK_DIR", str(tmp_path))
    monkeypatch.delenv("GATEWAY_URL", raising=False)
    args = parse_args(["--threads", "30", "-J", "wait_s=5"])
    props = plan_properties(args, {})
    assert stack_token(tmp_path) == "tok-123" and props["token"] == "tok-123"
    assert (props["gateway_host"], props["gateway_port"]) == ("127.0.0.1", "18080")
    assert props["emulator_port"] == "19071"
    assert (props["writer_threads"], props["wait_s"]) == ("3", "5")
    assert "token" not in _shown(props)


def test_bad_arguments_are_refused() -> None:
    for argv in (["--runs", "0"], ["-J", "novalue"]):
        with pytest.raises(SystemExit):
            parse_args(argv)
    with pytest.raises(SystemExit):
        plan_properties(argparse.Namespace(gateway="ftp://x", emulator=None, token="t",
                                           threads=1, ramp=0, duration=1, accounts=1,
                                           max_ms=1, extra=[]), {})


def test_oversized_file_is_one_byte_over_the_limit(tmp_path: Path) -> None:
    props = oversized_file(tmp_path, 1000)
    assert Path(props["file_too_big"]).stat().st_size == 1001 and props["check_413"] == "true"
