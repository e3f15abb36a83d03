"""Plain dbt at the repository root, as an analytics engineer runs it: no wrapper, no
~/.dbt, no DBT_PROFILES_DIR. It finds the committed profiles and uses the same lake and
database as `smartcity dbt` for the same SMARTCITY_DATA_DIR; on a lake where nothing has
landed yet it builds empty marts instead of failing on missing files."""

from __future__ import annotations

import json
from pathlib import Path

from foundation.contracts import CONTRACTS
from smartcity import pipeline
from smartcity.dbt import warehouse
from smartcity.settings import Settings
from tests.mart_comments import mart_comments
from tests.plain_dbt import plain_dbt


def test_plain_dbt_build_fills_the_database_smartcity_reads(
    empty_lake_build: tuple[Path, Settings, str],
) -> None:
    _, settings, output = empty_lake_build
    assert "ERROR=0" in output
    assert settings.duckdb_path.exists()
    assert pipeline.staged_rows(settings) == {c.source: 0 for c in CONTRACTS}
    assert pipeline.warehouse_rows(settings, ["fct_district_hourly_traffic"]) == {
        "fct_district_hourly_traffic": 0
    }
    assert pipeline.warehouse_rows(settings, ["dim_districts"]) == {"dim_districts": 9}
    with warehouse.connect(settings.duckdb_path) as connection:
        schemas = dict(
            connection.execute(
                "select table_name, table_schema from information_schema.tables"
            ).fetchall()
        )
    assert schemas["fct_trips"] == "main_marts"
    assert schemas["stg_smartcity__gps_fixes"] == "main_staging"
    assert schemas["int_trips_split"] == "main_intermediate"
    assert schemas["districts"] == "main_reference"


def test_plain_dbt_docs_and_freshness_find_the_profiles(
    empty_lake_build: tuple[Path, Settings, str], tmp_path: Path
) -> None:
    home, settings, _ = empty_lake_build
    docs = plain_dbt(home, settings.data_dir, "docs", "generate", "--target-path", str(tmp_path))
    assert docs.returncode == 0, docs.stdout[-3000:]
    assert (tmp_path / "catalog.json").exists()
    # Nothing has landed, so every source is stale: freshness reads each source of the
    # lake and says so, rather than failing to find a profile.
    freshness = plain_dbt(home, settings.data_dir, "source", "freshness")
    for contract in CONTRACTS:
        assert f"ERROR STALE freshness of smartcity.{contract.source} " in freshness.stdout


def test_the_marts_descriptions_are_written_into_the_database(
    empty_lake_build: tuple[Path, Settings, str],
) -> None:
    # persist_docs: what BI users read in their tools is what the models' YAML says.
    _, settings, _ = empty_lake_build
    manifest = json.loads((settings.data_dir / "target" / "manifest.json").read_text())
    marts = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "marts" in node["tags"]
    }
    tables, columns = mart_comments(settings.duckdb_path)
    assert set(tables) == set(marts)
    for name, node in marts.items():
        assert tables[name] == node["description"], name
        for column, documented in node["columns"].items():
            assert columns[(name, column)] == documented["description"], (name, column)
