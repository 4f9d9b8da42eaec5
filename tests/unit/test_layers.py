"""The import rules the layout depends on, read from the source: the dashboard and the
API are separate apps (neither imports the other), and what they share (postlane.asgi)
imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import postlane

ROOT = Path(postlane.__file__).parent


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module each file of ``package`` imports, at any depth (absolute names)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(("package", "forbidden"), [
    ("web", ("postlane.api",)),
    ("api", ("postlane.web",)),
    ("asgi", ("postlane.api", "postlane.web")),
    ("services", ("postlane.api", "postlane.web")),  # shared by every front door
])
def test_front_doors_do_not_import_each_other(package: str, forbidden: tuple[str, ...]) -> None:
    modules = imported_modules(package)
    assert modules, f"no modules found under postlane/{package}"
    offending = {file: sorted(n for n in names if n.startswith(forbidden))
                 for file, names in modules.items()}
    assert {file: names for file, names in offending.items() if names} == {}
