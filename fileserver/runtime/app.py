"""Build a Flask app for one function: JSON errors, request ids, health and metrics routes."""

from __future__ import annotations

import logging
import os
import time
import uuid

from flask import Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException

from fileserver.errors import AppError
from fileserver.runtime import metrics

log = logging.getLogger("fileserver.runtime")

HEALTH_PATH = "/healthz"
METRICS_PATH = "/_/metrics"


def function_name(handler_file: str) -> str:
    """The name a handler's function goes by: ``FUNCTION_NAME`` if set, else the handler's
    folder (``functions/NAME/handler.py``, ``faas-cli new NAME``); inside the image, where the
    folder is ``function``, that is the hostname (faasd names a function's container after it)."""
    if os.environ.get("FUNCTION_NAME"):
        return os.environ["FUNCTION_NAME"]
    folder = os.path.basename(os.path.dirname(os.path.abspath(handler_file)))
    return folder if folder != "function" else (os.uname().nodename or "function")


def function_app(name: str) -> Flask:
    """Return the Flask app for function ``name``; the handler adds its routes to it."""
    app = Flask(name)
    app.config["FUNCTION_NAME"] = name
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.strict_slashes = False
    _install_request_hooks(app, name)
    _install_error_handlers(app)
    app.add_url_rule(HEALTH_PATH, "health", lambda: jsonify(status="ok", function=name))
    app.add_url_rule(METRICS_PATH, "metrics", _metrics_view)
    return app


def _metrics_view() -> Response:
    return Response(generate_latest(metrics.registry()), mimetype=CONTENT_TYPE_LATEST)


def _install_request_hooks(app: Flask, name: str) -> None:
    @app.before_request
    def _start() -> None:
        # OpenFaaS sets X-Call-Id on every invocation; reuse it so logs line up end to end.
        g.request_id = (request.headers.get("X-Request-Id") or request.headers.get("X-Call-Id")
                        or uuid.uuid4().hex)
        g.started = time.perf_counter()
        if request.path not in (HEALTH_PATH, METRICS_PATH):
            metrics.IN_FLIGHT.labels(name).inc()
            g.counted = True

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if g.pop("counted", False):
            route = request.url_rule.rule if request.url_rule else "unmatched"
            elapsed = time.perf_counter() - g.started
            metrics.IN_FLIGHT.labels(name).dec()
            metrics.REQUESTS.labels(name, route, request.method, str(response.status_code)).inc()
            metrics.LATENCY.labels(name, route).observe(elapsed)
            log.info("%s %s %s %d %.1fms id=%s", name, request.method, request.path,
                     response.status_code, elapsed * 1000, g.request_id)
        return response


def error_response(status: int, code: str, message: str, details: dict | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "request_id": g.get("request_id")}}
    if details:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> Response:
        if exc.status >= 500:
            log.error("%s: %s id=%s", exc.code, exc.message, g.get("request_id"))
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        allowed = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        return error_response(exc.code or 500, code, exc.description or exc.name, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error id=%s", g.get("request_id"))
        return error_response(500, "internal_error", "internal error")
