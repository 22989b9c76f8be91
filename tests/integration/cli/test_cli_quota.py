"""Quota exhausted on a real Downloader: exit 6 and when the daily quotas reset.

Slow: it needs a stack of its own, where the only account has a tiny daily limit (the shared
``live_stack`` holds accounts of other tests, which would keep handing out URLs).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devstack.config import StackConfig
from devstack.stack import LocalStack
from fileserver.cli import errors
from fileserver.cli.main import main
from tests.integration.cli.conftest import emulator_key, random_file


@pytest.mark.slow
def test_quota_exhausted_exits_6_with_the_reset_time(stack_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    stack = LocalStack(StackConfig.free(stack_dir, prometheus_enabled=False))
    try:
        stack.up()
        base = ["--gateway", stack.gateway_url, f"--token={stack.admin_token}"]
        key = emulator_key(stack, tmp_path)
        assert main([*base, "accounts", "add", str(key), "--limit-gb", "0.00001"]) == 0
        path = random_file(tmp_path / "six.bin", 6_000)  # one download fits in 10,000 bytes
        assert main([*base, "upload", str(path), "--wait", "--timeout", "120"]) == 0
        file_id = capsys.readouterr().out.split("-> id ")[1].split(",")[0]
        assert main([*base, "url", file_id]) == 0
        capsys.readouterr()
        assert main([*base, "url", file_id]) == errors.EXIT_UNAVAILABLE
        err = capsys.readouterr().err
    finally:
        stack.down()
    assert "reached its daily limit; retry in " in err and "Traceback" not in err
    reset = datetime.strptime(re.search(r"\(at (.+) UTC\)", err).group(1), "%Y-%m-%d %H:%M")
    midnight = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0,
                                         microsecond=0) + timedelta(days=1)
    assert abs(reset - midnight) <= timedelta(minutes=1)
