"""What each folder may import: the rules of docs/ARCHITECTURE.md ("Folders and what they may
import"), checked on every ``.py`` file of the repository by parsing its imports (``ast``).

Every ``import`` counts, at module level or inside a function (a lazy import is still a
dependency), relative ones resolved to their absolute name. Rules are written by layer, not by
module, so that a module moving inside its layer keeps them: a file belongs to the folder
rule of its longest matching path prefix; an imported name to the layer of its longest
matching dotted prefix.
Names of no project layer (the standard library, third-party packages) are not checked here;
which database drivers each service may use is ``tests/unit/test_ownership.py``'s business.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {"node_modules", "__pycache__"}  # and every hidden folder (.venv, .git, .stack)

# Layers of imported names: (dotted prefix, layer), the longest prefix wins. A module directly in
# fileserver/ (config, errors) or in a fileserver subpackage not named here (a new shared
# contract module, e.g. fileserver/contracts/) is ``core``.
LAYERS: list[tuple[str, str]] = [
    ("fileserver.cli", "cli"),
    ("fileserver.drive", "drive"),
    ("fileserver.runtime", "runtime"),
    ("fileserver.uploader", "uploader"),
    ("fileserver.downloader", "downloader"),
    ("fileserver.stats", "stats"),
    ("fileserver", "core"),
    ("workers", "workers"),
    ("devstack", "devstack"),
    ("emulators", "emulators"),
    ("bench", "bench"),
    ("tests", "tests"),
    ("jmeter", "jmeter"),
    ("tools", "tools"),
    ("functions", "functions"),
]
PRODUCT = {"core", "drive", "runtime", "uploader", "downloader", "stats"}  # all but the CLI
SERVICES = {"uploader", "downloader", "stats"}
EVERYTHING = {layer for _, layer in LAYERS}

# Folder rules: (path prefix, name, the layers its files may import), the longest prefix wins.
FOLDERS: list[tuple[str, str, set[str]]] = [
    ("fileserver/cli/", "cli", {"core", "cli"}),
    ("fileserver/drive/", "drive", {"core", "drive"}),
    ("fileserver/runtime/", "runtime", {"core", "runtime"}),
    ("fileserver/uploader/", "uploader", {"core", "drive", "runtime", "uploader"}),
    ("fileserver/downloader/", "downloader", {"core", "drive", "runtime", "downloader"}),
    ("fileserver/stats/", "stats", {"core", "drive", "runtime", "stats"}),
    ("fileserver/", "core", {"core"}),
    ("functions/", "functions", PRODUCT),
    ("template/", "template", {"core", "runtime"}),
    ("workers/", "workers", {"core", "drive", "runtime", "uploader", "workers"}),
    ("emulators/", "emulators", {"emulators", "devstack"}),
    ("devstack/", "devstack", PRODUCT | {"cli", "devstack"}),
    ("bench/", "bench", EVERYTHING - {"tests"}),
    ("jmeter/", "jmeter", {"jmeter"}),
    ("tools/", "tools", {"tools"}),
    ("tests/", "tests", EVERYTHING),
]


def layer_of(name: str) -> str | None:
    """The project layer of an imported dotted name (its longest matching prefix); None for
    the standard library and third-party packages."""
    found = [(len(prefix), layer) for prefix, layer in LAYERS
             if name == prefix or name.startswith(prefix + ".")]
    return max(found)[1] if found else None


def folder_of(relative: str) -> tuple[str, set[str]] | None:
    """The folder rule of a file (its path relative to the root, with ``/``): the row of the
    longest folder prefix."""
    found = [(len(prefix), name, allowed) for prefix, name, allowed in FOLDERS
             if relative.startswith(prefix)]
    if not found:
        return None
    _, name, allowed = max(found, key=lambda row: row[0])
    return name, allowed


def package_of(relative: str) -> list[str]:
    """The dotted package a file's relative imports start from (``a/b/c.py`` → a.b)."""
    return relative[:-3].split("/")[:-1]


def imported_names(tree: ast.AST, relative: str) -> set[str]:
    """Every module name a file imports; ``from P import y`` of a top-level package P also
    gives P.y (y may be a subpackage that decides the layer: ``from fileserver import
    downloader``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = package_of(relative)[:len(package_of(relative)) - node.level + 1]
                base = ".".join([*package, *([base] if base else [])])
            if base:
                names.add(base)
            if "." not in base:
                names.update(f"{base}.{a.name}" if base else a.name for a in node.names)
    return names


def python_files(root: Path) -> list[Path]:
    """Every ``.py`` file under ``root``, not descending into virtualenvs, caches, .git."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")
                   and not d.endswith(".egg-info")]
        found += [Path(folder) / name for name in files if name.endswith(".py")]
    return sorted(found)


def violations(root: Path) -> list[str]:
    """Every import that breaks its folder's rule, and every file of no known folder."""
    problems = []
    for path in python_files(root):
        relative = path.relative_to(root).as_posix()
        rule = folder_of(relative)
        if rule is None:
            problems.append(f"{relative}: in no folder of docs/ARCHITECTURE.md")
            continue
        folder, allowed = rule
        for name in sorted(imported_names(ast.parse(path.read_text(), str(path)), relative)):
            layer = layer_of(name)
            if layer is not None and layer not in allowed:
                problems.append(f"{relative} ({folder}) imports {name} ({layer})")
    return problems


def test_every_file_follows_its_folders_import_rule() -> None:
    assert violations(ROOT) == []


def documented_rules(text: str) -> dict[str, set[str] | None]:
    """The folder table of docs/ARCHITECTURE.md: folder prefix → layers it may import
    (None: "-", a folder without Python). Parenthesised remarks are ignored; "adapters" and
    "services" stand for their layers, "everything [except X]" for all layers [but X]."""
    groups = {"adapters": {"drive", "runtime"}, "services": SERVICES}
    table: dict[str, set[str] | None] = {}
    for line in text.splitlines():
        match = re.match(r"\| `([^`]+)`[^|]* \|.*\| ([^|]+) \|$", line)
        if not match:
            continue
        folder = match.group(1).replace("*.py", "")
        cell = re.sub(r"\([^)]*\)", "", match.group(2)).replace("`", "").strip()
        if cell == "-":
            table[folder] = None
        elif cell.startswith("everything"):
            table[folder] = EVERYTHING - set(cell.split()[2:])  # "everything except X"
        else:
            words = [w.strip() for w in cell.split(",")]
            table[folder] = set().union(*(groups.get(w, {w}) for w in words))
    return table


def test_the_rules_are_the_ones_the_architecture_page_states() -> None:
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    documented = documented_rules(page)
    # The page is really read: one rule loosened on it is seen.
    loosened = page.replace("(HTTP client of the gateway) | core, cli |",
                            "(HTTP client of the gateway) | core, cli, devstack |")
    assert loosened != page
    assert documented_rules(loosened)["fileserver/cli/"] == {"core", "cli", "devstack"}
    assert {k: v for k, v in documented.items() if v is not None} == {
        prefix: allowed for prefix, _, allowed in FOLDERS}
    for folder in (k for k, v in documented.items() if v is None):
        assert (ROOT / folder).is_dir() and not list((ROOT / folder).rglob("*.py")), folder


def test_the_rules_cover_the_repository() -> None:
    assert len(python_files(ROOT)) > 250  # the scan sees the code, not an empty folder
    assert not any(".venv" in p.parts for p in python_files(ROOT))


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(("relative", "text", "expected"), [
    ("fileserver/cli/target.py", "from devstack.stack import Stack\n", "devstack"),
    ("fileserver/cli/x.py", "def f():\n    import devstack.config\n", "devstack"),
    ("fileserver/uploader/x.py", "from fileserver.downloader.repository import R\n",
     "downloader"),
    ("fileserver/uploader/x.py", "from fileserver import downloader\n", "downloader"),
    ("fileserver/uploader/x.py", "from ..downloader import repository\n", "downloader"),
    ("fileserver/contracts/jobs.py", "from fileserver.runtime import function_app\n",
     "runtime"),
    ("fileserver/errors.py", "import fileserver.uploader.model\n", "uploader"),
    ("fileserver/downloader/x.py", "from tests.support.downloader_rows import unsent\n",
     "tests"),
    ("fileserver/runtime/x.py", "from fileserver.stats.compute import dedupe\n", "stats"),
    ("functions/get-url/handler.py", "from workers.replicator.errors import Permanent\n",
     "workers"),
    ("functions/files/handler.py", "from fileserver.cli.main import main\n", "cli"),
    ("workers/replicator/x.py", "from fileserver.downloader.sync import SyncService\n",
     "downloader"),
    ("workers/replicator/x.py", "from emulators.drive.backend import Backend\n", "emulators"),
    ("emulators/drive/x.py", "from fileserver.drive.client import DriveClient\n", "drive"),
    ("devstack/x.py", "from bench.replication_stack import live_stack\n", "bench"),
    ("bench/x.py", "from tests.support.balancer_reference import preference\n", "tests"),
    ("jmeter/x.py", "from fileserver.errors import NotFound\n", "core"),
    ("template/fileserver-python/function/handler.py", "import devstack\n", "devstack"),
])
def test_a_violation_is_reported(tmp_path: Path, relative: str, text: str,
                                 expected: str) -> None:
    write(tmp_path, relative, text)
    found = violations(tmp_path)
    assert len(found) == 1 and found[0].endswith(f"({expected})"), found


@pytest.mark.parametrize(("relative", "text"), [
    ("fileserver/cli/x.py", "import requests\nfrom fileserver.cli.client import Api\n"),
    ("fileserver/uploader/x.py", "from fileserver.drive.client import DriveClient\n"
                                 "from fileserver import config\nfrom .model import File\n"),
    ("fileserver/contracts/jobs.py", "from fileserver.errors import BadRequest\n"),
    ("functions/get-url/handler.py", "from fileserver.downloader.bootstrap import service\n"
                                     "from fileserver.runtime import function_app\n"),
    ("workers/replicator/x.py", "from fileserver.uploader.bootstrap import repositories\n"
                                "from workers.replicator.ports import Drive\n"),
    ("emulators/drive/server.py", "from devstack.process import ManagedProcess\n"),
    ("devstack/x.py", "from fileserver.runtime.server import serve\nimport devstack.ports\n"),
    ("bench/x.py", "from workers.replicator.reconcile import Reconciler\n"
                   "from emulators.drive.server import DriveEmulator\n"),
    ("tests/unit/x.py", "from bench import stats_lag\nfrom .conftest import fake\n"),
])
def test_allowed_imports_pass(tmp_path: Path, relative: str, text: str) -> None:
    write(tmp_path, relative, text)
    assert violations(tmp_path) == []


def test_a_python_file_outside_every_folder_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "newfolder/thing.py", "import os\n")
    write(tmp_path, ".venv/lib/site.py", "import devstack\n")  # skipped: not the project's
    assert violations(tmp_path) == ["newfolder/thing.py: in no folder of docs/ARCHITECTURE.md"]
