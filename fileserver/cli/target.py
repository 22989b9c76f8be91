"""Which gateway to talk to and with which admin token.

Gateway: ``--gateway``, else ``GATEWAY_URL``, else the local stack's ``stack.json``
(``STACK_DIR``, default ``.stack/``), else ``http://127.0.0.1:8080``.
Token: ``--token``, else ``FILESERVER_ADMIN_TOKEN``, else the local stack's secret, but only
when the gateway is that local stack's (a local token is never sent to another server).

The local stack is found through the file it writes, not by importing ``devstack`` (the
product never imports the development stack): ``stack.json`` holds ``state``,
``gateway_url`` and ``admin_token_file`` (see ``devstack/supervisor.py``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_GATEWAY = "http://127.0.0.1:8080"
# The local stack's default folder: ``.stack/`` at the repository root, as devstack uses.
DEFAULT_STACK_DIR = Path(__file__).resolve().parents[2] / ".stack"


@dataclass(frozen=True)
class Target:
    gateway: str
    token: str | None


def local_stack_info() -> dict[str, Any]:
    """The running local stack's ``stack.json``, or ``{}`` (not installed, not running)."""
    folder = Path(os.environ.get("STACK_DIR") or DEFAULT_STACK_DIR)
    try:
        info = json.loads((folder / "stack.json").read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) and info.get("state") == "ready" else {}


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
