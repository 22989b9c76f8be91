"""Which gateway to talk to and with which admin token.

Gateway: ``--gateway``, else ``GATEWAY_URL``, else the local stack's ``stack.json``
(``STACK_DIR``, default ``.stack/``), else ``http://127.0.0.1:8080``.
Token: ``--token``, else ``FILESERVER_ADMIN_TOKEN``, else the local stack's secret, but only
when the gateway is that local stack's (a local token is never sent to another server).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_GATEWAY = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Target:
    gateway: str
    token: str | None


def local_stack_info() -> dict[str, Any]:
    """The running local stack's ``stack.json``, or ``{}`` (not installed, not running)."""
    try:
        from devstack.config import StackConfig
        from devstack.stack import Stack
    except ImportError:
        return {}
    info = Stack(StackConfig.from_env()).info()
    return info if info.get("state") == "ready" else {}


def resolve(gateway: str | None, token: str | None) -> Target:
    local = local_stack_info()
    local_gateway = local.get("gateway_url")
    chosen = (gateway or os.environ.get("GATEWAY_URL") or local_gateway or DEFAULT_GATEWAY)
    chosen = chosen.rstrip("/")
    chosen_token = token or os.environ.get("FILESERVER_ADMIN_TOKEN") or None
    if chosen_token is None and local_gateway and chosen == local_gateway.rstrip("/"):
        chosen_token = _read_token(local.get("admin_token_file"))
    return Target(chosen, chosen_token)


def _read_token(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text().strip() or None
    except OSError:
        return None
