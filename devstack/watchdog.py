"""Run a function behind the real of-watchdog exactly as the template's image runs it.

The environment is read from ``template/fileserver-python/Dockerfile`` (its ``ENV`` lines:
``fprocess``, ``mode``, ``upstream_url``, timeouts, ``ready_path``) and from the function's
entry in ``stack.yml`` (``environment_file`` resolved against stack.yml's folder, then
``environment``), never restated here; only what differs outside a container is changed:
the handler folder (``/home/app/function``), the ports, the Python executable and the folder
for the watchdog's lock file (``TMPDIR``). Used by the local stack (``STACK_WATCHDOG``) and
the tests with the real binary (tests/integration/openfaas/).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "template" / "fileserver-python" / "Dockerfile"
STACK_FILE = REPO_ROOT / "stack.yml"
IMAGE_FUNCTION_DIR = "/home/app/function"
IMAGE_UPSTREAM_PORT = 5000
SHARED_TOOLS = REPO_ROOT.parent / "shared" / "tools" / "openfaas" / "bin"


def dockerfile_env(text: str | None = None) -> dict[str, str]:
    """The ``ENV a="x" \\ b="y"`` instructions of the template's Dockerfile, as a dict."""
    joined = (text if text is not None else DOCKERFILE.read_text()).replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", joined, flags=re.MULTILINE):
        env.update(re.findall(r'(\w+)="?([^"\s]*(?:\s[^"=\s]+)*)"?(?:\s|$)', line))
    return env


def stack_function_env(name: str, stack_file: Path = STACK_FILE) -> dict[str, str]:
    """What faas-cli gives function ``name``: its environment_file(s), then its environment.
    {} for a function stack.yml does not deploy (the local stack's echo)."""
    spec = (yaml.safe_load(stack_file.read_text())["functions"] or {}).get(name)
    if spec is None:
        return {}
    env: dict[str, str] = {}
    for path in spec.get("environment_file") or []:
        env.update(yaml.safe_load((stack_file.parent / path).read_text())["environment"])
    env.update(spec.get("environment") or {})
    return {key: str(value) for key, value in env.items()}


def watchdog_env(name: str, function_dir: Path, port: int, upstream_port: int,
                 metrics_port: int, lock_dir: Path, stack_file: Path = STACK_FILE,
                 python: str = sys.executable) -> dict[str, str]:
    """The environment to start ``fwatchdog`` with for function ``name`` (see the module)."""
    env = {**dockerfile_env(), **stack_function_env(name, stack_file)}
    fprocess = env["fprocess"].replace(IMAGE_FUNCTION_DIR, str(function_dir))
    fprocess = fprocess.replace(f"--port {IMAGE_UPSTREAM_PORT}", f"--port {upstream_port}")
    argv = fprocess.split()
    if argv[0] == "python":
        argv[0] = python
    env.update({
        "fprocess": " ".join(argv),
        "upstream_url": env["upstream_url"].replace(f":{IMAGE_UPSTREAM_PORT}", f":{upstream_port}"),
        "port": str(port), "metrics_port": str(metrics_port), "TMPDIR": str(lock_dir),
        "FUNCTION_NAME": name,
    })
    return env


def shared_watchdog() -> Path | None:
    """``../shared/tools/openfaas/bin/fwatchdog`` beside the repository, if it is there."""
    path = SHARED_TOOLS / "fwatchdog"
    return path if path.is_file() else None
