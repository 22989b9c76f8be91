"""Read the code the way a container sees it: what a function or worker imports and reads.

Starting from an entry file (a function's ``handler.py``, the replicator's package), follow
``import fileserver...`` / ``import workers...`` statements through the repository's own
modules and collect, over every module reached:
- the environment variables read (``setting("X"``, ``int_setting("X"``, ``float_setting("X"``,
  ``os.environ.get("X"``, ``os.environ["X"]``, ``os.getenv("X"``),
- the secrets read (``secret("name")``),
- the third-party top-level packages imported at module level (what the image must install;
  an import inside a function body is lazy on purpose and not required).
Only literal names are seen: a name built at run time would escape this scan.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
OWN_PACKAGES = ("fileserver", "workers", "devstack", "emulators", "functions", "tests")

ENV_PATTERNS = [
    re.compile(r"\b(?:int_|float_|url_)?setting\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']"),
    re.compile(r"os\.environ\.get\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']"),
    re.compile(r"os\.environ\[\s*[\"']([A-Z][A-Z0-9_]*)[\"']\s*\]"),
    re.compile(r"os\.getenv\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']"),
]
SECRET_PATTERNS = [
    re.compile(r"\b(?:optional_)?secret\(\s*[\"']([a-z0-9][a-z0-9-]*)[\"']"),
    re.compile(r"\burl_setting\(\s*[\"'][A-Z0-9_]+[\"']\s*,\s*[\"']([a-z0-9-]+)[\"']"),
]
CONFIG = REPO_ROOT / "fileserver" / "config.py"


@dataclass
class CodeReads:
    """What the code reachable from one entry point reads and imports."""

    modules: set[Path] = field(default_factory=set)
    env: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    third_party: set[str] = field(default_factory=set)


def module_file(dotted: str) -> Path | None:
    """``fileserver.config`` → its file (module or package ``__init__``), if it exists."""
    base = REPO_ROOT.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_level_nodes(tree: ast.AST) -> list[ast.AST]:
    """Nodes that run at import: everything except the bodies of functions."""
    nodes, todo = [], [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return nodes


def imported_names(nodes: list[ast.AST]) -> set[str]:
    """Absolute module names imported by these nodes."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from fileserver import config` imports the submodule fileserver.config
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def own_modules_to_visit(name: str) -> list[Path]:
    """The files of an own module and of its parent packages (their ``__init__`` runs too)."""
    parts = name.split(".")
    files = [module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1)]
    return [f for f in files if f is not None]


def env_names(source: str) -> set[str]:
    return {name for pattern in ENV_PATTERNS for name in pattern.findall(source)}


def secret_names(source: str) -> set[str]:
    return {name for pattern in SECRET_PATTERNS for name in pattern.findall(source)}


def config_getters() -> dict[str, tuple[set[str], set[str]]]:
    """Each function of ``fileserver/config.py`` → the env and secret names it reads, also
    through the other config functions it calls (``secret`` → ``secrets_dir`` → ``SECRETS_DIR``)."""
    tree = ast.parse(CONFIG.read_text())
    defs = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    direct = {name: ast.unparse(node) for name, node in defs.items()}
    calls = {name: {c.func.id for c in ast.walk(node)
                    if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                    and c.func.id in defs}
             for name, node in defs.items()}
    closure = {}
    for name in defs:
        seen, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(calls[current])
        code = "\n".join(direct[n] for n in seen)
        closure[name] = (env_names(code), secret_names(code))
    return closure


def config_reads(source: str, getters: dict[str, tuple[set[str], set[str]]],
                 reads: CodeReads) -> None:
    """Add what the config getters called in ``source`` read (``config.mongo_url()``).
    Config itself reads a name only when one of its getters is called."""
    for called in set(re.findall(r"\b([a-z_][a-z0-9_]*)\(", source)) & getters.keys():
        env, secrets = getters[called]
        reads.env |= env
        reads.secrets |= secrets


def scan(entries: list[Path]) -> CodeReads:
    reads = CodeReads()
    stdlib = sys.stdlib_module_names
    getters = config_getters()
    pending = list(entries)
    while pending:
        path = pending.pop()
        if path in reads.modules:
            continue
        reads.modules.add(path)
        source = path.read_text()
        if path != CONFIG:
            reads.env |= env_names(source)
            reads.secrets |= secret_names(source)
            config_reads(source, getters, reads)
        tree = ast.parse(source)
        for name in imported_names(list(ast.walk(tree))):
            if name.split(".")[0] in OWN_PACKAGES:
                pending.extend(own_modules_to_visit(name))
        for name in imported_names(module_level_nodes(tree)):
            top = name.split(".")[0]
            if top not in OWN_PACKAGES and top not in stdlib and top != "__future__":
                reads.third_party.add(top)
    return reads


def scan_function(name: str) -> CodeReads:
    """A function's handler plus the runtime server the template starts it with."""
    serve = REPO_ROOT / "fileserver" / "runtime" / "serve.py"
    return scan([REPO_ROOT / "functions" / name / "handler.py", serve])


def scan_package(folder: str) -> CodeReads:
    """Every module of a package (e.g. ``workers/replicator``): a worker may import any."""
    return scan(sorted((REPO_ROOT / folder).rglob("*.py")))
