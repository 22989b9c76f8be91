"""A tiny JSON HTTP server the runner tests point a plan at (run as its own process).

``python tiny_server.py PORT``: ``GET /ok`` → 200 ``{"status": "ok", "id": "abc123"}``,
``POST /echo`` → 201 with the request body, multipart uploads included; anything else → 404.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.startswith("/ok"):
            self._send(200, json.dumps({"status": "ok", "id": "abc123"}).encode())
        else:
            self._send(404, b'{"error": {"code": "not_found"}}')

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self._send(201 if self.path.startswith("/echo") else 404, body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
