"""The Downloader's report and ingest functions, reached over HTTP through the gateway."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from fileserver.errors import UpstreamError

log = logging.getLogger(__name__)

PAGE_SIZE = 500
MAX_PAGES = 200  # 100,000 accounts: far beyond any plan, but bounded
# Both calls are safe to repeat (a read; an ingest refused by event id), so a brief
# outage of the Downloader is retried here instead of losing the batch.
RETRY_DELAYS = (0.2, 0.5, 1.0)
RETRYABLE_STATUS = {429, 502, 503, 504}


class DownloaderClient:
    """``GET /function/account-stats`` (paged) and ``POST /function/stats-ingest`` (admin)."""

    def __init__(self, gateway_url: str, admin_token: str, timeout: float = 10.0,
                 session: requests.Session | None = None,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.timeout = timeout
        self.retry_delays = retry_delays
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {admin_token}"

    def _call(self, method: str, function: str, **kwargs: Any) -> dict[str, Any]:
        for delay in self.retry_delays:
            try:
                return self._call_once(method, function, **kwargs)
            except UpstreamError as exc:
                if not (exc.details.get("unreachable")
                        or exc.details.get("status") in RETRYABLE_STATUS):
                    raise
                log.warning("%s: %s; retrying in %.1fs", function, exc.message, delay)
                time.sleep(delay)
        return self._call_once(method, function, **kwargs)

    def _call_once(self, method: str, function: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.gateway_url}/function/{function}"
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise UpstreamError(f"{function} is unreachable: {type(exc).__name__}",
                                details={"function": function, "unreachable": True}) from exc
        if response.status_code >= 400:
            raise UpstreamError(f"{function} answered {response.status_code}",
                                details={"function": function, "status": response.status_code})
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamError(f"{function} answered a body that is not JSON") from exc
        if not isinstance(body, dict):
            raise UpstreamError(f"{function} answered JSON that is not an object")
        return body

    def account_rows(self) -> list[dict[str, Any]]:
        """Every account row of ``account-stats``, paging ``limit``/``offset`` until done."""
        rows: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            body = self._call("GET", "account-stats",
                              params={"limit": PAGE_SIZE, "offset": page * PAGE_SIZE})
            items = body.get("items")
            if not isinstance(items, list):
                raise UpstreamError("account-stats answered without an items list")
            rows.extend(item for item in items if isinstance(item, dict))
            total = body.get("total")
            if len(items) < PAGE_SIZE or (isinstance(total, int) and len(rows) >= total):
                break
        return rows

    def ingest(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST increments and/or a summary; the Downloader answers what it stored or refused."""
        return self._call("POST", "stats-ingest", json=payload)
