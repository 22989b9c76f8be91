"""The local stack with EVERY function behind the real of-watchdog (STACK_WATCHDOG), each
watchdog in network and PID namespaces of its own behind devstack.netns_relay: a file goes
upload -> uploaded -> get-url -> download through the gateway and the watchdogs, each
watchdog's own metrics (its fixed :8081, relayed) count the calls, uploads stream, a refused
upload is not read, and ``down`` leaves no process and no namespace.

The tests share one stack (module scope) and run in file order: the last one brings it down.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
import requests
import yaml

from bench.upload_gridfs import TempDiskSampler, timed_upload
from devstack import netns_relay
from devstack.config import StackConfig
from devstack.process import pid_alive, wait_until
from devstack.stack import Stack
from emulators.drive.admin_client import DriveAdmin
from tests.conftest import server_tmp_dir
from tests.integration.openfaas.conftest import (
    FWATCHDOG,
    MB,
    REPO_ROOT,
    post_until_answered,
    requires_tools,
)

pytestmark = requires_tools
FLOW = {"upload-file": 1, "files": 1, "get-url": 1, "download": 1}  # calls the flow makes, at least


@pytest.fixture(scope="module")
def watchdog_stack() -> Iterator[Stack]:
    reason = netns_relay.unavailable_reason()
    if reason:
        pytest.skip(f"network namespaces are not permitted here: {reason}")
    base = server_tmp_dir("wd-stack")
    stack = Stack(StackConfig.free(base / "stack", prometheus_enabled=False,
                                   watchdog=str(FWATCHDOG)))
    try:
        stack.up(timeout=150)
        yield stack
    finally:
        stack.down()
        shutil.rmtree(base, ignore_errors=True)


def functions(stack: Stack) -> list[str]:
    return stack.config.function_names()


def watchdog_of(stack: Stack, name: str) -> psutil.Process:
    """The fwatchdog process the function's relay started (its only child)."""
    [child] = psutil.Process(stack.pid(name)).children()
    return child


def watchdog_metric(stack: Stack, name: str, metric: str) -> float:
    """A metric of the function's watchdog itself (its :8081, relayed to the host)."""
    text = requests.get(stack.component(name)["watchdog_metrics_url"], timeout=5).text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(metric + "{") or line.startswith(metric + " "))


def namespace(stack: Stack, name: str) -> str:
    return (stack.config.dir / "watchdog" / name / "netns").read_text().strip()


def test_every_function_runs_behind_a_watchdog_in_a_namespace_of_its_own(watchdog_stack):
    names = functions(watchdog_stack)
    deployed = yaml.safe_load((REPO_ROOT / "stack.yml").read_text())["functions"]
    assert set(deployed) <= set(names)  # every function, behind the watchdog
    for name in names:
        watchdog = watchdog_of(watchdog_stack, name)
        assert watchdog.name() == "fwatchdog", name
        [handler] = watchdog.children()  # the image's fprocess, serving this function
        assert "fileserver.runtime.serve" in handler.cmdline(), name
        assert str(Path("functions") / name) in " ".join(handler.cmdline()), name
        assert watchdog_metric(watchdog_stack, name, "http_requests_total") >= 1, name  # ready
    spaces = {namespace(watchdog_stack, name) for name in names}
    assert len(spaces) == len(names) and netns_relay.namespace_id("self") not in spaces


def test_a_file_goes_upload_to_download_through_the_gateway_and_the_watchdogs(watchdog_stack):
    gateway = watchdog_stack.gateway_url
    admin = {"Authorization": f"Bearer {watchdog_stack.admin_token}"}
    before = {name: watchdog_metric(watchdog_stack, name, "http_requests_total") for name in FLOW}
    drive = DriveAdmin(watchdog_stack.component("drive-emulator")["url"].rstrip("/") + "/")
    key = drive.create_account(legacy=True,
                               email=f"wd-{secrets.token_hex(3)}@wd.iam.gserviceaccount.com")
    added = requests.post(f"{gateway}/function/drive-accounts", headers=admin, timeout=60,
                          json={"name": "watchdog", "key": key})
    assert added.status_code in (200, 201), added.text
    data = os.urandom(300_000)
    uploaded = requests.post(f"{gateway}/function/upload-file", params={"name": "wd.bin"},
                             data=data, headers=admin, timeout=60)
    assert uploaded.status_code in (200, 201, 202), uploaded.text
    file_id = uploaded.json()["id"]
    wait_uploaded(gateway, file_id)
    link = requests.get(f"{gateway}/function/get-url", params={"id": file_id}, timeout=30)
    assert link.status_code == 200, link.text
    # The link's root is the Host the function saw (PUBLIC_URL unset): take its path to the
    # gateway, as a client of the gateway's public address would be handed it.
    path = urlsplit(link.json()["download_url"]).path
    assert path == f"/function/download/{file_id}/wd.bin", link.json()
    downloaded = requests.get(gateway + path, timeout=60)
    assert downloaded.status_code == 200 and downloaded.content == data
    for name, calls in FLOW.items():
        counted = watchdog_metric(watchdog_stack, name, "http_requests_total") - before[name]
        assert counted >= calls, f"{name}'s watchdog counted {counted} requests"


def wait_uploaded(gateway: str, file_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        file = requests.get(f"{gateway}/function/files/{file_id}", timeout=30).json()
        if file["status"] == "uploaded":
            return
        time.sleep(0.5)
    raise AssertionError(f"not uploaded after {timeout}s: {file}")


def test_an_upload_through_gateway_and_watchdog_streams(watchdog_stack):
    watchdog = watchdog_of(watchdog_stack, "upload-file")
    handler = watchdog.children()[0].pid
    url = watchdog_stack.gateway_url + "/function/upload-file"
    assert requests.get(url + "/_/health", timeout=5).text.strip() == "OK"  # the watchdog's
    assert requests.get(url + "/healthz", timeout=5).json()["function"] == "upload-file"
    with TempDiskSampler([watchdog.pid, handler, watchdog_stack.pid("gateway")]) as disk:
        _, result = timed_upload(url, watchdog_stack.admin_token, 32 * MB)
    assert result["size"] == 32 * MB and disk.peak == 0
    listed = requests.get(watchdog_stack.gateway_url + f"/function/files/{result['id']}",
                          timeout=10)
    assert listed.status_code == 200 and listed.json()["sha256"] == result["sha256"]


def test_a_post_without_a_token_is_refused_through_gateway_and_watchdog_unread(watchdog_stack):
    gateway = int(watchdog_stack.gateway_url.rsplit(":", 1)[1])
    pids = [watchdog_stack.pid("upload-file"), watchdog_stack.pid("gateway")]
    function_url = watchdog_stack.component("upload-file")["url"]
    before = metric(function_url, "fileserver_http_request_body_bytes_total")
    with TempDiskSampler(pids) as disk:
        status, sent = post_until_answered(gateway, "/function/upload-file/", {
            "Content-Type": "application/octet-stream"}, 200 * MB)
    assert status == 401 and sent < 200 * MB and disk.peak == 0
    read = metric(function_url, "fileserver_http_request_body_bytes_total") - before
    assert read < MB, f"upload-file read {read} bytes of a refused body"


def metric(url: str, name: str) -> float:
    text = requests.get(url + "/_/metrics", timeout=5).text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(name + " "))


def test_a_killed_relay_takes_its_namespace_with_it_and_comes_back(watchdog_stack):
    """SIGKILL (no chance to clean up): the parent-death signal takes the watchdog, the PID
    namespace the handler; the supervisor starts the function again in a new namespace."""
    name = "stats-summary"
    old, watchdog = watchdog_stack.pid(name), watchdog_of(watchdog_stack, name)
    handler, space = watchdog.children()[0].pid, namespace(watchdog_stack, name)
    watchdog_stack.kill(name)
    watchdog_stack.wait_restarted(name, old)
    wait_until(lambda: not pid_alive(watchdog.pid) and not pid_alive(handler), 10)
    assert processes_in({space}) == [] and namespace(watchdog_stack, name) != space
    health = requests.get(f"{watchdog_stack.gateway_url}/function/{name}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["function"] == name


def test_down_leaves_no_process_and_no_namespace(watchdog_stack):
    """Last in the file: brings the shared stack down (the fixture's down is then a no-op)."""
    pids = set(watchdog_stack.pids())
    for pid in list(pids):
        pids |= {child.pid for child in psutil.Process(pid).children(recursive=True)}
    spaces = {namespace(watchdog_stack, name) for name in functions(watchdog_stack)}
    started = time.monotonic()
    watchdog_stack.down()
    assert time.monotonic() - started < 30  # the functions drain together, not one by one
    assert sorted(pid for pid in pids if pid_alive(pid)) == []
    assert processes_in(spaces) == []


def processes_in(spaces: set[str]) -> list[int]:
    """Pids of every process whose network namespace is one of ``spaces``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "net") in spaces:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
