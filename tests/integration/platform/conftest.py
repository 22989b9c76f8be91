"""A small real stack (databases, echo function, gateway, queue-worker) for the platform tests,
plus an HTTP sink that records async callbacks."""

from __future__ import annotations

import json
import queue
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devstack.config import StackConfig
from devstack.process import pid_alive
from devstack.stack import Stack
from tests.conftest import server_tmp_dir


def start_stack(directory: Path, **overrides: object) -> Stack:
    stack = Stack(StackConfig.free(directory, **overrides))
    try:
        stack.up(timeout=120)
    except Exception:
        stack.down()
        raise
    return stack


def stop_stack(stack: Stack) -> None:
    pids = stack.pids()
    stack.down()
    assert [pid for pid in pids if pid_alive(pid)] == []


@pytest.fixture(scope="package")
def echo_stack() -> Iterator[Stack]:
    # Outside pytest's tmp tree: see tests/conftest.py server_tmp_dir (postgres runs as
    # another user and would be locked out when a new pytest session resets that tree to 0700).
    base = server_tmp_dir("echo-stack")
    stack = start_stack(base / "stack", functions=["echo"], prometheus_enabled=False,
                        workers=False)
    yield stack
    stop_stack(stack)
    shutil.rmtree(base, ignore_errors=True)


class Callback:
    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.headers = headers
        self.body = body

    def json(self) -> dict:
        return json.loads(self.body)


class CallbackSink:
    """Records every POST it receives; ``url`` goes in ``X-Callback-Url``."""

    def __init__(self) -> None:
        self.received: queue.Queue[Callback] = queue.Queue()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.received.put(Callback(dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/done"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 20) -> Callback:
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def callback_sink() -> Iterator[CallbackSink]:
    sink = CallbackSink()
    yield sink
    sink.close()
