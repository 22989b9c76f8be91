"""What the runner passes to a plan: target URLs, the admin token, load shape, upload files."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_GATEWAY = "http://127.0.0.1:8080"
DEFAULT_EMULATOR = "http://127.0.0.1:19070"
# Upload sizes (bytes) the plans send: several sizes exercise streaming and replication.
UPLOAD_SIZES = {"file_small": 1024, "file_medium": 256 * 1024, "file_large": 2 * 1024 * 1024}


def plan_path(plan: str, jmeter_dir: Path) -> Path:
    """``functional``/``load`` → the plan shipped in ``jmeter/``; anything else is a path."""
    named = jmeter_dir / f"{plan}.jmx"
    return named if named.exists() else Path(plan).resolve()


def upload_files(folder: Path) -> dict[str, str]:
    """Random files of :data:`UPLOAD_SIZES` in ``folder``: property name → absolute path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, size in UPLOAD_SIZES.items():
        path = folder / f"{name}.bin"
        path.write_bytes(os.urandom(size))
        paths[name] = str(path.resolve())
    return paths


def oversized_file(folder: Path, limit: int) -> dict[str, str]:
    """A (sparse) file one byte over ``limit`` for the 413 check, and the flag enabling it."""
    path = folder / "file_too_big.bin"
    with path.open("wb") as handle:
        handle.truncate(limit + 1)
    return {"file_too_big": str(path.resolve()), "check_413": "true"}


def stack_dir() -> Path:
    return Path(os.environ.get("STACK_DIR") or Path.cwd() / ".stack")


def stack_token(folder: Path) -> str:
    """The local stack's admin token, or '' when there is no local stack."""
    path = folder / "secrets" / "admin-token"
    return path.read_text().strip() if path.exists() else ""


def stack_url(folder: Path, names: tuple[str, ...]) -> str:
    """URL of the first of ``names`` in ``stack.json``, else from ``config.json``'s ports."""
    for name in names:
        info = _components(folder).get(name)
        if isinstance(info, dict) and info.get("url"):
            return str(info["url"])
    try:
        ports = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return ""
    port = next((ports[n] for n in names if isinstance(ports.get(n), int)), None)
    return f"http://127.0.0.1:{port}" if port else ""


def _components(folder: Path) -> dict[str, object]:
    """``stack.json``'s components by name (a mapping or a list of ``{"name", ...}``)."""
    try:
        data = json.loads((folder / "stack.json").read_text())
    except (OSError, ValueError):
        return {}
    components = data.get("components", data) if isinstance(data, dict) else data
    if isinstance(components, list):
        return {str(c.get("name")): c for c in components if isinstance(c, dict)}
    return components if isinstance(components, dict) else {}


def _split(prefix: str, url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SystemExit(f"error: not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {prefix: url.rstrip("/"), f"{prefix}_protocol": parts.scheme,
            f"{prefix}_host": parts.hostname, f"{prefix}_port": str(port)}


def plan_properties(args: argparse.Namespace, files: dict[str, str]) -> dict[str, str]:
    """Every ``-J`` property of a run (the plans read them with ``__P``)."""
    folder = stack_dir()
    gateway = args.gateway or stack_url(folder, ("gateway",)) or DEFAULT_GATEWAY
    emulator = (args.emulator or stack_url(folder, ("drive-emulator", "emulator", "drive"))
                or DEFAULT_EMULATOR)
    props = {**_split("gateway", gateway), **_split("emulator", emulator), **files}
    props.update(token=args.token or stack_token(folder), threads=str(args.threads),
                 ramp=str(args.ramp), duration=str(args.duration), accounts=str(args.accounts),
                 writer_threads=str(max(1, args.threads // 10)), max_ms=str(args.max_ms))
    props.update(item.split("=", 1) for item in args.extra)
    return props
