"""What ``stack.yml`` declares about each function, read once for the local stack and tests.

Function ownership is declared only there: the ``fileserver.service`` label of each function
(``uploader``, ``downloader`` or ``stats``). The local gateway reports every function's labels
and annotations in ``GET /system/functions`` as OpenFaaS does; tests/unit/test_ownership.py
checks each function's imports against its owner and the README's service table against it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
STACK_FILE = REPO_ROOT / "stack.yml"
SERVICE_LABEL = "fileserver.service"
SERVICES = ("uploader", "downloader", "stats")


@cache
def functions(stack_file: Path = STACK_FILE) -> dict[str, dict[str, Any]]:
    """Every function ``stack.yml`` deploys, by name, as written there."""
    return yaml.safe_load(stack_file.read_text())["functions"] or {}


def owners(stack_file: Path = STACK_FILE) -> dict[str, str]:
    """Function name -> the service that owns it; ValueError for a function without a
    ``fileserver.service`` label naming one of ``SERVICES``."""
    found = {}
    for name, spec in functions(stack_file).items():
        owner = (spec.get("labels") or {}).get(SERVICE_LABEL)
        if owner not in SERVICES:
            raise ValueError(f"stack.yml: function {name} needs a label {SERVICE_LABEL} "
                             f"naming one of {', '.join(SERVICES)} (it has {owner!r})")
        found[name] = owner
    return found


def metadata(name: str, stack_file: Path = STACK_FILE) -> dict[str, dict[str, str]]:
    """``{"labels", "annotations"}`` of function ``name`` as strings (empty for a function
    stack.yml does not deploy, such as the local stack's echo)."""
    spec = functions(stack_file).get(name) or {}
    return {key: {str(k): str(v) for k, v in (spec.get(key) or {}).items()}
            for key in ("labels", "annotations")}
