"""The local stack with upload-file behind the real of-watchdog (STACK_WATCHDOG): an upload
through the stack's gateway and the watchdog streams into GridFS; health comes from the
function through the watchdog."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import psutil
import pytest
import requests

from bench.upload_gridfs import TempDiskSampler, timed_upload
from devstack.config import StackConfig
from devstack.process import port_open, wait_until
from devstack.stack import Stack
from tests.conftest import server_tmp_dir
from tests.integration.openfaas.conftest import (
    FWATCHDOG,
    MB,
    WATCHDOG_METRICS_PORT,
    post_until_answered,
    requires_tools,
)

pytestmark = requires_tools


@pytest.fixture(scope="module")
def watchdog_stack() -> Iterator[Stack]:
    wait_until(lambda: not port_open(WATCHDOG_METRICS_PORT), 60)
    base = server_tmp_dir("wd-stack")
    stack = Stack(StackConfig.free(base / "stack", functions=["upload-file", "files"],
                                   workers=False, prometheus_enabled=False,
                                   watchdog=str(FWATCHDOG)))
    try:
        stack.up(timeout=120)
        yield stack
    finally:
        stack.down()
        shutil.rmtree(base, ignore_errors=True)


def test_upload_file_runs_behind_the_watchdog_and_streams(watchdog_stack):
    pid = watchdog_stack.pid("upload-file")
    assert psutil.Process(pid).name() == "fwatchdog"
    handler = psutil.Process(pid).children()[0].pid
    url = watchdog_stack.gateway_url + "/function/upload-file"
    assert requests.get(url + "/_/health", timeout=5).text.strip() == "OK"  # the watchdog's
    assert requests.get(url + "/healthz", timeout=5).json()["function"] == "upload-file"
    with TempDiskSampler([pid, handler, watchdog_stack.pid("gateway")]) as disk:
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
