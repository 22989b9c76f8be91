"""Every CLI command against the live local stack: accounts, upload --wait, files, url, reports."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import LocalStack
from fileserver.cli import errors
from fileserver.cli.main import main
from tests.integration.cli.conftest import Cli, MiB, emulator_key, random_file


@pytest.fixture(scope="module")
def two_accounts(live_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two accounts registered through ``fileserver accounts add`` (their key files)."""
    folder = tmp_path_factory.mktemp("keys")
    keys = [emulator_key(live_stack, folder) for _ in range(2)]
    for n, key in enumerate(keys):
        argv = ["--gateway", live_stack.gateway_url, f"--token={live_stack.admin_token}",
                "--json", "accounts", "add", str(key), "--name", f"cli {n}", "--limit-gb", "50"]
        assert main(argv) == 0
    return keys


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def test_accounts_add_ls_rm(cli: Cli, live_stack: LocalStack, tmp_path: Path) -> None:
    key = emulator_key(live_stack, tmp_path)
    added = cli("accounts", "add", str(key), "--limit-gb", "2.5")
    assert added.code == 0, added.err
    assert "added account cli-" in added.out and "2.5 GB/day" in added.out
    assert "private_key" not in added.out + added.err
    listed = cli("accounts", "ls", "--json").json()
    mine = [a for a in listed if a["email"] in added.out]
    assert len(mine) == 1 and mine[0]["daily_limit_bytes"] == 2_500_000_000
    assert mine[0]["name"] == mine[0]["email"]  # default name: the key's client_email
    twice = cli("accounts", "add", str(key))  # the same key (email) again
    assert twice.code == errors.EXIT_CONFLICT and twice.err.startswith(
        "fileserver: error: conflict:")
    table = cli("accounts", "ls").out
    assert table.splitlines()[0].split() == ["ID", "EMAIL", "NAME", "KIND", "STORAGE",
                                             "LIMIT/DAY", "STATE"]
    assert "service_account" in table and "/16.1 GB" in table  # 15 GiB, measured live
    assert mine[0]["id"] in table
    removed = cli("accounts", "rm", mine[0]["id"])
    assert removed.code == 0 and "removing account" in removed.out
    after = {a["id"]: a["state"] for a in cli("accounts", "ls", "--json").json()}
    assert after.get(mine[0]["id"], "gone") in ("removing", "gone")


def test_accounts_add_rejects_a_file_that_is_not_a_key(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "key.json"
    bad.write_text("not json")
    result = cli("accounts", "add", str(bad))
    assert result.code == errors.EXIT_USAGE and "not a JSON key file" in result.err
    missing = cli("accounts", "add", str(tmp_path / "absent.json"))
    assert missing.code == errors.EXIT_USAGE and "cannot read" in missing.err
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"type": "authorized_user"}')
    refused = cli("accounts", "add", str(wrong))
    assert refused.code == errors.EXIT_ERROR and "400 bad_request" in refused.err


def upload_and_wait(cli: Cli, path: Path) -> dict[str, Any]:
    result = cli("upload", str(path), "--wait", "--timeout", "240")
    assert result.code == 0, result.err
    assert f"uploaded {path.name} (" in result.out and "status replicating" in result.out
    assert "every file is uploaded on every account" in result.out
    file_id = result.out.split("-> id ")[1].split(",")[0]
    return cli("files", "show", file_id, "--json").json() | {"wait_output": result.out}


def check_upload_and_download(cli: Cli, path: Path, tmp_path: Path) -> None:
    file = upload_and_wait(cli, path)
    assert file["status"] == "uploaded" and file["sha256"] == sha256_of(path)
    assert file["replicas"]["ready"] == file["replicas"]["total"] >= 2
    copies = [line for line in file["wait_output"].splitlines() if "ready (" in line]
    assert len(copies) == file["replicas"]["total"]  # account by account
    out = tmp_path / "fetched.bin"
    got = cli("url", file["id"], "--download", "--out", str(out), "--json")
    assert got.code == 0, got.err
    assert got.json()["sha256"] == file["sha256"] and got.json()["md5"] == file["md5"]
    assert sha256_of(out) == sha256_of(path) and not out.with_name("fetched.bin.part").exists()


def test_upload_5mb_wait_then_download_matches(cli: Cli, two_accounts: list[Path],
                                               tmp_path: Path) -> None:
    check_upload_and_download(cli, random_file(tmp_path / "five.bin", 5 * MiB), tmp_path)


def test_upload_100mb_wait_then_download_matches(cli: Cli, two_accounts: list[Path],
                                                 tmp_path: Path) -> None:
    """~5 s on the 2-core build machine, so it stays in the default run (issue 12)."""
    check_upload_and_download(cli, random_file(tmp_path / "hundred.bin", 100 * MiB), tmp_path)


def test_upload_json_and_progress_on_stderr(cli: Cli, two_accounts: list[Path],
                                            tmp_path: Path) -> None:
    path = random_file(tmp_path / "small.bin", 300_000)
    result = cli("upload", str(path), "--json", "--progress")
    assert result.code == 0, result.err
    [stored] = result.json()
    assert stored["status"] == "replicating" and stored["size"] == 300_000
    assert "small.bin" in result.err and "100.0%" in result.err and "MB/s" in result.err


def test_files_ls_show_rename_rm(cli: Cli, two_accounts: list[Path], tmp_path: Path) -> None:
    file = upload_and_wait(cli, random_file(tmp_path / "named.bin", 64 * 1024))
    listed = cli("files", "ls", "--status", "uploaded", "--json").json()
    assert file["id"] in [f["id"] for f in listed]
    assert {f["status"] for f in listed} == {"uploaded"}
    table = cli("files", "ls").out
    assert table.splitlines()[0].split() == ["ID", "NAME", "SIZE", "STATUS", "REPLICAS",
                                             "CREATED"]
    shown = cli("files", "show", file["id"]).out
    assert f"sha256:    {file['sha256']}" in shown and "status:    uploaded" in shown
    renamed = cli("files", "rename", file["id"], "renamed.bin", "--json").json()
    assert renamed["name"] == "renamed.bin" and renamed["version"] > file["version"]
    removed = cli("files", "rm", file["id"])
    assert removed.code == 0 and "status deleting" in removed.out
    gone = wait_for(lambda: cli("files", "show", file["id"]).code == errors.EXIT_NOT_FOUND)
    assert gone, "the deleted file is still listed"


def wait_for(check: Any, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_url_and_reports_count_it(cli: Cli, two_accounts: list[Path], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    file = upload_and_wait(cli, random_file(tmp_path / "counted.bin", 100_000))
    urls = [cli("url", file["id"], "--json").json() for _ in range(4)]
    holders = {r["account_id"] for r in file["replicas"]["accounts"] if r["state"] == "ready"}
    assert {u["account_id"] for u in urls} <= holders and {u["file_id"] for u in urls} == {
        file["id"]}
    plain = cli("url", file["id"])
    assert plain.out.strip().startswith("http") and "export=download" in plain.out
    monkeypatch.chdir(tmp_path)  # counted.bin is here: a download must not overwrite it
    kept = cli("url", file["id"], "--download")
    assert kept.code == errors.EXIT_USAGE and "counted.bin already exists" in kept.err
    counted = wait_for(lambda: file_downloads(cli, file["id"]) == 5)
    assert counted, "the reports did not count the 5 URLs handed out"
    files_table = cli("report", "files").out
    row = next(line for line in files_table.splitlines() if line.startswith(file["id"]))
    assert row.split()[1:3] == ["counted.bin", "5"]
    accounts = cli("report", "accounts", "--json").json()
    assert sum(a["downloads"] for a in accounts) >= 5
    assert cli("report", "accounts").out.splitlines()[0].split()[:6] == [
        "ACCOUNT", "EMAIL", "KIND", "STATE", "STORAGE", "DOWNLOADS"]


def file_downloads(cli: Cli, file_id: str) -> int:
    rows = cli("report", "files", "--json").json()
    return next((r["downloads"] for r in rows if r["file_id"] == file_id), 0)


def test_report_summary(cli: Cli, two_accounts: list[Path]) -> None:
    result = cli("report", "summary")
    assert result.code == 0, result.err
    assert "accounts needed" in result.out and "Jain's index" in result.out
    data = cli("report", "summary", "--json").json()
    needed = str(data["capacity"]["accounts_needed_target"])
    assert any(line.split()[-1] == needed for line in result.out.splitlines()
               if line.startswith("accounts needed"))
    # Event ids are kept 7 days: the horizon is never later than 7 days back.
    kept = data["event_ids"]
    assert kept["retention_days"] == 7
    assert kept["horizon"] <= (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
    assert any(line.split()[-1] == kept["horizon"] for line in result.out.splitlines()
               if line.startswith("duplicates refused before"))
