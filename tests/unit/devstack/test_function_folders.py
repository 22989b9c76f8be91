"""Which function folders the local stack runs: the product's by default, bench's by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.config import BENCH_FUNCTIONS, PRODUCT_FUNCTIONS, StackConfig, function_dir


def test_the_default_stack_runs_only_product_functions(tmp_path: Path) -> None:
    names = StackConfig(dir=tmp_path).function_names()
    assert "echo" not in names
    assert names == sorted(p.parent.name for p in PRODUCT_FUNCTIONS.glob("*/handler.py"))


def test_a_bench_function_runs_when_named(tmp_path: Path) -> None:
    assert StackConfig(dir=tmp_path, functions=["get-url", "echo"]).function_names() == [
        "echo", "get-url"]
    assert function_dir("echo") == BENCH_FUNCTIONS / "echo"
    assert function_dir("get-url") == PRODUCT_FUNCTIONS / "get-url"
    with pytest.raises(ValueError, match="unknown functions"):
        StackConfig(dir=tmp_path, functions=["nope"]).function_names()
