"""The CLI's error paths on the live stack: clear one-line messages and documented exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devstack.process import free_port
from devstack.stack import LocalStack
from fileserver.cli import errors
from tests.integration.cli.conftest import Cli

SCRIPT = Path(sys.executable).with_name("fileserver")


def test_bad_token_exits_3_with_a_hint(cli: Cli) -> None:
    result = cli("accounts", "ls", token="not-the-token")
    assert result.code == errors.EXIT_AUTH
    assert "refused the admin token" in result.err and "FILESERVER_ADMIN_TOKEN" in result.err
    assert "Traceback" not in result.err and result.out == ""


def test_unknown_ids_exit_4(cli: Cli) -> None:
    for args in (("files", "show", "f" * 32), ("url", "f" * 32), ("accounts", "rm", "a" * 32),
                 ("files", "rename", "f" * 32, "x.bin"), ("files", "rm", "f" * 32)):
        result = cli(*args)
        assert result.code == errors.EXIT_NOT_FOUND, (args, result.err)
        assert result.err.startswith("fileserver: error: not found:")


def test_unreachable_gateway_names_the_url(cli: Cli) -> None:
    gateway = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = cli("files", "ls", gateway=gateway)
    assert result.code == errors.EXIT_UNREACHABLE
    assert f"{gateway}/function/files/" in result.err and "Traceback" not in result.err


def test_missing_local_file_exits_2_before_sending(cli: Cli, tmp_path: Path) -> None:
    result = cli("upload", str(tmp_path / "absent.bin"))
    assert result.code == errors.EXIT_USAGE and "not a file" in result.err


def run_script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed console script, as an operator runs it."""
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_console_script_reads_token_from_env(live_stack: LocalStack, tmp_path: Path) -> None:
    env = {**os.environ, "STACK_DIR": str(tmp_path / "no-stack"),
           "GATEWAY_URL": live_stack.gateway_url}
    env.pop("FILESERVER_ADMIN_TOKEN", None)
    without = run_script("accounts", "ls", env=env)
    assert without.returncode == errors.EXIT_AUTH and "no admin token" in without.stderr
    env["FILESERVER_ADMIN_TOKEN"] = live_stack.admin_token
    listed = run_script("--json", "accounts", "ls", env=env)
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    failed = run_script("--json", "files", "show", "nope", env=env)
    assert failed.returncode == errors.EXIT_NOT_FOUND
    assert json.loads(failed.stderr)["error"]["status"] == 404


def test_console_script_uses_the_local_stack(live_stack: LocalStack) -> None:
    """Next to a running stack (``STACK_DIR``) no --gateway or --token is needed."""
    env = {**os.environ, "STACK_DIR": str(live_stack.dir)}
    for name in ("GATEWAY_URL", "FILESERVER_ADMIN_TOKEN"):
        env.pop(name, None)
    listed = run_script("accounts", "ls", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("ID")
