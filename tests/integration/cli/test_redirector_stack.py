"""The download redirector on the live stack, through the gateway, with real clients.

Slow: a 150 MB file (above Google's 100 MB virus-scan threshold, the emulator's default)
uploaded and replicated, then saved byte-identical by ``curl -L`` and ``wget`` through the
redirector where its bare ``/uc`` link saves the HTML warning page; ``wget -c`` resumes a
download cut at half; ``aria2c`` given the Metalink downloads it while the first-priority
holder refuses (an emulator fault on that account) and checks the hash. Default run: the
CLI's ``url --metalink`` and ``url --download`` resuming an interrupted run's ``.part``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import requests

from devstack.stack import LocalStack
from fileserver.cli.main import main
from tests.conftest import need
from tests.integration.cli.conftest import Cli, emulator_key, random_file
from tests.integration.cli.test_cli_live import sha256_of, upload_and_wait

NS = {"m": "urn:ietf:params:xml:ns:metalink"}
LARGE = 150 * 1000 * 1000


@pytest.fixture(scope="module")
def three_accounts(live_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("redirector-keys")
    for n in range(3):
        argv = ["--gateway", live_stack.gateway_url, f"--token={live_stack.admin_token}",
                "--json", "accounts", "add", str(emulator_key(live_stack, folder)), "--name",
                f"redirector {n}", "--limit-gb", "50"]
        assert main(argv) == 0


def redirector(live_stack: LocalStack, file: dict[str, Any]) -> str:
    return f"{live_stack.gateway_url}/function/download/{file['id']}/{file['name']}"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, cwd=cwd, capture_output=True, timeout=600)


@pytest.mark.slow
def test_150mb_with_curl_wget_and_aria2c_through_the_redirector(
        live_stack: LocalStack, cli: Cli, three_accounts: None, tmp_path: Path) -> None:
    curl, wget, aria2c = need("curl"), need("wget"), need("aria2c")
    source = random_file(tmp_path / "large.bin", LARGE)
    file = upload_and_wait(cli, source)
    work = tmp_path / "out"
    work.mkdir()
    emulator = live_stack.component("drive-emulator")["url"]
    drive_id = file["replicas"]["accounts"][0]["drive_file_id"]
    bare = run(curl, "-sSL", f"{emulator}/uc?id={drive_id}&export=download", cwd=work)
    assert b"Google Drive can't scan this file for viruses" in bare.stdout
    assert len(bare.stdout) < 10_000
    link = redirector(live_stack, file)
    assert run(curl, "-sSL", "-o", "curl.bin", link, cwd=work).returncode == 0
    assert sha256_of(work / "curl.bin") == file["sha256"]
    assert run(wget, "-q", link, cwd=work).returncode == 0  # saved as large.bin
    assert sha256_of(work / "large.bin") == file["sha256"]
    with open(work / "large.bin", "r+b") as cut:
        cut.truncate(LARGE // 2)
    assert run(wget, "-q", "-c", link, cwd=work).returncode == 0
    assert sha256_of(work / "large.bin") == file["sha256"]
    check_aria2c(aria2c, live_stack, cli, file, link, tmp_path / "aria2")


def check_aria2c(aria2c: str, live_stack: LocalStack, cli: Cli, file: dict[str, Any],
                 link: str, work: Path) -> None:
    work.mkdir()
    metalink = requests.get(link, params={"metalink": ""}, timeout=30)
    first = ET.fromstring(metalink.content).find("m:file/m:url[@priority='1']", NS).text
    holder = next(r for r in file["replicas"]["accounts"] if r["drive_file_id"] in first)
    email = next(a["email"] for a in cli("accounts", "ls", "--json").json()
                 if a["id"] == holder["account_id"])
    faults = f"{live_stack.component('drive-emulator')['url']}/_emulator/accounts/{email}/faults"
    rule = {"method": "uc.download", "error": "rateLimitExceeded", "times": 1000}
    requests.put(faults, json={"rules": [rule]}, timeout=10).raise_for_status()
    try:
        (work / "large.meta4").write_bytes(metalink.content)
        # --split=1: aria2 1.36 with a segmented download gives up when the first source
        # refuses (403) before any byte arrives; one connection fails over (docs/downloader.md).
        done = run(aria2c, "--metalink-file", "large.meta4", "--split=1", "--max-tries=1",
                   "--retry-wait=0", "--file-allocation=none", "-q", cwd=work)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sha256_of(work / file["name"]) == file["sha256"]
        assert requests.get(faults, timeout=10).json()["rules"][0]["times"] < 1000
    finally:
        requests.put(faults, json={"rules": []}, timeout=10)


def test_cli_metalink_and_a_resumed_download(live_stack: LocalStack, cli: Cli,
                                             three_accounts: None, tmp_path: Path) -> None:
    source = random_file(tmp_path / "resumable.bin", 3_000_000)
    file = upload_and_wait(cli, source)
    saved = cli("url", file["id"], "--metalink", "--out", str(tmp_path / "r.meta4"))
    assert saved.code == 0 and "saved" in saved.out and "aria2c --metalink-file" in saved.out
    entry = ET.parse(tmp_path / "r.meta4").getroot().find("m:file", NS)
    assert entry.find("m:hash[@type='sha-256']", NS).text == file["sha256"]
    assert len(entry.findall("m:url", NS)) == file["replicas"]["ready"]
    out = tmp_path / "fetched.bin"
    out.with_name("fetched.bin.part").write_bytes(source.read_bytes()[:1_234_567])
    got = cli("url", file["id"], "--download", "--out", str(out), "--json")
    assert got.code == 0, got.err
    assert got.json()["sha256"] == file["sha256"] and sha256_of(out) == file["sha256"]
    assert "/function/download/" not in got.json()["source"]  # a direct Drive link
