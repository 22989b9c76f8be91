"""Requirement 5: no service reaches another service's database.

Checked on the import graph of the source: every module of an owner may import only the
drivers of its own database and never another owner's data layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

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
}
FUNCTION_OWNERS = {
    "uploader": ("upload-file", "files", "drive-accounts"),
    "downloader": ("get-url", "download", "downloader-sync", "stats-ingest", "file-stats",
                   "account-stats", "stats-summary"),
    "stats": ("stats-compute",),
}
OWNER_RULES = {"uploader": RULES["fileserver/uploader"],
               "downloader": RULES["fileserver/downloader"],
               "stats": RULES["fileserver/stats"]}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


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


def test_functions_import_only_their_owner():
    problems = []
    for owner, names in FUNCTION_OWNERS.items():
        for name in names:
            problems += violations(sorted((ROOT / "functions" / name).glob("*.py")),
                                   OWNER_RULES[owner])
    assert problems == []


def test_every_function_has_an_owner():
    owned = {name for names in FUNCTION_OWNERS.values() for name in names}
    present = {p.parent.name for p in (ROOT / "functions").glob("*/handler.py")}
    assert present <= owned, f"functions without an owner in this test: {present - owned}"


def test_the_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from fileserver.downloader.repository import X\nimport psycopg2\n")
    found = violations([bad], DOWNLOADER_ONLY)
    assert any("psycopg2" in f for f in found)
    assert any("fileserver.downloader.repository" in f for f in found)
    good = tmp_path / "good.py"
    good.write_text("import pymongo\nfrom fileserver.errors import NotFound\n")
    assert violations([good], DOWNLOADER_ONLY) == []
