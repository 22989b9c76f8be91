"""The gateway against a real stack: proxying, errors, system routes, async invocation."""

from __future__ import annotations

import asyncio
import hashlib
import re

import nats
import pytest
import requests

from devstack.gateway import _forwarded
from devstack.stack import Stack

from .conftest import CallbackSink


@pytest.fixture(scope="module")
def gateway(echo_stack: Stack) -> str:
    return echo_stack.gateway_url


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_proxy_keeps_method_path_query_headers_and_body(gateway: str, method: str) -> None:
    body = f"payload for {method}".encode() if method != "GET" else b""
    resp = requests.request(method, f"{gateway}/function/echo/a/b%20c?x=1&y=two&y=3",
                            data=body, headers={"X-Custom": "kept", "Content-Type": "text/plain"},
                            timeout=10)
    assert resp.status_code == 200
    assert resp.headers["X-Echo"] == "yes"  # response headers come back
    assert resp.headers["Content-Type"] == "application/json"
    seen = resp.json()
    assert seen["method"] == method
    assert seen["path"] == "/a/b c"
    assert seen["query"] == {"x": "1", "y": "two"}  # to_dict keeps the first value
    assert seen["headers"]["X-Custom"] == "kept"
    assert seen["size"] == len(body)
    assert seen["sha256"] == hashlib.sha256(body).hexdigest()


def test_proxy_forwards_the_client_address_as_the_openfaas_gateway_does(gateway: str) -> None:
    """X-Forwarded-For: the peer as ``ip:port`` when the request has none, else the client's
    own header untouched (handlers/forwarding_proxy.go); X-Forwarded-Host likewise."""
    seen = requests.get(f"{gateway}/function/echo", timeout=10).json()["headers"]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", seen["X-Forwarded-For"])
    assert seen["X-Forwarded-Host"] == gateway.removeprefix("http://")
    own = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1", "X-Forwarded-Host": "files.example"}
    seen = requests.get(f"{gateway}/function/echo", headers=own, timeout=10).json()["headers"]
    assert (seen["X-Forwarded-For"], seen["X-Forwarded-Host"]) == (
        "203.0.113.7, 10.0.0.1", "files.example")


@pytest.mark.parametrize(("environ", "expected"), [
    ({"REMOTE_ADDR": "192.0.2.1", "REMOTE_PORT": "5000"}, "192.0.2.1:5000"),
    ({"REMOTE_ADDR": "2001:db8::1", "REMOTE_PORT": "443"}, "[2001:db8::1]:443"),  # Go's form
    ({"REMOTE_ADDR": "192.0.2.1"}, "192.0.2.1"),
])
def test_forwarded_for_is_written_as_go_writes_remote_addr(environ: dict, expected: str) -> None:
    assert _forwarded({}, environ)["X-Forwarded-For"] == expected


@pytest.mark.parametrize("status", [201, 204, 400, 404, 418, 500])
def test_proxy_keeps_status_codes(gateway: str, status: int) -> None:
    resp = requests.post(f"{gateway}/function/echo?status={status}", data=b"x", timeout=10)
    assert resp.status_code == status


def test_proxy_root_path_and_repeated_query(gateway: str) -> None:
    seen = requests.get(f"{gateway}/function/echo", timeout=10).json()
    assert seen["path"] == "/"
    assert seen["query"] == {}


def test_chunked_request_body_is_forwarded_whole(gateway: str) -> None:
    blocks = [bytes([n]) * 100_000 for n in range(20)]
    resp = requests.post(f"{gateway}/function/echo/up", data=iter(blocks), timeout=30)
    seen = resp.json()
    assert seen["size"] == 2_000_000
    assert seen["sha256"] == hashlib.sha256(b"".join(blocks)).hexdigest()


def test_unknown_function_is_404_json(gateway: str) -> None:
    for prefix in ("function", "async-function"):
        resp = requests.post(f"{gateway}/{prefix}/no-such-fn/x", data=b"x", timeout=10)
        assert resp.status_code == 404
        assert "no-such-fn" in resp.json()["error"]["message"]


def test_unknown_route_is_404_json(gateway: str) -> None:
    resp = requests.get(f"{gateway}/nothing-here", timeout=10)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == 404


def test_healthz(gateway: str) -> None:
    assert requests.get(f"{gateway}/healthz", timeout=10).status_code == 200


def test_system_functions_lists_functions_with_invocation_counts(gateway: str) -> None:
    before = _invocations(gateway)
    for _ in range(3):
        requests.get(f"{gateway}/function/echo", timeout=10).raise_for_status()
    listing = requests.get(f"{gateway}/system/functions", timeout=10).json()
    assert [f["name"] for f in listing] == ["echo"]
    echo = listing[0]
    assert {"name", "image", "replicas", "availableReplicas", "invocationCount"} <= set(echo)
    assert echo["invocationCount"] == before + 3


def _invocations(gateway: str) -> float:
    listing = requests.get(f"{gateway}/system/functions", timeout=10).json()
    return next(f["invocationCount"] for f in listing if f["name"] == "echo")


def test_metrics_count_invocations_by_code(gateway: str) -> None:
    requests.get(f"{gateway}/function/echo?status=418", timeout=10)
    text = requests.get(f"{gateway}/metrics", timeout=10).text
    match = re.search(
        r'gateway_function_invocation_total\{code="418",function_name="echo"\} (\S+)', text)
    assert match and float(match.group(1)) >= 1
    assert 'gateway_functions_seconds_bucket{code="418",function_name="echo"' in text


def test_async_invocation_posts_result_to_callback(gateway: str,
                                                   callback_sink: CallbackSink) -> None:
    resp = requests.post(f"{gateway}/async-function/echo/jobs?kind=a", data=b"hello",
                         headers={"X-Callback-Url": callback_sink.url, "X-Custom": "k"},
                         timeout=10)
    assert resp.status_code == 202
    call_id = resp.headers["X-Call-Id"]
    done = callback_sink.next()
    assert done.headers["X-Call-Id"] == call_id
    assert done.headers["X-Function-Status"] == "200"
    assert done.headers["X-Function-Name"] == "echo"
    assert float(done.headers["X-Duration-Seconds"]) > 0
    seen = done.json()
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/jobs", {"kind": "a"})
    assert seen["size"] == 5
    assert seen["headers"]["X-Call-Id"] == call_id


def test_async_failure_status_is_reported_not_retried(gateway: str,
                                                      callback_sink: CallbackSink) -> None:
    resp = requests.post(f"{gateway}/async-function/echo?status=500", data=b"",
                         headers={"X-Callback-Url": callback_sink.url}, timeout=10)
    done = callback_sink.next()
    assert done.headers["X-Call-Id"] == resp.headers["X-Call-Id"]
    assert done.headers["X-Function-Status"] == "500"
    with pytest.raises(Exception):  # noqa: B017 - queue.Empty: no second delivery
        callback_sink.next(timeout=3)


def test_async_body_over_limit_is_413(gateway: str) -> None:
    resp = requests.post(f"{gateway}/async-function/echo", data=b"x" * (1024 * 1024 + 1),
                         timeout=10)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == 413


def test_the_async_queue_forgets_calls_after_a_day(echo_stack: Stack) -> None:
    """Acked calls would stay in the stream for ever under JetStream's limits retention."""

    async def max_age() -> float:
        nc = await nats.connect(echo_stack.env["NATS_URL"])
        try:
            return (await nc.jetstream().stream_info("FAAS_ASYNC")).config.max_age
        finally:
            await nc.close()

    assert asyncio.run(max_age()) == 86_400
