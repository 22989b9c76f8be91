"""The ``make run`` demo runs end to end on the live stack through the ``fileserver`` CLI."""

from __future__ import annotations

import os
import shutil

import pytest

from devstack import demo
from devstack.stack import LocalStack


def test_demo_shows_the_operator_commands(live_stack: LocalStack, monkeypatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STACK_DIR", str(live_stack.dir))
    for name in ("GATEWAY_URL", "FILESERVER_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    home = os.getcwd()
    demo.main(["--accounts", "2", "--urls", "4", "--timeout", "240"])
    out = capsys.readouterr().out
    assert os.getcwd() == home
    for command in ("$ fileserver accounts ls",
                    "$ fileserver upload demo-1MB.bin demo-5MB.bin demo-20MB.bin --wait",
                    "$ fileserver files show ", "--download --out downloaded.bin",
                    "$ fileserver report files", "$ fileserver report accounts",
                    "$ fileserver report summary"):
        assert command in out, command
    assert "every file is uploaded on every account" in out
    assert "sha256 and md5 match" in out and "downloaded.bin is identical to demo-20MB.bin" in out
    if shutil.which("curl"):  # above the 100 MB threshold, through the redirector
        assert "$ curl -sSL -o demo-101MB.bin.curl " in out and "/function/download/" in out
        assert "the bare /uc link saved" in out and "the virus-scan warning page" in out
        assert "matches the upload's" in out
    counted = next(line for line in out.splitlines() if "downloads counted" in line).split()
    assert counted[0] == counted[-1].rstrip(")")  # every URL handed out was counted
    assert "demo done." in out
