"""Typed errors that know their HTTP status and stable machine-readable code.

Services raise these; the function runtime turns them into JSON bodies of the form
``{"error": {"code": ..., "message": ..., "request_id": ...}}``.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class ConfigError(AppError):
    status = 500
    code = "config_error"


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unprocessable(AppError):
    """Well-formed, but Google says it cannot work (e.g. a service account without storage)."""

    status = 422
    code = "unprocessable"


class InsufficientStorage(AppError):
    """The Drive accounts have no room for this upload."""

    status = 507
    code = "insufficient_storage"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"


class UpstreamError(AppError):
    """Another service of ours answered with an error or could not be reached."""

    status = 502
    code = "upstream_error"
