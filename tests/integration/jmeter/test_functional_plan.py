"""The shipped plans against the real local stack (the ``live_stack`` fixture): the functional
plan once with zero failures, and a short load run (4 threads, 10 s) with zero errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jmeter.locate import Jmeter

REPO = Path(__file__).resolve().parents[3]


def _stack_dir(stack: object) -> Path:
    """The stack's data folder, wherever the fixture keeps it."""
    for holder in (stack, getattr(stack, "config", None)):
        for attr in ("dir", "stack_dir", "data_dir"):
            value = getattr(holder, attr, None)
            if value:
                return Path(value)
    pytest.fail(f"cannot find the data folder of {stack!r}")


@pytest.fixture(scope="module")
def stack_dir(request: pytest.FixtureRequest, jmeter_install: Jmeter) -> Path:
    try:
        stack = request.getfixturevalue("live_stack")
    except pytest.FixtureLookupError:
        pytest.skip("no live_stack fixture yet (tests/conftest.py)")
    return _stack_dir(stack)


def _run(stack_dir: Path, out: Path, *args: str) -> tuple[int, dict]:
    env = {**os.environ, "STACK_DIR": str(stack_dir)}
    env.pop("GATEWAY_URL", None)
    cmd = [sys.executable, "-m", "jmeter.run", "--out", str(out), *args]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    summary = json.loads((out / "summary.json").read_text())
    return proc.returncode, summary


def test_functional_plan_passes(stack_dir: Path, tmp_path: Path) -> None:
    code, summary = _run(stack_dir, tmp_path / "functional", "--plan", "functional",
                         "-J", "wait_s=60")
    run = summary["runs"][0]["summary"]
    assert code == 0, run["failures"]
    assert set(run["requirements"]) == {f"R{n:02d}" for n in range(1, 19)}
    assert summary["overall"]["errors"] == 0


def test_short_load_run_has_no_errors(stack_dir: Path, tmp_path: Path) -> None:
    code, summary = _run(stack_dir, tmp_path / "load", "--plan", "load", "--threads", "4",
                         "--ramp", "2", "--duration", "10", "--accounts", "2",
                         "--max-ms", "10000", "-J", "wait_s=60")
    run = summary["runs"][0]
    assert code == 0, run["summary"]["failures"]
    assert run["summary"]["samplers"]["get-url"]["samples"] > 0
    assert all((tmp_path / "load" / chart).exists() for chart in run["charts"])
