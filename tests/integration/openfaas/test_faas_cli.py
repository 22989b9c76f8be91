"""The real faas-cli on stack.yml: build --shrinkwrap, generate, new (offline)."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import pytest
import yaml

from devstack.watchdog import stack_function_env
from tests.integration.openfaas.conftest import REPO_ROOT, faas_cli, project_copy, requires_tools

pytestmark = requires_tools
TEMPLATE = REPO_ROOT / "template" / "fileserver-python"


def stack_functions() -> dict[str, dict]:
    return yaml.safe_load((REPO_ROOT / "stack.yml").read_text())["functions"]


def test_shrinkwrap_lays_out_every_function_as_the_image_holds_it(shrinkwrapped: Path):
    assert sorted(p.name for p in shrinkwrapped.iterdir()) == sorted(stack_functions())
    for name in stack_functions():
        build = shrinkwrapped / name
        assert filecmp.cmp(build / "Dockerfile", TEMPLATE / "Dockerfile", shallow=False), name
        assert filecmp.cmp(build / "requirements.txt", TEMPLATE / "requirements.txt",
                           shallow=False)
        function = build / "function"
        assert filecmp.cmp(function / "handler.py", REPO_ROOT / "functions" / name / "handler.py",
                           shallow=False)
        # configuration.copy: the shared package, with the streaming server, in every build
        assert (function / "fileserver" / "runtime" / "server.py").is_file(), name


def test_generate_gives_each_function_its_stack_settings(tmp_path: Path):
    root = project_copy(tmp_path)
    out = faas_cli("generate", "-f", "stack.yml", cwd=root,
                   env={"REGISTRY": "registry.test/fs", "TAG": "9.9.9"})
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert {d["metadata"]["name"] for d in docs} == set(stack_functions())
    for doc in docs:
        name, spec = doc["metadata"]["name"], doc["spec"]
        stack = stack_functions()[name]
        assert doc["apiVersion"] == "openfaas.com/v1" and doc["kind"] == "Function"
        # deploy/kubernetes/ puts the services and secrets in the same namespace
        assert doc["metadata"]["namespace"] == "openfaas-fn"
        assert spec["image"] == f"registry.test/fs/{name}:9.9.9"
        assert spec["environment"] == stack_function_env(name, root / "stack.yml")
        assert spec["secrets"] == stack["secrets"]
        assert spec["limits"]["memory"] == stack["limits"]["memory"]
        assert spec["labels"]["com.openfaas.scale.max"] == "1"


def test_environment_file_is_read_from_the_current_folder(tmp_path: Path):
    """faas-cli resolves environment_file against the folder it runs in, not stack.yml's:
    docs/deploy.md runs every faas-cli command from the repository root."""
    root = project_copy(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(AssertionError, match="functions-env.yml"):
        faas_cli("generate", "-f", str(root / "stack.yml"), cwd=elsewhere)
    faas_cli("generate", "-f", "stack.yml", cwd=root)


def test_new_function_from_the_template_serves_under_its_own_name(tmp_path: Path):
    shutil.copytree(TEMPLATE, tmp_path / "template" / TEMPLATE.name)
    faas_cli("new", "thumbnails", "--lang", TEMPLATE.name, cwd=tmp_path)
    handler = tmp_path / "thumbnails" / "handler.py"
    assert handler.is_file()
    from fileserver.runtime.serve import load_handler_app

    client = load_handler_app(handler.parent).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "function": "thumbnails"}
