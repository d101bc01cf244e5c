"""The domain is pure: it imports the standard library and itself, nothing else (no database,
no web framework, no services), so that its rules can be tested and reused alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import fairdeal.domain

DOMAIN = Path(fairdeal.domain.__file__).parent
# Every file of the domain, also those of its packages (``domain/dispute/``).
MODULES = sorted(DOMAIN.rglob("*.py"))


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, as written (relative imports resolved to absolute)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = ["fairdeal", "domain"]
                base = package[: len(package) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top == "__future__" or top in sys.stdlib_module_names:
        return True
    return module == "fairdeal.domain" or module.startswith("fairdeal.domain.")


def test_the_domain_package_has_modules() -> None:
    names = {path.parent.name if path.stem == "__init__" else path.stem for path in MODULES}
    assert {"dispute", "order", "ledger", "money", "policy", "errors"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(DOMAIN)))
def test_domain_modules_import_only_the_standard_library_and_the_domain(path: Path) -> None:
    offending = [f"{path.name}:{line} imports {name}" for line, name in imported_modules(path)
                 if not allowed(name)]  # fmt: skip
    assert offending == []


def test_the_checker_catches_what_it_should() -> None:
    assert allowed("datetime")
    assert allowed("collections.abc")
    assert allowed("fairdeal.domain.money")
    assert not allowed("fairdeal.services.context")
    assert not allowed("fairdeal")
    assert not allowed("sqlalchemy")
    assert not allowed("pydantic")
