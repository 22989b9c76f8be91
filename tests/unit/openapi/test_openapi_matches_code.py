"""openapi/fileserver.yaml is equal to the code: every Flask route of every function is
documented with the same methods, and every documented operation is a real route."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fileserver.runtime import require_admin
from fileserver.runtime.serve import load_handler_app

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "openapi" / "fileserver.yaml"
RUNTIME_ROUTES = ("/healthz", "/_/metrics")
METHODS = {"get", "put", "post", "patch", "delete"}
INTERNAL = {"downloader-sync", "stats-ingest", "stats-compute"}


def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


def function_dirs() -> list[Path]:
    return sorted(d for d in (ROOT / "functions").iterdir()
                  if (d / "handler.py").exists())


def gateway_path(function: str, rule: str) -> str:
    """``/<account_id>`` of drive-accounts → ``/function/drive-accounts/{account_id}``."""
    templated = re.sub(r"<(?:[a-z]+:)?([A-Za-z_]+)>", r"{\1}", rule)
    return f"/function/{function}{templated}"


ADMIN_WRAPPER = require_admin(lambda: None).__code__


def code_operations(admin_only: bool = False) -> set[tuple[str, str]]:
    """(gateway path, method) of every route; with admin_only, those behind require_admin."""
    found = set()
    for function_dir in function_dirs():
        app = load_handler_app(function_dir)
        for rule in app.url_map.iter_rules():
            if rule.rule in RUNTIME_ROUTES or rule.endpoint == "static":
                continue
            if admin_only and app.view_functions[rule.endpoint].__code__ is not ADMIN_WRAPPER:
                continue
            for method in rule.methods & {m.upper() for m in METHODS}:
                found.add((gateway_path(function_dir.name, rule.rule), method.lower()))
    return found


def documented_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, item in document()["paths"].items()
            for method in item if method in METHODS}


def test_every_route_is_documented_and_every_documented_path_exists():
    code, documented = code_operations(), documented_operations()
    assert code, "no routes found: functions/*/handler.py did not load"
    assert sorted(code - documented) == [], "routes missing from openapi/fileserver.yaml"
    assert sorted(documented - code) == [], "documented operations that no function serves"


def test_every_function_is_in_the_document_and_internal_ones_are_tagged():
    operations = [(path, op) for path, item in document()["paths"].items()
                  for method, op in item.items() if method in METHODS]
    functions = {path.split("/")[2] for path, _ in operations}
    assert functions == {d.name for d in function_dirs()}
    for path, op in operations:
        internal = path.split("/")[2] in INTERNAL
        assert ("internal" in op["tags"]) == internal, path


def test_path_parameters_are_declared_for_every_templated_path():
    for path, item in document()["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        declared = {ref["$ref"].rsplit("/", 1)[-1] for ref in item.get("parameters", [])}
        params = document()["components"]["parameters"]
        declared_names = {params[name]["name"] for name in declared}
        assert names == declared_names, path


def test_admin_operations_are_those_behind_require_admin():
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_path(str(DOCUMENT))
    admin = {(p, m) for p, item in document()["paths"].items() for m, op in item.items()
             if m in METHODS and op.get("security")}
    assert ("/function/upload-file/", "post") in admin
    assert admin == code_operations(admin_only=True)
    assert len(list(schema.get_all_operations())) == len(documented_operations())
