"""The layout's rules (DESIGN.md), checked on the source so that they cannot drift:
SQLAlchemy and the driver only in store/, typed records above it, the domain pure, and no
module longer than a reader can hold in mind. (web/ and api/ apart: test_layers.py.)"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "postlane"
MAX_LINES = 400
#: Python's own modules the pure domain may import.
STDLIB = frozenset({
    "__future__", "base64", "collections", "dataclasses", "datetime", "email", "enum",
    "hashlib", "hmac", "html", "ipaddress", "itertools", "json", "math", "os", "re",
    "secrets", "string", "time", "typing", "unicodedata", "urllib", "uuid",
})


def _modules() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def _area(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", list(_modules()), ids=_name)
def test_module_is_at_most_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines"


def test_sqlalchemy_and_the_driver_only_in_the_store() -> None:
    offenders = [f"{_name(path)}: {module}" for path in _modules() if _area(path) != "store"
                 for module in _imports(path)
                 if module.split(".")[0] in ("sqlalchemy", "psycopg", "alembic")]
    assert offenders == []


def test_rows_do_not_leave_the_store() -> None:
    offenders = [_name(path) for path in _modules() if _area(path) != "store"
                 and any(word in path.read_text(encoding="utf-8")
                         for word in ("RowMapping", "Mapping[Any, Any]"))]
    assert offenders == []


def test_the_domain_is_pure() -> None:
    """domain/ imports only the standard library and itself: no I/O, no frameworks."""
    offenders = [f"{_name(path)}: {module}" for path in _modules() if _area(path) == "domain"
                 for module in _imports(path)
                 if not module.startswith("postlane.domain")
                 and module.split(".")[0] not in STDLIB]
    assert offenders == []
