"""Fault injection per account and API method, and the injectable clock.

Rules live in memory (a test sets them; a restart clears them). A rule:
``{"method": "files.copy" | "*", "error": KIND, "rate": 0.3, "times": 2, "latency_ms": 50,
"retry_after": 1}``; ``rate`` defaults to 1, ``times`` (optional) limits how many calls fail.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

from emulators.drive.errors import DriveApiError, bad_request, storage_quota_exceeded

ERROR_KINDS = {
    "rateLimitExceeded": (403, "rateLimitExceeded", "Rate Limit Exceeded"),
    "userRateLimitExceeded": (403, "userRateLimitExceeded", "User Rate Limit Exceeded"),
    "429": (429, "rateLimitExceeded", "Too Many Requests"),
    "500": (500, "backendError", "Internal Error"),
    "503": (503, "backendError", "Service Unavailable"),
}
KINDS = {*ERROR_KINDS, "storageQuotaExceeded", "drop", "none"}


class DropConnection(Exception):
    """Close the client's connection mid-request (a dropped upload)."""


class Clock:
    """Wall-clock time plus an offset an admin can set (to reach the next UTC day)."""

    def __init__(self) -> None:
        self.offset_seconds = 0.0

    def now(self) -> float:
        return time.time() + self.offset_seconds

    def utc_day(self) -> str:
        return datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%d")


def validate_rule(rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict) or not isinstance(rule.get("method", "*"), str):
        raise bad_request("a fault rule is an object with a string 'method'")
    kind = rule.get("error", "none")
    if kind not in KINDS:
        raise bad_request(f"unknown fault error {kind!r}; one of {sorted(KINDS)}")
    rate, times = rule.get("rate", 1.0), rule.get("times")
    latency, retry_after = rule.get("latency_ms", 0), rule.get("retry_after")
    if not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise bad_request("fault 'rate' must be a number in [0, 1]")
    for name, value in (("times", times), ("retry_after", retry_after)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise bad_request(f"fault {name!r} must be a non-negative integer")
    if not isinstance(latency, int) or not 0 <= latency <= 60000:
        raise bad_request("fault 'latency_ms' must be an integer in [0, 60000]")
    return {"method": rule.get("method", "*"), "error": kind, "rate": float(rate),
            "times": times, "latency_ms": latency, "retry_after": retry_after}


class Faults:
    """The rules per account email; ``check`` raises the injected error, if any."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def set(self, email: str, rules: list[Any]) -> list[dict[str, Any]]:
        checked = [validate_rule(rule) for rule in rules]
        with self._lock:
            self._rules[email] = checked
        return checked

    def get(self, email: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(rule) for rule in self._rules.get(email, [])]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def check(self, email: str, method: str) -> None:
        rule = self._pick(email, method)
        if rule is None:
            return
        if rule["latency_ms"]:
            time.sleep(rule["latency_ms"] / 1000)
        raise_fault(rule)

    def _pick(self, email: str, method: str) -> dict[str, Any] | None:
        with self._lock:
            for rule in self._rules.get(email, []):
                if rule["method"] not in ("*", method) or rule["times"] == 0:
                    continue
                if self._random.random() >= rule["rate"]:
                    continue
                if rule["times"] is not None:
                    rule["times"] -= 1
                return dict(rule)
        return None


def raise_fault(rule: dict[str, Any]) -> None:
    kind = rule["error"]
    if kind == "none":
        return
    if kind == "drop":
        raise DropConnection()
    if kind == "storageQuotaExceeded":
        raise storage_quota_exceeded()
    status, reason, message = ERROR_KINDS[kind]
    headers = {"Retry-After": str(rule["retry_after"])} if rule["retry_after"] is not None else {}
    raise DriveApiError(status, reason, message, headers)
