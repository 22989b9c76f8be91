"""The project's OpenFaaS template: of-watchdog in http mode in front of the project runtime."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests
import yaml

from devstack.process import free_port, stop_pid, wait_until
from devstack.watchdog import dockerfile_env as watchdog_env_of
from tests.unit.deploy.artefacts import (
    REPO_ROOT,
    TEMPLATE,
    pyproject_pins,
    requirement_pins,
    stack_functions,
)
from tests.unit.deploy.codescan import scan_function
from tests.unit.deploy.test_compose import dists_for

DOCKERFILE = (TEMPLATE / "Dockerfile").read_text()


def dockerfile_env() -> dict[str, str]:
    return watchdog_env_of(DOCKERFILE)


def fprocess() -> str:
    return yaml.safe_load((TEMPLATE / "template.yml").read_text())["fprocess"]


def test_watchdog_is_pinned_and_runs_in_http_mode_in_front_of_the_runtime():
    assert re.search(r"COPY --from=watchdog /fwatchdog", DOCKERFILE)
    assert re.search(r"FROM \S*ghcr\.io/openfaas/of-watchdog:\d+\.\d+\.\d+ AS watchdog",
                     DOCKERFILE.replace("--platform=${TARGETPLATFORM:-linux/amd64} ", ""))
    env = dockerfile_env()
    assert env["mode"] == "http"
    assert env["upstream_url"] == "http://127.0.0.1:5000"
    assert env["fprocess"] == fprocess()
    assert fprocess().startswith("python -m fileserver.runtime.serve /home/app/function ")
    assert "--port 5000" in fprocess() and "--host 127.0.0.1" in fprocess()
    # buffering the body would put whole uploads in memory
    assert env.get("http_buffer_req_body", "false") == "false"
    for spec in stack_functions().values():
        assert spec["environment"].get("http_buffer_req_body", "false") == "false"


def test_image_is_slim_and_runs_as_a_user():
    assert re.search(r"^FROM \S* ?python:3\.11-slim", DOCKERFILE, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "--no-cache-dir" in DOCKERFILE


@pytest.mark.parametrize("name", sorted(stack_functions()))
def test_requirements_cover_the_functions_imports_pinned_as_pyproject(name):
    pins = requirement_pins(TEMPLATE / "requirements.txt")
    pins.update(requirement_pins(REPO_ROOT / "functions" / name / "requirements.txt"))
    needed = dists_for(scan_function(name).third_party)
    assert needed <= set(pins), f"{name} misses {sorted(needed - set(pins))}"
    project = pyproject_pins()
    assert {dist: project.get(dist) for dist in pins} == pins


def faas_cli_build_layout(function: str, root: Path) -> Path:
    """What `faas-cli build` puts in the image: handler folder + configuration.copy paths."""
    target = root / "function"
    shutil.copytree(REPO_ROOT / "functions" / function, target)
    shutil.copytree(REPO_ROOT / "fileserver", target / "fileserver",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_fprocess_serves_a_function_from_the_build_layout():
    root = Path(tempfile.mkdtemp(prefix="fileserver-template-"))
    try:
        function_dir = faas_cli_build_layout("stats-compute", root)
        port = free_port()
        command = fprocess().replace("/home/app/function", str(function_dir))
        command = command.replace("--port 5000", f"--port {port}").split()
        command[0] = sys.executable
        probe = [sys.executable, "-c", "import fileserver; print(fileserver.__file__)"]
        used = subprocess.run(probe, cwd=function_dir, capture_output=True, text=True, check=True)
        assert used.stdout.startswith(str(function_dir)), "the copied package must be used"
        process = subprocess.Popen(command, cwd=function_dir, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            wait_until(lambda: requests.get(url, timeout=1).ok, timeout=20)
            assert requests.get(url, timeout=2).json()["function"] == "stats-compute"
            metrics = requests.get(f"http://127.0.0.1:{port}/_/metrics", timeout=2)
            assert metrics.status_code == 200
        finally:
            stop_pid(process.pid)
            process.wait(timeout=10)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("name", sorted(stack_functions()))
def test_function_code_lives_in_what_the_image_holds(name):
    """The image holds the function's folder and fileserver/ (configuration.copy) only."""
    allowed = (REPO_ROOT / "functions" / name, REPO_ROOT / "fileserver")
    outside = [str(path.relative_to(REPO_ROOT)) for path in scan_function(name).modules
               if not any(path.is_relative_to(folder) for folder in allowed)]
    assert not outside, f"{name} imports modules missing from its image: {outside}"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def start_fprocess(name: str, root: Path) -> tuple[subprocess.Popen, int]:
    function_dir = faas_cli_build_layout(name, root / name)
    port = free_port()
    command = fprocess().replace("/home/app/function", str(function_dir))
    command = command.replace("--port 5000", f"--port {port}").split()
    command[0] = sys.executable
    env = {"PATH": "/usr/bin:/bin", "SECRETS_DIR": str(root / "secrets")}
    process = subprocess.Popen(command, cwd=function_dir, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, port


def test_every_function_starts_well_inside_its_memory_limit():
    """Each function, started as its image starts it, with half its limit to spare once
    its modules are loaded (the rest is for requests: connection pools, buffers)."""
    root = Path(tempfile.mkdtemp(prefix="fileserver-limits-"))
    started: dict[str, tuple[subprocess.Popen, int]] = {}
    try:
        for name in stack_functions():
            started[name] = start_fprocess(name, root)
        for name, (process, port) in started.items():
            url = f"http://127.0.0.1:{port}/_/metrics"
            wait_until(lambda u=url: requests.get(u, timeout=1).ok, timeout=60)
            limit = int(stack_functions()[name]["limits"]["memory"].removesuffix("Mi"))
            assert rss_mib(process.pid) < limit / 2, name
    finally:
        for process, _ in started.values():
            stop_pid(process.pid)
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def test_new_function_skeleton_serves_on_the_runtime_under_its_own_name(tmp_path, monkeypatch):
    """`faas-cli new NAME --lang fileserver-python` copies template/.../function/ to NAME/."""
    from fileserver.runtime.serve import load_handler_app

    monkeypatch.delenv("FUNCTION_NAME", raising=False)
    shutil.copytree(TEMPLATE / "function", tmp_path / "thumbnails")
    client = load_handler_app(tmp_path / "thumbnails").test_client()
    assert client.get("/?name=faasd").get_json() == {"message": "hello faasd"}
    assert client.get("/healthz").get_json() == {"status": "ok", "function": "thumbnails"}
    bad = client.get("/?name=%01")
    assert bad.status_code == 400 and "error" in bad.get_json()
    monkeypatch.setenv("FUNCTION_NAME", "thumbs")  # in the image the folder is "function"
    client = load_handler_app(TEMPLATE / "function").test_client()
    assert client.get("/healthz").get_json()["function"] == "thumbs"


def test_template_takes_the_official_build_arguments_and_options():
    """ADDITIONAL_PACKAGE / build_options as in openfaas/python-flask-template's Debian one."""
    assert re.search(r"^ARG ADDITIONAL_PACKAGE", DOCKERFILE, flags=re.MULTILINE)
    assert "apt-get install -qy --no-install-recommends ${ADDITIONAL_PACKAGE}" in DOCKERFILE
    options = yaml.safe_load((TEMPLATE / "template.yml").read_text())["build_options"]
    assert all(option["name"] and option["packages"] for option in options)
    env = dockerfile_env()
    assert env["ready_path"] == "/healthz"  # the watchdog answers /_/health itself
