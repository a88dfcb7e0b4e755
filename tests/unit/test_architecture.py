"""The import rules of docs/architecture.md, checked on the source: lower layers never import higher ones.

Imports made only for type checking (under `if TYPE_CHECKING:`) are left out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support.process import REPO

PACKAGE = REPO / "launcher"
CORE = "core"
# Core grouped in folders: files (writing, reading, keeping private, stamping) and documents (YAML).
CORE_PACKAGES = {"files", "documents"}
# Which layers each layer may import (besides itself); docs/architecture.md has the same table.
ALLOWED: dict[str, set[str]] = {
    CORE: set(),
    "manifest": {CORE},
    "backends": {CORE},
    "resolve": {CORE, "manifest", "backends"},
    "connections": {CORE, "backends"},
    "launch": {CORE},
    "diagram": {CORE, "manifest", "backends", "resolve"},
    "cli": {CORE, "manifest", "backends", "resolve", "connections", "launch", "diagram"},
}
# Named exceptions, each with its reason.
EXCEPTIONS: dict[str, set[str]] = {
    "launcher.launch.watch": {"resolve", "backends"},  # --watch resolves again from the same backend
    "launcher.entry": {"launch", "cli"},  # the command's entry point: the fast path, else the CLI
}
# The modules a fast-path launch passes through, and the only modules they may import at the top.
FAST_PATH = [
    "launcher.entry",
    "launcher.launch.fastpath",
    "launcher.launch.decision",
    "launcher.launch.start",
    "launcher.files.stamps",
    "launcher.launch.service",
    "launcher.launch.environment",
    "launcher.settings",
    "launcher.launch.cleanexec",
    "launcher.files.atomic",
    "launcher.files.marshalled",
]
FAST_PATH_STDLIB = {"os", "sys", "marshal", "_signal", "errno", "gc", "__future__"}  # gc: built in


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in CORE_PACKAGES:
        return CORE
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else CORE


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(tree: ast.AST, top_level_only: bool = False) -> list[str]:
    """Every module imported by absolute name, skipping TYPE_CHECKING blocks."""
    found: list[str] = []

    def visit(node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                continue
            if top_level_only and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(child, ast.Import):
                found.extend(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append(child.module)
                found.extend(
                    f"{child.module}.{alias.name}"
                    for alias in child.names
                    if (PACKAGE / child.module.replace("launcher", "", 1).strip(".").replace(".", "/") / alias.name)
                    .with_suffix(".py")
                    .exists()
                    or (
                        PACKAGE / child.module.replace("launcher", "", 1).strip(".").replace(".", "/") / alias.name
                    ).is_dir()
                )
            visit(child, depth + 1)

    visit(tree, 0)
    return found


SOURCES = sorted(path for path in PACKAGE.rglob("*.py"))


def test_every_package_is_in_the_table() -> None:
    packages = {path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert packages <= set(ALLOWED) | CORE_PACKAGES, (
        f"add {packages - set(ALLOWED)} to docs/architecture.md and ALLOWED"
    )


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(REPO)))
def test_layers_import_only_what_they_may(path: Path) -> None:
    module = module_name(path)
    own = layer_of(module)
    allowed = ALLOWED[own] | {own} | EXCEPTIONS.get(module, set())
    wrong = sorted(
        {
            name
            for name in imports(ast.parse(path.read_text()))
            if name.startswith("launcher.") and layer_of(name) not in allowed
        }
    )
    assert not wrong, f"{module} ({own}) imports {wrong}: see docs/architecture.md"


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(REPO)))
def test_only_the_cli_imports_click(path: Path) -> None:
    if layer_of(module_name(path)) == "cli":
        return
    assert "click" not in {name.split(".")[0] for name in imports(ast.parse(path.read_text()))}


@pytest.mark.parametrize("module", FAST_PATH)
def test_the_fast_path_imports_nothing_heavy_at_the_top(module: str) -> None:
    path = REPO / (module.replace(".", "/") + ".py")
    top = imports(ast.parse(path.read_text()), top_level_only=True)
    heavy = sorted(
        {name for name in top if not name.startswith("launcher") and name.split(".")[0] not in FAST_PATH_STDLIB}
    )
    assert not heavy, f"{module} imports {heavy} at the top; the fast path pays for it (docs/performance.md)"
    outside = sorted(
        {
            name
            for name in top
            if name.startswith("launcher.") and name not in FAST_PATH and not name.startswith("launcher.launch")
        }
    )
    assert not outside, f"{module} pulls {outside} into the fast path"


def test_the_packages_on_the_fast_path_have_empty_inits() -> None:
    for package in ("launch", "files"):
        assert (PACKAGE / package / "__init__.py").read_text().strip() == ""


def test_the_fast_paths_copy_of_the_launcher_prefix_is_the_rule() -> None:
    """launcher/settings.py keeps its own copy so the fast path never imports `re` (launcher.naming)."""
    from launcher.naming import LAUNCHER_PREFIX, reserved_variable_problem
    from launcher.settings import LAUNCHER_PREFIX as fast_copy

    assert fast_copy == LAUNCHER_PREFIX
    assert reserved_variable_problem(LAUNCHER_PREFIX + "TOKEN") and not reserved_variable_problem("CHOREO_RUNX")
