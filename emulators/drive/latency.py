"""An optional latency model: make the emulator answer in Google's time, not SQLite's.

Off by default (every figure 0). When on, a request waits before its handler runs:
- every Drive API call (``/drive/v3/...``, ``/upload/drive/v3/...``): ``call_ms``;
- ``files.copy``: also the source size / ``copy_mb_s`` (a server-side copy is not instant);
- upload bytes (resumable chunks, media and multipart bodies): body size / ``upload_mb_s``,
  shared by the concurrent uploads of one account (they queue behind each other);
- the OAuth2 token endpoint: ``token_ms``.
Waits are ``time.sleep`` (no CPU), so threads of the WSGI server wait, not the machine.
Set at start (CLI options) or at run time (``PUT /_emulator/latency``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from emulators.drive.errors import DriveApiError, bad_request
from emulators.drive.web import backend, json_object

MB = 1_000_000
blueprint = Blueprint("drive_latency", __name__, url_prefix="/_emulator")


@dataclass
class LatencyModel:
    call_ms: float = 0.0
    copy_mb_s: float = 0.0    # 0 = instant copies
    upload_mb_s: float = 0.0  # per account; 0 = unlimited
    token_ms: float = 0.0

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> LatencyModel:
        names = {f.name for f in fields(cls)}
        unknown = set(body) - names
        if unknown:
            raise bad_request(f"unknown latency settings {sorted(unknown)}; known: "
                              f"{sorted(names)}")
        values = {}
        for name, value in body.items():
            if not isinstance(value, int | float) or isinstance(value, bool) \
                    or not 0 <= value <= 600_000:
                raise bad_request(f"latency {name!r} must be a number in [0, 600000]")
            values[name] = float(value)
        return cls(**values)

    def on(self) -> bool:
        return any(asdict(self).values())


class UploadLanes:
    """Per account, when its upload bandwidth is free again: concurrent uploads queue."""

    def __init__(self) -> None:
        self._free_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait_for(self, account: str, seconds: float) -> float:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._free_at.get(account, now))
            self._free_at[account] = start + seconds
        return start + seconds - now


def model() -> LatencyModel:
    return current_app.config["latency"]


def _copy_seconds(file_id: str, rate: float) -> float:
    row = backend().store.row("SELECT size FROM files WHERE id=?", (file_id,))
    return (row["size"] / (rate * MB)) if row and rate else 0.0


def _upload_seconds(rate: float) -> float:
    if not rate or not request.content_length:
        return 0.0
    account = request.headers.get("Authorization", "")
    with contextlib.suppress(DriveApiError):  # a bad token: the handler answers 401
        account = backend().accounts.email_for_token(account)
    return current_app.config["upload_lanes"].wait_for(account, request.content_length
                                                       / (rate * MB))


def delay_seconds(current: LatencyModel) -> float:
    """How long this request waits under ``current``."""
    path = request.path
    if path == "/token":
        return current.token_ms / 1000
    if not (path.startswith("/drive/v3/") or path.startswith("/upload/drive/v3/")):
        return 0.0
    seconds = current.call_ms / 1000
    if request.endpoint == "drive_api.files_copy":
        seconds += _copy_seconds(request.view_args["file_id"], current.copy_mb_s)
    elif path.startswith("/upload/"):
        seconds += _upload_seconds(current.upload_mb_s)
    return seconds


def _before_request() -> None:
    current = model()
    if current.on():
        wait = delay_seconds(current)
        if wait > 0:
            time.sleep(wait)


def install(app: Flask, initial: LatencyModel | None = None) -> None:
    app.config["latency"] = initial or LatencyModel()
    app.config["upload_lanes"] = UploadLanes()
    app.before_request(_before_request)
    app.register_blueprint(blueprint)


@blueprint.get("/latency")
def latency_get() -> Response:
    return jsonify(asdict(model()))


@blueprint.put("/latency")
def latency_set() -> Response:
    current_app.config["latency"] = LatencyModel.from_body(json_object(optional=False))
    return jsonify(asdict(model()))
