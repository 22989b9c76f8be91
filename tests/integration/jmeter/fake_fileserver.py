"""FakeFileserver: an in-memory stand-in for the gateway API of docs/CONTRACTS.md.

It exists to test the JMeter plans themselves (their requests, regexes, polling and
assertions) while the real services are checked by the live-stack tests. Run as a process:
``python fake_fileserver.py PORT TOKEN``; it also answers the emulator's ``/_emulator/accounts``.
Replication and deletion complete 0.3 s after they are requested, like a queue would.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOCK = threading.RLock()
ACCOUNTS: dict[str, dict[str, Any]] = {}
FILES: dict[str, dict[str, Any]] = {}
DOWNLOADS: dict[str, int] = {}
TURN = itertools.count()
TOKEN = ""
MAX_UPLOAD_BYTES = 3 * 1024 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def later(action: Any) -> None:
    threading.Timer(0.3, action).start()


def replicate(file_id: str) -> None:
    with LOCK:
        doc = FILES.get(file_id)
        if doc and doc["status"] in ("replicating", "uploaded"):
            doc["replicas"] = sorted(a for a, acc in ACCOUNTS.items() if acc["state"] == "active")
            doc["status"] = "uploaded"


def file_json(doc: dict[str, Any]) -> dict[str, Any]:
    accounts = [{"account_id": a, "state": "ready", "drive_file_id": f"d-{a}"}
                for a in doc["replicas"]]
    return {**{k: v for k, v in doc.items() if k != "replicas"},
            "replicas": {"total": len(accounts), "ready": len(accounts), "accounts": accounts}}


def need_admin(headers: Any) -> None:
    if headers.get("Authorization") != f"Bearer {TOKEN}":
        raise ApiError(401, "admin token required")


def accounts_api(method: str, rest: str, body: Any, query: dict[str, str]) -> tuple[int, Any]:
    if rest == "/" and method == "POST":
        name, key = body.get("name"), body.get("key")
        if not name or not isinstance(key, dict) or not (
                "client_email" in key or "refresh_token" in key):
            raise ApiError(400, "name and key are required")
        email = key.get("client_email") or key.get("account")  # Drive's answer for a user
        if any(a["email"] == email for a in ACCOUNTS.values()):
            raise ApiError(409, "account exists")
        kind = "authorized_user" if key.get("type") == "authorized_user" else "service_account"
        acc = {"id": uuid.uuid4().hex, "email": email, "name": name, "kind": kind,
               "daily_limit_bytes": 10**11, "state": "active", "version": 1}
        ACCOUNTS[acc["id"]] = acc
        for file_id in list(FILES):
            later(lambda f=file_id: replicate(f))
        return 201, acc
    if rest == "/" and method == "GET":
        return 200, {"items": list(ACCOUNTS.values()), "total": len(ACCOUNTS),
                     "limit": int(query.get("limit", 50)), "offset": 0}
    acc = ACCOUNTS.get(rest.strip("/"))
    if acc is None:
        raise ApiError(404, "no such account")
    if method == "PATCH":
        limit = body.get("daily_limit_bytes", 1)
        if not isinstance(limit, int) or limit < 0 or body.get("name") == "":
            raise ApiError(400, "bad account fields")
        acc.update({k: v for k, v in body.items() if k in ("name", "daily_limit_bytes")})
    if method == "DELETE":
        acc["state"] = "removing"
        del ACCOUNTS[acc["id"]]
        for doc in FILES.values():
            doc["replicas"] = [a for a in doc["replicas"] if a != acc["id"]]
        return 202, acc
    return 200, acc


def multipart_file(content_type: str, raw: bytes) -> tuple[str, bytes] | None:
    match = re.search(r"boundary=([^;]+)", content_type)
    if not match:
        return None
    for part in raw.split(b"--" + match.group(1).strip('"').encode()):
        head, _, data = part.partition(b"\r\n\r\n")
        name = re.search(rb'filename="([^"]*)"', head)
        if name and b'name="file"' in head:
            return name.group(1).decode(), data[:-2]
    return None


def upload(headers: Any, raw: bytes, query: dict[str, str]) -> tuple[int, Any]:
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "file too large")
    found = multipart_file(headers.get("Content-Type", ""), raw)
    if found is None:
        if not raw or not query.get("name"):
            raise ApiError(400, "a file is required")
        found = (query["name"], raw)
    doc = {"id": uuid.uuid4().hex, "name": found[0], "size": len(found[1]),
           "content_type": "application/octet-stream", "md5": "m", "sha256": "s",
           "status": "replicating", "version": 1, "replicas": []}
    FILES[doc["id"]] = doc
    later(lambda: replicate(doc["id"]))
    return 202, file_json(doc)


def files_api(method: str, rest: str, body: Any, query: dict[str, str]) -> tuple[int, Any]:
    if rest == "/":
        if not query.get("limit", "1").isdigit():
            raise ApiError(400, "limit must be an integer")
        return 200, {"items": [file_json(d) for d in FILES.values()], "total": len(FILES)}
    doc = FILES.get(rest.strip("/"))
    if doc is None:
        raise ApiError(404, "no such file")
    if method == "PATCH":
        if not body.get("name"):
            raise ApiError(400, "name required")
        doc["name"] = body["name"]
    if method == "DELETE":
        doc["status"] = "deleting"
        later(lambda: FILES.pop(doc["id"], None))
        return 202, file_json(doc)
    return 200, file_json(doc)


def get_url(query: dict[str, str]) -> tuple[int, Any]:
    if not query.get("id"):
        raise ApiError(400, "id required")
    doc = FILES.get(query["id"])
    if doc is None or doc["status"] == "deleting":
        raise ApiError(404, "no such file")
    if not doc["replicas"]:
        raise ApiError(409, "no replica yet")
    account = doc["replicas"][next(TURN) % len(doc["replicas"])]
    DOWNLOADS[doc["id"]] = DOWNLOADS.get(doc["id"], 0) + 1
    DOWNLOADS[account] = DOWNLOADS.get(account, 0) + 1
    return 200, {"url": f"http://drive/uc?id=d-{account}", "file_id": doc["id"],
                 "account_id": account, "name": doc["name"], "size": doc["size"],
                 "event_id": uuid.uuid4().hex}


def redirect(method: str, rest: str) -> tuple[int, dict[str, str]]:
    """The download redirector: 302 and its headers; a GET counts like get-url, HEAD not."""
    file_id = rest.strip("/").split("/")[0]
    doc = FILES.get(file_id)
    if doc is None or doc["status"] == "deleting":
        raise ApiError(404, "no such file")
    if not doc["replicas"]:
        raise ApiError(409, "no replica yet")
    if method == "GET":
        _status, chosen = get_url({"id": file_id})
        account = chosen["account_id"]
    else:
        account = doc["replicas"][0]
    others = [a for a in doc["replicas"] if a != account]
    headers = {"Location": f"http://drive/uc?id=d-{account}", "Repr-Digest": "sha-256=:AA==:"}
    if others:
        headers["Link"] = ", ".join(f"<http://drive/uc?id=d-{a}>; rel=duplicate; pri={n}"
                                    for n, a in enumerate(others, start=2))
    return 302, headers


def stats_row(key: str, id_field: str) -> dict[str, Any]:
    n = DOWNLOADS.get(key, 0)
    return {id_field: key, "downloads": n, "mb_today": n * 0.001, "mb_total": n * 0.001}


def reports(name: str, rest: str, body: Any, query: dict[str, str]) -> tuple[int, Any]:
    key = rest.strip("/")
    if name == "stats-summary":
        return 200, {"computed_at": "2026-01-01T00:00:00Z"}
    if name == "stats-compute":
        if not isinstance(body.get("events"), list):
            raise ApiError(400, "events must be a list")
        return 200, {"ok": True}
    if name == "downloader-sync":
        items = [{"file_id": f, "account_id": a, "url": "u"} for f, d in FILES.items()
                 for a in d["replicas"] if query.get("file_id", f) == f
                 and query.get("account_id", a) == a]
        return 200, {"items": items}
    table, id_field = (FILES, "file_id") if name == "file-stats" else (ACCOUNTS, "account_id")
    if not key:
        return 200, {"items": [stats_row(k, id_field) for k in table]}
    if key not in table:
        raise ApiError(404, "unknown")
    return 200, stats_row(key, id_field)


def dispatch(method: str, path: str, headers: Any, raw: bytes) -> tuple[int, Any]:
    parts = urlsplit(path)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    is_json = "application/json" in headers.get("Content-Type", "")
    if raw and not is_json and "multipart" not in headers.get("Content-Type", ""):
        raise ApiError(415, "send JSON with Content-Type: application/json")
    if parts.path == "/_emulator/accounts" and json.loads(raw or b"{}").get("kind") == "user":
        return 201, {"type": "authorized_user", "client_id": "c", "client_secret": "s",
                     "refresh_token": f"1//{uuid.uuid4().hex}",
                     "account": f"u-{uuid.uuid4().hex[:8]}@gmail.example"}
    if parts.path == "/_emulator/accounts":
        email = f"sa-{uuid.uuid4().hex[:8]}@emulator.iam.gserviceaccount.com"
        pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        return 201, {"type": "service_account", "client_email": email, "private_key_id": "k",
                     "private_key": pem}
    match = re.fullmatch(r"/function/([a-z-]+)(/.*)?", parts.path)
    if not match:
        raise ApiError(404, "no such route")
    name, rest = match.group(1), match.group(2) or "/"
    if rest == "/_/health":
        return 200, {"status": "ok"}
    if rest == "/_/metrics":
        return 200, "fileserver_requests_total 1\n"
    body = json.loads(raw) if raw and is_json else {}
    admin_only = ("drive-accounts", "downloader-sync", "upload-file")
    if name in admin_only or (name == "files" and method != "GET"):
        need_admin(headers)
    if name == "upload-file":
        return upload(headers, raw, query)
    handlers = {"drive-accounts": accounts_api, "files": files_api}
    if name in handlers:
        return handlers[name](method, rest, body, query)
    return get_url(query) if name == "get-url" else reports(name, rest, body, query)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.startswith("/function/download/") and "/_/" not in self.path:
            return self._redirect()
        try:
            with LOCK:
                status, data = dispatch(self.command, self.path, self.headers, raw)
        except ApiError as exc:
            status, data = exc.status, {"error": {"code": exc.status, "message": str(exc)}}
        except ValueError as exc:
            status, data = 400, {"error": {"code": 400, "message": str(exc)}}
        out = data.encode() if isinstance(data, str) else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _redirect(self) -> None:
        try:
            with LOCK:
                status, headers = redirect(self.command, self.path[len("/function/download"):])
            body = b""
        except ApiError as exc:
            status, headers = exc.status, {"Content-Type": "application/json"}
            body = json.dumps({"error": {"code": exc.status, "message": str(exc)}}).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    TOKEN = sys.argv[2]
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
