"""Answer a clear 503 with ``Retry-After`` when a backing service (a database) is down,
instead of a bare 500: clients and the gateway can tell "retry shortly" from a bug."""

from __future__ import annotations

import logging

from flask import Flask, Response

from fileserver.runtime.app import error_response

log = logging.getLogger("fileserver.runtime")
RETRY_AFTER_SECONDS = "5"


def outage_as_503(app: Flask, errors: tuple[type[BaseException], ...], code: str,
                  message: str) -> Flask:
    """Map ``errors`` raised by any route of ``app`` to 503 ``code``; nothing is cached on
    failure, so the next request reconnects."""

    def _outage(exc: BaseException) -> Response:
        log.error("%s: %s", code, type(exc).__name__)
        return error_response(503, code, message, headers={"Retry-After": RETRY_AFTER_SECONDS})

    for error in errors:
        app.register_error_handler(error, _outage)
    return app
