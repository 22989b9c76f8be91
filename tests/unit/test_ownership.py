"""Requirement 5: no service reaches another service's database.

Checked on the import graph of the source: every module of an owner may import only the
drivers of its own database and never another owner's data layer. A function's owner is its
``fileserver.service`` label in stack.yml (devstack/stack_file.py reads it), declared nowhere
else; the README's service table is checked against it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from devstack import stack_file
from devstack.gateway import FunctionRegistry, Gateway
from tests.unit.deploy.codescan import imported_names

ROOT = Path(__file__).resolve().parents[2]

DOWNLOADER_ONLY = ("fileserver.downloader", "records", "sqlalchemy", "psycopg2", "psycopg")
UPLOADER_ONLY = ("fileserver.uploader", "pymongo", "gridfs", "bson", "motor")
ANY_DRIVER = DOWNLOADER_ONLY[1:] + UPLOADER_ONLY[1:] + ("nats", "sqlite3", "redis")

RULES: dict[str, tuple[str, ...]] = {
    # owner folder -> import prefixes it must never use
    "fileserver/uploader": DOWNLOADER_ONLY,
    "fileserver/downloader": UPLOADER_ONLY + ("fileserver.stats.store",),
    "fileserver/stats": ANY_DRIVER + ("fileserver.uploader", "fileserver.downloader"),
    "workers/replicator": DOWNLOADER_ONLY,
    "fileserver/drive": DOWNLOADER_ONLY + UPLOADER_ONLY,
    # every service imports the contracts: they import no service and no database driver
    "fileserver/contracts": DOWNLOADER_ONLY + UPLOADER_ONLY + ("fileserver.stats",),
}
OWNER_RULES = {"uploader": RULES["fileserver/uploader"],
               "downloader": RULES["fileserver/downloader"],
               "stats": RULES["fileserver/stats"]}
# A function folder stack.yml does not deploy (none today) imports no service.
UNDEPLOYED_RULES = RULES["fileserver/stats"]


def imports_of(path: Path) -> set[str]:
    """Every absolute import of the file, at module level or inside functions."""
    return imported_names(list(ast.walk(ast.parse(path.read_text(), filename=str(path)))))


def violations(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        for name in imports_of(path):
            if any(name == bad or name.startswith(bad + ".") for bad in forbidden):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.append(f"{where} imports {name}")
    return found


def test_service_packages_import_only_their_own_database():
    problems = []
    for folder, forbidden in RULES.items():
        problems += violations(sorted((ROOT / folder).rglob("*.py")), forbidden)
    assert problems == []


def function_folders() -> set[str]:
    return {p.parent.name for p in (ROOT / "functions").glob("*/handler.py")}


def test_functions_import_only_their_owner():
    """Owners come from stack.yml's ``fileserver.service`` labels, declared nowhere else."""
    owner_of = stack_file.owners()
    problems = []
    for name in sorted(function_folders()):
        forbidden = OWNER_RULES[owner_of[name]] if name in owner_of else UNDEPLOYED_RULES
        problems += violations(sorted((ROOT / "functions" / name).glob("*.py")), forbidden)
    assert problems == []


def test_every_deployed_function_has_an_owner_and_a_folder():
    owner_of = stack_file.owners()  # ValueError names a function without a service label
    assert set(owner_of) <= function_folders()
    assert set(owner_of.values()) == set(OWNER_RULES)


def readme_services() -> dict[str, set[str]]:
    """The README's service table: service -> the functions its row names (in backticks,
    outside parentheses: "(+ the `replicator` worker)" is not a function)."""
    rows = re.findall(r"^\| (Uploader|Downloader|Stats) \|[^|]*\|([^|]*)\|",
                      (ROOT / "README.md").read_text(), flags=re.MULTILINE)
    return {service.lower(): set(re.findall(r"`([^`]+)`", re.sub(r"\(.*?\)", "", names)))
            for service, names in rows}


def test_the_readme_names_the_owners_stack_yml_declares():
    declared: dict[str, set[str]] = {}
    for name, owner in stack_file.owners().items():
        declared.setdefault(owner, set()).add(name)
    assert readme_services() == declared


def test_the_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from fileserver.downloader.repository import X\nimport psycopg2\n")
    found = violations([bad], DOWNLOADER_ONLY)
    assert any("psycopg2" in f for f in found)
    assert any("fileserver.downloader.repository" in f for f in found)
    good = tmp_path / "good.py"
    good.write_text("import pymongo\nfrom fileserver.errors import NotFound\n")
    assert violations([good], DOWNLOADER_ONLY) == []


def test_the_local_gateway_reports_each_functions_owner(tmp_path):
    urls = tmp_path / "functions.json"
    urls.write_text('{"get-url": "http://127.0.0.1:9", "echo": "http://127.0.0.1:9"}')
    listing = {f["name"]: f for f in Gateway(FunctionRegistry(urls), None).system_functions()}
    assert listing["get-url"]["labels"][stack_file.SERVICE_LABEL] == "downloader"
    assert listing["get-url"]["annotations"]["fileserver.auth"] == "public"
    assert listing["echo"]["labels"] == {}  # not deployed: no owner
