"""The download redirector's HTTP answers: 302 with RFC 6249 ``Link``/``Digest`` headers,
Metalink, the link to the redirector itself, and short HTML error pages for browsers."""

from __future__ import annotations

import base64
import functools
import json
import re
from html import escape
from urllib.parse import quote

from flask import Flask, Response, request
from werkzeug.datastructures import Headers
from werkzeug.urls import iri_to_uri

from fileserver.config import setting
from fileserver.downloader.metalink import MEDIA_TYPE, metalink
from fileserver.downloader.redirector import Redirect

NO_STORE = "private, no-store"  # every GET books a download: never answered from a cache


def digest_headers(sha256: str | None, md5: str | None) -> dict[str, str]:
    """``Repr-Digest`` (RFC 9530) and the older ``Digest`` (RFC 3230, as RFC 6249 uses it)."""
    return dict(_digests(sha256, md5))


@functools.lru_cache(maxsize=4096)  # a file's hashes never change: computed once per file
def _digests(sha256: str | None, md5: str | None) -> tuple[tuple[str, str], ...]:
    if not sha256:
        return ()
    sha = base64.b64encode(bytes.fromhex(sha256)).decode()
    legacy = f"SHA-256={sha}"
    if md5:
        legacy += f", MD5={base64.b64encode(bytes.fromhex(md5)).decode()}"
    return ("Repr-Digest", f"sha-256=:{sha}:"), ("Digest", legacy)


@functools.lru_cache(maxsize=65536)  # the replicas' links repeat on every redirect
def _uri(url: str) -> str:
    """``url`` as werkzeug sends a ``Location`` (``iri_to_uri``)."""
    return iri_to_uri(url)


class FinalHeaders(Response):
    """A response whose headers are what goes on the wire once built: ``Location`` already
    a URI and ``Content-Length`` set (by the body), and no status whose headers werkzeug
    trims. werkzeug's copy and second check of every header per response is skipped (on a
    302 with its ``Link`` headers that was a tenth of the redirector's CPU per request)."""

    def get_wsgi_headers(self, environ: dict) -> Headers:  # noqa: ARG002 - werkzeug's API
        return self.headers


def redirect_response(found: Redirect) -> Response:
    """302 to the chosen replica; the other holders as ``Link: <url>; rel=duplicate; pri=N``
    (RFC 6249; pri 1 is the Location)."""
    body = f'<a href="{escape(found.location.url)}">{escape(found.name)}</a>\n'
    response = FinalHeaders(body, status=302, mimetype="text/html")
    headers = response.headers
    headers["Location"] = _uri(found.location.url)
    for pri, holder in enumerate(found.duplicates, start=2):
        headers.add("Link", f"<{holder.url}>; rel=duplicate; pri={pri}")
    headers.extend(_digests(found.sha256, found.md5))
    headers["Cache-Control"] = NO_STORE
    headers["X-Account-Id"] = found.location.account_id
    return response


def wants_metalink() -> bool:
    """``?metalink``, or ``Accept`` naming application/metalink4+xml itself (not ``*/*``)."""
    environ = request.environ
    query = environ.get("QUERY_STRING", "")
    if "metalink" not in query and "%" not in query and \
            "metalink" not in environ.get("HTTP_ACCEPT", "").lower():
        return False  # the common case, without parsing the query and Accept
    return "metalink" in request.args or \
        any(value == MEDIA_TYPE and quality > 0 for value, quality in request.accept_mimetypes)


def metalink_response(found: Redirect, published) -> Response:  # noqa: ANN001 - a datetime
    urls = [found.location.url] + [holder.url for holder in found.duplicates]
    document = metalink(found.name, found.size, urls, published, found.sha256, found.md5)
    response = Response(document, status=200, mimetype=MEDIA_TYPE)
    response.headers["Content-Disposition"] = \
        f"attachment; filename*=UTF-8''{quote(found.name + '.meta4')}"
    # No Digest/Repr-Digest here: they would describe this document, not the file (aria2
    # checks a Digest header against what it received, and so rejected the Metalink).
    response.headers["Cache-Control"] = NO_STORE
    return response


def redirector_link(file_id: str, name: str) -> str:
    """``{public root}/function/download/ID/NAME``: the name at the end makes ``curl -O``,
    ``wget`` and browsers save the file under its own name. The root is ``PUBLIC_URL`` if
    set, else ``public_root()``."""
    root = setting("PUBLIC_URL", "").rstrip("/") or public_root()
    return f"{root}/function/download/{quote(file_id)}/{quote(name)}"


_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def public_root() -> str:
    """The address the client called: the OpenFaaS gateway (and the local one) sends the
    function its own upstream address as ``Host`` and the client's as ``X-Forwarded-Host``
    (the first one, if proxies added more), so that one is taken when it is a plain
    ``host[:port]``; ``X-Forwarded-Proto`` (``http``/``https``) gives the scheme. Without
    those headers, the request's own host."""
    forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    if not _HOST.fullmatch(forwarded):
        return request.host_url.rstrip("/")
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    scheme = proto if proto in ("http", "https") else request.scheme
    return f"{scheme}://{forwarded}"


_PAGES = {404: "File not found", 409: "Not ready yet", 503: "Try again later"}


def html_error_pages(app: Flask) -> Flask:
    """A browser (``Accept`` prefers text/html) gets a short readable page instead of the
    JSON error, with the same status and headers (``Retry-After`` included)."""

    @app.after_request
    def _as_html(response: Response) -> Response:
        if response.status_code < 400 or response.mimetype != "application/json" or \
                request.accept_mimetypes.best_match(["application/json", "text/html"]) \
                != "text/html":
            return response
        error = json.loads(response.get_data()).get("error", {})
        title = _PAGES.get(response.status_code, "Download failed")
        retry = response.headers.get("Retry-After")
        hint = f"<p>Please try again in {_duration(int(retry))}.</p>" if retry else ""
        page = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
                f"</head><body><h1>{title}</h1><p>{escape(error.get('message', ''))}</p>"
                f"{hint}</body></html>")
        response.set_data(page)
        response.mimetype = "text/html"
        return response

    return app


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours"
