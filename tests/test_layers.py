"""The packages stand on each other in one order, and nothing imports upward.

foundation (contracts, lake tables, variables) is the bottom floor; ingestion and
streaming stand on it side by side; the command line (smartcity) on all three; the bench
on everything. A module that imports from a floor above its own, or from its sibling,
fails here with the line that does.
"""

from __future__ import annotations

import ast

from smartcity.settings import PROJECT_ROOT

# What each package may import of the project besides itself.
MAY_IMPORT = {
    "foundation": set(),
    "ingestion": {"foundation"},
    "streaming": {"foundation"},
    "smartcity": {"foundation", "ingestion", "streaming"},
    "bench": {"foundation", "ingestion", "streaming", "smartcity"},
}


def _imports(package: str) -> list[tuple[str, int, str]]:
    """(file, line, imported top-level package) of every import of a project package."""
    found = []
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in MAY_IMPORT and top != package:
                    found.append((str(path.relative_to(PROJECT_ROOT)), node.lineno, top))
    return found


def test_no_package_imports_a_floor_above_its_own_or_its_sibling() -> None:
    upward = [
        f"{file}:{line} imports {top}"
        for package in MAY_IMPORT
        for file, line, top in _imports(package)
        if top not in MAY_IMPORT[package]
    ]
    assert upward == []


def test_the_bottom_floor_is_imported_by_every_other_package() -> None:
    for package in ("ingestion", "streaming", "smartcity", "bench"):
        assert any(top == "foundation" for _, _, top in _imports(package)), package
