"""Load the deploy artefacts (stack.yml, the compose additions, the template) for the tests."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.unit.deploy.codescan import REPO_ROOT

STACK = REPO_ROOT / "stack.yml"
COMPOSE = REPO_ROOT / "deploy" / "faasd" / "docker-compose.additions.yaml"
GATEWAY_TIMEOUTS = REPO_ROOT / "deploy" / "faasd" / "gateway-timeouts.yaml"
TEMPLATE = REPO_ROOT / "template" / "fileserver-python"
CONTRACTS = REPO_ROOT / "docs" / "CONTRACTS.md"
GUIDE = REPO_ROOT / "docs" / "deploy.md"
PYPROJECT = REPO_ROOT / "pyproject.toml"
FAASD_SECRETS = "/var/lib/faasd-provider/secrets/openfaas-fn/"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@cache
def stack() -> dict[str, Any]:
    return load_yaml(STACK)


def stack_functions() -> dict[str, dict[str, Any]]:
    return stack()["functions"]


def function_env(spec: dict[str, Any]) -> dict[str, str]:
    """What faas-cli gives a function: its environment_file(s), then its own environment."""
    env: dict[str, str] = {}
    for name in spec.get("environment_file", []):
        env.update(load_yaml(REPO_ROOT / name)["environment"])
    env.update(spec.get("environment") or {})
    return {key: str(value) for key, value in env.items()}


@cache
def compose_services() -> dict[str, dict[str, Any]]:
    return load_yaml(COMPOSE)["services"]


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    entries = service.get("environment") or []
    if isinstance(entries, dict):
        return {k: str(v) for k, v in entries.items()}
    return dict(entry.split("=", 1) for entry in entries)


def contract_functions() -> set[str]:
    """Function names listed in docs/CONTRACTS.md's "## Functions" section (`- \\`name\\``)."""
    text = CONTRACTS.read_text()
    section = text.split("## Functions", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `([a-z][a-z-]*)`", section, flags=re.MULTILINE))


def pyproject_pins() -> dict[str, str]:
    """``name==version`` pins of pyproject.toml, by normalised distribution name."""
    return {normalise(name): version for name, version in
            re.findall(r'"([A-Za-z0-9_.-]+)==([^"]+)"', PYPROJECT.read_text())}


def requirement_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalise(name)] = version
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def seconds(go_duration: str) -> float:
    """A Go duration (``60m``, ``5m5s``, ``65s``) in seconds."""
    text = str(go_duration)
    parts = DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Go duration: {go_duration!r}")
    return sum(float(n) * UNIT_SECONDS[u] for n, u in parts)


def host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port
