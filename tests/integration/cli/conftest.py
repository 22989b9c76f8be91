"""Run the ``fileserver`` CLI in-process against the live local stack (free ports, temp dir)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.stack import LocalStack
from fileserver.cli.main import main

MiB = 1024 * 1024


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Result]


@pytest.fixture
def cli(live_stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli("files", "ls", ...)``: the CLI's main with this stack's gateway and token."""

    def run(*args: str, token: str | None = None, gateway: str | None = None) -> Result:
        capsys.readouterr()
        argv = ["--gateway", gateway or live_stack.gateway_url,
                f"--token={token or live_stack.admin_token}", *args]
        code = main(argv)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def emulator_key(live_stack: LocalStack, folder: Path) -> Path:
    """A service-account key minted by the Drive emulator, saved as a file like an operator's."""
    emulator = live_stack.component("drive-emulator")["url"]
    email = f"cli-{secrets.token_hex(4)}@cli-test.iam.gserviceaccount.com"
    resp = requests.post(f"{emulator}/_emulator/accounts",  # legacy: owns files (pre-2025)
                         json={"email": email, "legacy": True}, timeout=30)
    resp.raise_for_status()
    path = folder / f"{email.split('@')[0]}.json"
    path.write_text(json.dumps(resp.json()))
    return path


def random_file(path: Path, size: int) -> Path:
    """``size`` random bytes written 1 MiB at a time (never whole in memory)."""
    with open(path, "wb") as out:
        left = size
        while left:
            block = os.urandom(min(MiB, left))
            out.write(block)
            left -= len(block)
    return path
