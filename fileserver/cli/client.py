"""A thin HTTP client of the OpenFaaS gateway (``/function/NAME/...``) for the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from fileserver.cli.errors import api_error, unreachable
from fileserver.cli.target import Target

PAGE = 500  # the functions' largest page (fileserver.runtime.requests.MAX_PAGE_SIZE)


class GatewayClient:
    def __init__(self, target: Target, timeout: float = 30) -> None:
        self.gateway = target.gateway
        self.has_token = bool(target.token)
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "fileserver-cli"
        if target.token:
            self.http.headers["Authorization"] = f"Bearer {target.token}"

    def url(self, function: str, path: str = "/") -> str:
        return f"{self.gateway}/function/{function}{path}"

    def call(self, method: str, function: str, path: str = "/", **kwargs: Any) -> Any:
        """One request; a JSON answer, or a ``CliError`` with a clear message and exit code."""
        url = self.url(function, path)
        kwargs.setdefault("timeout", self.timeout)
        try:
            resp = self.http.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise unreachable(url, exc) from None
        if resp.status_code >= 400:
            raise api_error(resp, self.has_token)
        return resp.json() if resp.content else None

    def list_all(self, function: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list (``{"items", "total"}``), page by page."""
        return list(self.iter_items(function, params))

    def iter_items(self, function: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.call("GET", function, params={**params, "limit": PAGE, "offset": offset})
            items = page.get("items", [])
            yield from items
            offset += len(items)
            if not items or offset >= page.get("total", offset):
                return
