"""The streaming function server (fileserver.runtime.server), over raw sockets.

Each test runs the server in a thread with a small WSGI app that records how much of the body
it read, and talks HTTP/1.1 byte by byte so that framing, early answers and keep-alive show.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.process import free_port, stop_pid, wait_until
from fileserver.runtime.serve import drain_settings, go_duration
from fileserver.runtime.server import StreamingWSGIServer

REPO_ROOT = Path(__file__).resolve().parents[3]


def app(environ: dict, start_response) -> list[bytes]:
    """``/refuse`` answers 401 without reading; anything else reads the body and says what."""
    if environ["PATH_INFO"] == "/refuse":
        start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                            ("Content-Length", "2")])
        return [b"no"]
    body = environ["wsgi.input"].read()
    out = f"{len(body)}:{body[:40].decode(errors='replace')}".encode()
    if environ["PATH_INFO"] == "/stream":  # no Content-Length: chunked response
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [out, b"|tail"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]


@pytest.fixture()
def server() -> Iterator[StreamingWSGIServer]:
    srv = StreamingWSGIServer(("127.0.0.1", 0), app)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def connect(srv: StreamingWSGIServer) -> socket.socket:
    sock = socket.create_connection(srv.server_address, timeout=5)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response: status, headers (lower-case names), body (Content-Length or chunked)."""
    data = b""
    while b"\r\n\r\n" not in data:
        block = sock.recv(65536)
        assert block, f"connection closed before a response: {data!r}"
        data += block
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(rest) < size:
            rest += sock.recv(65536)
        return status, headers, rest[:size]
    while not rest.endswith(b"0\r\n\r\n"):
        rest += sock.recv(65536)
    body, parts = b"", rest
    while True:
        size_line, _, parts = parts.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return status, headers, body
        body, parts = body + parts[:size], parts[size + 2:]


def body_bytes() -> float:
    from fileserver.runtime import metrics

    return metrics.REQUEST_BODY_BYTES._value.get()


def test_a_refused_request_is_answered_from_its_headers_and_its_body_is_not_read(server):
    before = body_bytes()
    sock = connect(server)
    sock.sendall(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 209715200\r\n\r\n")
    sock.sendall(b"x" * 65536)  # the client goes on sending: the server answers anyway
    status, headers, body = read_response(sock)
    assert (status, body) == (401, b"no")
    assert headers["connection"] == "close"
    assert body_bytes() - before == 0
    sock.settimeout(5)
    sock.sendall(b"x" * 65536)
    with pytest.raises(OSError):  # the server closed: sending on fails, or EOF
        for _ in range(200):
            sock.sendall(b"x" * 65536)
            if not sock.recv(1):
                raise ConnectionResetError("eof")
    sock.close()


def test_expect_continue_is_sent_only_when_the_app_reads():
    srv = StreamingWSGIServer(("127.0.0.1", 0), app)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        sock = connect(srv)
        sock.sendall(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        status, _, _ = read_response(sock)
        assert status == 401  # no "100 Continue" first: the client never sends the body
        sock.close()
        sock = connect(srv)
        sock.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        assert read_response(sock)[2] == b"5:hello"
        sock.close()
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def test_a_body_longer_than_declared_is_cut_and_keep_alive_holds(server):
    sock = connect(server)
    sock.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
    status, headers, body = read_response(sock)
    assert (status, body) == (200, b"5:hello") and headers.get("connection") != "close"
    sock.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcEXTRA")
    assert read_response(sock)[2] == b"3:abc"  # the app never sees EXTRA
    sock.close()


def test_chunked_bodies_are_decoded_and_chunked_responses_framed(server):
    sock = connect(server)
    sock.sendall(b"POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    status, headers, body = read_response(sock)
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert body == b"11:hello world|tail"
    sock.close()


@pytest.mark.parametrize("head", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",  # smuggling: both framings
    b"Content-Length: -1\r\n",
    b"Content-Length: 1e3\r\n",
])
def test_ambiguous_framing_is_a_400_and_closes(server, head):
    sock = connect(server)
    sock.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\n" + head + b"\r\nhello")
    status, headers, _ = read_response(sock)
    assert status == 400 and headers["connection"] == "close"
    sock.close()


def test_a_body_that_ends_early_never_reaches_the_app_as_complete(server):
    sock = connect(server)
    sock.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
    sock.shutdown(socket.SHUT_WR)
    status, _, body = read_response(sock)
    assert status == 400 and b"truncated" in body
    sock.close()


def test_drain_settings_follow_the_watchdog():
    assert go_duration("60m") == 3600 and go_duration("5m5s") == 305 and go_duration("7") == 7
    assert drain_settings({}) == (0.0, 30.0)
    assert drain_settings({"write_timeout": "65s", "healthcheck_interval": "5s"}) == (5.0, 65.0)
    # of-watchdog: healthcheck_interval defaults to write_timeout
    assert drain_settings({"write_timeout": "20s"}) == (20.0, 20.0)
    with pytest.raises(ValueError):
        go_duration("soon")


class SlowBody:
    """``size`` bytes handed out in 20 reads over ``seconds`` (a file of known length)."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size, self.left, self.pause = size, size, seconds / 20

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        if not self.left:
            return b""
        time.sleep(self.pause)
        step = min(self.size // 20, self.left)
        self.left -= step
        return b"y" * step


def slow_post(port: int, size: int, seconds: float, out: dict) -> None:
    try:
        resp = requests.post(f"http://127.0.0.1:{port}/", data=SlowBody(size, seconds),
                             timeout=30)
        out["status"], out["json"] = resp.status_code, resp.json()
    except requests.RequestException as exc:
        out["error"] = repr(exc)


def test_sigterm_lets_an_upload_in_flight_finish_then_exits_0(tmp_path):
    """The echo function behind nothing: SIGTERM 0.5 s into a 3 s upload; it completes."""
    port = free_port()
    env = {**os.environ, "write_timeout": "20s", "healthcheck_interval": "1s"}
    proc = subprocess.Popen([sys.executable, "-m", "fileserver.runtime.serve",
                             "bench/functions/echo", "--port", str(port)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=1).ok, 20)
        out: dict = {}
        client = threading.Thread(target=slow_post, args=(port, 20 * 65536, 3.0, out))
        client.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # within healthcheck_interval: new requests are still served
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=2).ok
        client.join(30)
        assert out.get("status") == 200, out
        assert out["json"]["size"] == 20 * 65536
        assert proc.wait(timeout=15) == 0
    finally:
        stop_pid(proc.pid)
        proc.wait(timeout=10)


def test_connections_beyond_the_limit_are_answered_503_not_queued_for_ever():
    srv = StreamingWSGIServer(("127.0.0.1", 0), app, max_connections=2)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        idle = [connect(srv), connect(srv)]  # two idle keep-alive connections hold the slots
        time.sleep(0.2)
        extra = connect(srv)
        assert read_response(extra)[0] == 503
        extra.close()
        idle[0].close()
        time.sleep(0.2)
        again = connect(srv)
        again.sendall(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
        assert read_response(again)[2] == b"2:ok"
        for sock in (again, idle[1]):
            sock.close()
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)
