"""Exit codes and the errors the CLI turns into one clear line on stderr (no traceback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

EXIT_OK = 0
EXIT_ERROR = 1  # any other API error (5xx, 400, 413, ...)
EXIT_USAGE = 2  # bad arguments or a local file that cannot be read
EXIT_AUTH = 3  # 401/403: missing or wrong admin token
EXIT_NOT_FOUND = 4  # 404
EXIT_CONFLICT = 5  # 409: e.g. no replica yet, name taken, being deleted
EXIT_UNAVAILABLE = 6  # 503/507: quotas, database down, no room or no active account; 429
EXIT_UNREACHABLE = 7  # no answer from the gateway (refused, DNS, timeout)
EXIT_VERIFY = 8  # hash mismatch, replication failed, --wait timed out

TOKEN_HINT = ("pass --token, set FILESERVER_ADMIN_TOKEN, or run next to a local stack "
              "(its token is in .stack/secrets/admin-token)")


class CliError(Exception):
    """An expected failure: printed as one line, ends the command with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.details = details or {}


def unreachable(url: str, exc: requests.RequestException) -> CliError:
    why = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return CliError(f"cannot reach the gateway: {why} for {url} "
                    "(is the stack up? `make up`, or pass --gateway URL)", EXIT_UNREACHABLE,
                    {"url": url})


def api_error(resp: requests.Response, had_token: bool) -> CliError:
    """One clear message per kind of API error, from the ``{"error": {...}}`` body."""
    error = _error_body(resp)
    code, message = error.get("code", f"http_{resp.status_code}"), error.get("message", "")
    details = {"status": resp.status_code, "code": code, "request_id": error.get("request_id")}
    status = resp.status_code
    if status in (401, 403):
        why = "the gateway refused the admin token" if had_token else "no admin token was found"
        return CliError(f"{why} ({status} {code}): {TOKEN_HINT}", EXIT_AUTH, details)
    if status == 404:
        return CliError(f"not found: {message or resp.url}", EXIT_NOT_FOUND, details)
    if status == 409:
        return CliError(f"conflict: {message}", EXIT_CONFLICT, details)
    if status == 507:
        return CliError(f"no room on the Drive accounts: {message}", EXIT_UNAVAILABLE, details)
    if status == 503:
        return CliError(_unavailable(message, resp.headers.get("Retry-After")),
                        EXIT_UNAVAILABLE, details)
    if status == 429:  # the per-client limits of get-url and the redirector
        retry = resp.headers.get("Retry-After", "")
        wait = f"; retry in {format_duration(int(retry))}" if retry.isdigit() else ""
        return CliError(f"too many requests: {message}{wait}", EXIT_UNAVAILABLE, details)
    return CliError(f"{status} {code}: {message or resp.reason} "
                    f"(request id {details['request_id']})", EXIT_ERROR, details)


def _unavailable(message: str, retry_after: str | None) -> str:
    if not retry_after or not retry_after.isdigit():
        return f"service unavailable: {message}"
    seconds = int(retry_after)
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return (f"service unavailable: {message}; retry in {format_duration(seconds)} "
            f"(at {at:%Y-%m-%d %H:%M} UTC)")


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _error_body(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {"message": resp.text[:200].strip()}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}
