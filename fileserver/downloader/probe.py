"""One probe of a replica, the way a user's download would meet it: ``GET`` of the handed-out
link with ``Range: bytes=0-0``, redirects followed (``/uc`` -> the usercontent host), and
Google's HTML pages recognised (the shapes in emulators/drive/pages.py, sources in
docs/drive.md):

- the bytes (206, or 200 that is not one of Google's pages): ``ok``;
- the "Too many users have viewed or downloaded this file recently" page (403), or any
  other 403 or 401: ``blocked`` (reason ``download_quota``, ``forbidden``);
- 404 or 410: ``missing``;
- the virus-scan warning page: its ``download-form`` is submitted once (as the
  "Download anyway" button does) and that answer decides;
- a Google sign-in page (the link is not public any more): ``blocked`` (``not_public``);
- 429, 5xx, a timeout or a refused connection: inconclusive (``state`` None), nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlencode, urljoin, urlsplit

import requests

QUOTA_MARKER = "Too many users have viewed or downloaded this file recently"
WARNING_MARKERS = ("can't scan this file for viruses", "can&#39;t scan this file for viruses")
MAX_PAGE_BYTES = 256 * 1024
FORM = re.compile(r'<form[^>]*id="download-form"[^>]*action="([^"]*)"[^>]*>(.*?)</form>',
                  re.S | re.I)
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]*)"[^>]*value="([^"]*)"', re.I)


@dataclass(frozen=True)
class ProbeResult:
    state: str | None  # ok | blocked | missing; None: inconclusive
    reason: str | None
    status: int | None = None


def probe(session: requests.Session, url: str, timeout: float = 10.0) -> ProbeResult:
    """Probe ``url`` (at most one warning-page form submitted)."""
    try:
        result, form = _get(session, url, timeout)
        if form is not None:
            result, _ = _get(session, form, timeout)
    except requests.RequestException as exc:
        return ProbeResult(None, f"unreachable ({type(exc).__name__})")
    return result


def _get(session: requests.Session, url: str,
         timeout: float) -> tuple[ProbeResult, str | None]:
    """The result of one GET, or (for the warning page) the form's URL to follow."""
    with session.get(url, headers={"Range": "bytes=0-0"}, allow_redirects=True, stream=True,
                     timeout=timeout) as response:
        status = response.status_code
        html = "html" in response.headers.get("Content-Type", "") and status != 206
        page = _read_page(response) if html else ""
        if html and status == 200 and any(marker in page for marker in WARNING_MARKERS):
            form = warning_form(page, response.url)
            if form is not None:
                return ProbeResult(None, "warning page", status), form
        return classify(status, page, response.url), None


def classify(status: int, page: str, final_url: str) -> ProbeResult:
    """What an answer says about the replica (``page``: its HTML, empty if not HTML)."""
    if status in (404, 410):
        return ProbeResult("missing", "not_found", status)
    if QUOTA_MARKER in page:
        return ProbeResult("blocked", "download_quota", status)
    if status in (401, 403):
        return ProbeResult("blocked", "forbidden", status)
    if status == 429 or status >= 500:
        return ProbeResult(None, f"http {status}", status)
    if status >= 400:
        return ProbeResult("blocked", f"http_{status}", status)
    if page and urlsplit(final_url).hostname == "accounts.google.com":
        return ProbeResult("blocked", "not_public", status)
    return ProbeResult("ok", None, status)


def warning_form(page: str, base_url: str) -> str | None:
    """The URL the warning page's "Download anyway" form submits to (hidden fields in the
    query), or None if the page has no such form."""
    match = FORM.search(page)
    if match is None:
        return None
    action = urljoin(base_url, unescape(match.group(1)))
    fields = [(unescape(name), unescape(value)) for name, value in HIDDEN.findall(match.group(2))]
    separator = "&" if "?" in action else "?"
    return f"{action}{separator}{urlencode(fields)}" if fields else action


def _read_page(response: requests.Response) -> str:
    body = b""
    for chunk in response.iter_content(16384):
        body += chunk
        if len(body) >= MAX_PAGE_BYTES:
            break
    return body.decode("utf-8", "replace")
