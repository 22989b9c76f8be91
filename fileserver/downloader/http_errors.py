"""Map database outages to a clear 503 in the Downloader's functions (instead of a bare 500)."""

from __future__ import annotations

import logging

from flask import Flask, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from fileserver.runtime.app import error_response

log = logging.getLogger("fileserver.downloader")
RETRY_AFTER_SECONDS = "5"


def database_outage_as_503(app: Flask) -> Flask:
    """Answer 503 ``database_unavailable`` with ``Retry-After`` when PostgreSQL is unreachable
    or the pool is exhausted; the next request reconnects (nothing is cached on failure)."""

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def _outage(exc: Exception) -> Response:
        log.error("database unavailable: %s", type(exc).__name__)
        return error_response(503, "database_unavailable",
                              "the Downloader database is unavailable, retry shortly",
                              headers={"Retry-After": RETRY_AFTER_SECONDS})

    return app
