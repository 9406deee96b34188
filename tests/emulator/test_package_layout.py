"""The emulator's package shape: dependencies point one way, and nothing imports inside a function to dodge a cycle.

world/ knows no API and no server; controls/ knows the world only; cloud/ (the API 2.0 app) builds on both; seeds/
build worlds; the top level (server, cli) wires them together. A second API (Bitbucket Data Center) is meant to sit
next to cloud/ on the same world, which only works while the world imports nothing above it.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

# Read from the source, not imported: a cycle would stop an import before the test could say where it is.
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bitbucket_emulator"

# Which of the emulator's own packages each may import (besides itself), and which third-party packages.
ALLOWED = {
    "world": set(),
    "controls": {"world"},
    "seeds": {"world"},
    "cloud": {"world", "controls"},
    "datacenter": {"world", "controls"},
}
THIRD_PARTY = {"werkzeug"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(PACKAGE)), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def _imported(rel: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Absolute dotted names an import statement in `rel` (a path inside the package) refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        return [node.module or ""]
    package = ["bitbucket_emulator", *Path(rel).parent.parts]  # what `.` means in this module (or __init__)
    base = package[: len(package) - (node.level - 1)]
    if node.module:
        return [".".join([*base, node.module])]
    return [".".join([*base, alias.name]) for alias in node.names]


def test_emulator_modules_import_only_at_module_level():
    late = []
    for rel, tree in _modules():
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top:
                late.append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id == "TYPE_CHECKING":
                late.append(f"{rel}:{node.lineno} (TYPE_CHECKING)")
    assert late == [], "imports inside functions or TYPE_CHECKING blocks: point the dependency the right way"


def test_emulator_packages_depend_on_the_world_not_on_each_other():
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages == set(ALLOWED), "a new subpackage needs its place in ALLOWED"
    wrong = []
    for rel, tree in _modules():
        top = Path(rel).parts[0] if len(Path(rel).parts) > 1 else None
        for node in tree.body:
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _imported(rel, node):
                root, _, rest = name.partition(".")
                if root == "bitbucket_emulator":
                    target = rest.split(".")[0]
                    if top is not None and target != top and target not in ALLOWED[top]:
                        wrong.append(f"{rel} imports {name}")
                elif root not in sys.stdlib_module_names and root not in THIRD_PARTY and root != "__future__":
                    wrong.append(f"{rel} imports {name}")
    assert wrong == []


def test_emulator_package_data_covers_its_data_files():
    """A non-editable install gets only what package-data names: every data file of the package must be named."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"].get("package-data", {})
    missing = []
    for path in PACKAGE.rglob("*"):
        if path.is_dir() or path.suffix in (".py", ".pyc") or path.name == "README.md":
            continue
        rel = path.relative_to(ROOT)
        package = ".".join(rel.parent.parts)
        if not any(fnmatch(path.name, pattern) for pattern in package_data.get(package, [])):
            missing.append(str(rel))
    assert missing == []
    assert (PACKAGE / "seeds" / "demo.json").is_file()
