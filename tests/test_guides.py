"""The guides for adding a source and a warehouse target list every file to touch: for
each of today's sources and adapters, each file the guide lists holds it. A new source
or target that misses one fails here, naming the file; a file the guide lists without a
check here (or the reverse) fails too."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import yaml

from foundation.contracts import CONTRACTS, Contract
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity.settings import PROJECT_ROOT

STAGING = PROJECT_ROOT / "dbt_project/models/staging/smartcity"


def listed_files(guide: str) -> list[str]:
    """The files of the guide's table (the ones every source or target touches)."""
    text = (PROJECT_ROOT / "docs" / guide).read_text()
    table = text.split("Only where it applies")[0]
    return re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE)


def _read(path: str) -> str:
    return (PROJECT_ROOT / path).read_text()


_SIMULATED: set[str] = set()


def _simulated(contract: Contract) -> bool:
    if not _SIMULATED:
        _SIMULATED.update(c.source for c, _ in simulate(SimulationOptions(events=5000)))
    return contract.source in _SIMULATED


def _documented(contract: Contract) -> bool:
    # Blocks may sit in any docs file of the models (the staging folder has its own).
    docs = "".join(p.read_text() for p in (PROJECT_ROOT / "dbt_project/models").rglob("*.md"))
    return all(f"{{% docs {f.staged_name} %}}" in docs for f in contract.fields if f.staged_name)


SOURCE_CHECKS: dict[str, Callable[[Contract], bool]] = {
    "foundation/contracts.py": lambda c: c in CONTRACTS,
    "ingestion/simulators/world.py": _simulated,
    f"{STAGING.relative_to(PROJECT_ROOT)}/_smartcity__sources.yml": lambda c: any(
        t["name"] == c.source
        for t in yaml.safe_load((STAGING / "_smartcity__sources.yml").read_text())["sources"][0][
            "tables"
        ]
    ),
    f"{STAGING.relative_to(PROJECT_ROOT)}/_smartcity__models.yml": lambda c: (
        f"name: stg_smartcity__{c.source}\n" in (STAGING / "_smartcity__models.yml").read_text()
    ),
    f"{STAGING.relative_to(PROJECT_ROOT)}/stg_smartcity__<source>.sql": lambda c: (
        STAGING / f"stg_smartcity__{c.source}.sql"
    ).is_file(),
    "dbt_project/models/_columns__docs.md": _documented,
    "docs/data.md": lambda c: f"| `{c.source}` |" in _read("docs/data.md"),
}


def test_the_source_guide_lists_exactly_the_checked_files() -> None:
    assert listed_files("adding-a-source.md") == list(SOURCE_CHECKS)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.source)
def test_every_source_is_in_every_file_the_guide_lists(contract: Contract) -> None:
    missing = [path for path, holds in SOURCE_CHECKS.items() if not holds(contract)]
    assert missing == [], f"{contract.source} is missing from {missing}"


def adapters() -> set[str]:
    """The adapter of each target in profiles.yml."""
    outputs = yaml.safe_load(_read("profiles.yml"))["smartcity"]["outputs"]
    return {output["type"] for output in outputs.values()}


def test_the_target_guide_lists_files_that_name_every_adapter() -> None:
    files = listed_files("adding-a-warehouse-target.md")
    assert {"profiles.yml", "foundation/environment.py", "pyproject.toml"} <= set(files)
    assert adapters() == {"duckdb", "postgres", "trino", "athena", "redshift"}
    missing = {
        path: sorted(a for a in adapters() if a not in _read(path).lower()) for path in files
    }
    assert {path: names for path, names in missing.items() if names} == {}
