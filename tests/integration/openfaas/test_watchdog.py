"""Every function behind the real of-watchdog, started as its image starts it; uploads
through the watchdog to upload-file stream (no temporary file, bounded RSS) and survive a
SIGTERM; a request refused from its headers is not read."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
import yaml
from pymongo import MongoClient

from bench.upload_gridfs import GeneratedBody, TempDiskSampler, timed_upload
from devstack.watchdog import dockerfile_env, stack_function_env
from fileserver.runtime.serve import drain_settings
from tests.integration.openfaas.conftest import (
    MB,
    REPO_ROOT,
    TOKEN,
    WatchdogFunction,
    post_until_answered,
    requires_tools,
)

pytestmark = requires_tools
FUNCTIONS = sorted(yaml.safe_load((REPO_ROOT / "stack.yml").read_text())["functions"])
RSS_LIMIT_MB = 100


def test_the_watchdog_and_the_runtime_agree_on_the_drain_grace():
    """The runtime drains for the watchdog's own write_timeout (after healthcheck_interval),
    which must cover exec_timeout: an upload that may run exec_timeout completes."""
    for name in FUNCTIONS:
        env = {**dockerfile_env(), **stack_function_env(name)}
        delay, grace = drain_settings(env)
        assert delay == drain_settings({"write_timeout": "1s", **env})[0]
        assert grace >= drain_settings({"write_timeout": env["exec_timeout"]})[1], name


@pytest.fixture()
def behind_watchdog(shrinkwrapped: Path, secrets_dir: Path, request) -> Iterator[WatchdogFunction]:
    """One function at a time: of-watchdog 0.11.6 always binds its metrics to :8081."""
    function = WatchdogFunction(request.param, shrinkwrapped, {"SECRETS_DIR": str(secrets_dir)})
    try:
        yield function.start()
    finally:
        function.stop()


@pytest.mark.parametrize("behind_watchdog", FUNCTIONS, indirect=True)
def test_health_ready_and_metrics_through_the_watchdog(behind_watchdog):
    function, name = behind_watchdog, behind_watchdog.name
    own = requests.get(function.url + "/_/health", timeout=5)
    assert own.status_code == 200 and own.text.strip() == "OK"  # the watchdog's, not ours
    assert requests.get(function.url + "/_/ready", timeout=5).status_code == 200
    health = requests.get(function.url + "/healthz", timeout=5)
    assert health.json() == {"status": "ok", "function": name}
    assert "X-Duration-Seconds" in health.headers  # it went through the watchdog's proxy
    assert "fileserver_http_requests_total" in requests.get(function.url + "/_/metrics",
                                                            timeout=5).text
    watchdog_metrics = requests.get(f"http://127.0.0.1:{function.metrics_port}/metrics",
                                    timeout=5).text
    assert "http_requests_total" in watchdog_metrics


@pytest.fixture()
def upload_file(shrinkwrapped: Path, secrets_dir: Path, mongo_server, nats_server,
                request) -> Iterator[WatchdogFunction]:
    extra = getattr(request, "param", {})
    db = f"wd_{int(time.time() * 1000)}"
    function = WatchdogFunction("upload-file", shrinkwrapped, {
        "SECRETS_DIR": str(secrets_dir), "MONGO_URL": mongo_server.url, "MONGO_DB": db,
        "NATS_URL": nats_server.url, "GATEWAY_URL": "http://127.0.0.1:9", **extra})
    function.db_name = db  # type: ignore[attr-defined]
    function.start()
    yield function
    function.stop()


def gridfs_chunks(function: WatchdogFunction, mongo_url: str) -> int:
    db = MongoClient(mongo_url)[function.db_name]  # type: ignore[attr-defined]
    return len(list(db["fs.chunks"].find({}, {"_id": 1}).limit(1000)))


def upload_streams(function: WatchdogFunction, size: int) -> None:
    pids = [function.proc.pid, function.child_pid()]
    with TempDiskSampler(pids) as disk:
        _, result = timed_upload(function.url, TOKEN, size)
    assert result["size"] == size and result["status"] == "replicating"
    assert disk.peak == 0, f"{disk.peak} bytes of temporary files held during the upload"
    peak = psutil.Process(pids[1]).memory_info().rss / MB
    hwm = [line for line in Path(f"/proc/{pids[1]}/status").read_text().splitlines()
           if line.startswith("VmHWM:")][0]
    assert int(hwm.split()[1]) / 1024 < RSS_LIMIT_MB, (hwm, peak)


def test_an_upload_through_the_watchdog_streams(upload_file):
    upload_streams(upload_file, 48 * MB)


@pytest.mark.slow
def test_a_1gb_upload_through_the_watchdog_streams(upload_file):
    upload_streams(upload_file, 1024 * MB)


def test_a_200mb_post_without_a_token_is_refused_before_1mb_is_read(upload_file, mongo_server):
    with TempDiskSampler([upload_file.proc.pid, upload_file.child_pid()]) as disk:
        status, sent = post_until_answered(upload_file.port, "/", {
            "Content-Type": "application/octet-stream"}, 200 * MB)
    assert disk.peak == 0  # nothing landed on disk
    assert status == 401
    read = upload_file.metric("fileserver_http_request_body_bytes_total")
    assert read < MB, f"upload-file read {read} bytes of a refused body"
    assert sent < 200 * MB
    assert gridfs_chunks(upload_file, mongo_server.url) == 0


@pytest.mark.parametrize("upload_file", [{"healthcheck_interval": "1s",
                                          "write_timeout": "30s"}], indirect=True)
def test_sigterm_mid_upload_lets_it_complete_within_the_grace(upload_file):
    """SIGTERM to the watchdog (what faasd/Kubernetes send) 1 s into a ~4 s upload: the
    watchdog forwards it, both keep serving healthcheck_interval, drain, and exit."""
    size = 24 * MB
    out: dict = {}

    class PacedBody(GeneratedBody):
        def read(self, n: int = -1) -> bytes:
            time.sleep(4.0 / 24)
            return super().read(min(n, MB) if n and n > 0 else MB)

    def upload() -> None:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", upload_file.port, timeout=60,
                                          blocksize=MB)
        conn.request("POST", "/?name=drain.bin", body=PacedBody(size), headers={
            "Authorization": f"Bearer {TOKEN}", "Content-Length": str(size)})
        response = conn.getresponse()
        out["status"], out["body"] = response.status, response.read()

    child = upload_file.child_pid()
    client = threading.Thread(target=upload)
    client.start()
    time.sleep(1.0)
    sigterm_at = time.monotonic()
    upload_file.proc.send_signal(signal.SIGTERM)
    client.join(40)
    assert out.get("status") == 202, out
    upload_file.proc.wait(timeout=30)
    assert time.monotonic() - sigterm_at < 30
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"
