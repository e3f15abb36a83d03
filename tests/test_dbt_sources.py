"""The dbt sources and staging tests must say exactly what the lake's schema says."""

import re
from pathlib import Path

import duckdb
import yaml

from foundation.contracts import CONTRACTS
from foundation.lake_tables import DEAD_LETTERS, ENGINE_TYPES, LAKE_TABLES, REASON_CODES
from smartcity.dbt.duckdb_lake import create_lake_views
from smartcity.dbt.sources import (
    ENUMERATIONS_FILE,
    SOURCES_FILE,
    STAGING_MODELS_FILE,
    render_enumerations,
    render_sources,
    render_staging_models,
    stale_files,
)
from smartcity.dbt.sources import enumerations as generated_enumerations
from streaming.iceberg_catalogs import local_catalog
from streaming.iceberg_tables import ensure_tables

ROOT = Path(__file__).resolve().parents[1]


def declared_tables() -> dict[str, dict]:
    document = yaml.safe_load(SOURCES_FILE.read_text())
    (source,) = [s for s in document["sources"] if s["name"] == "smartcity"]
    return {table["name"]: table for table in source["tables"]}


def staging_models() -> dict[str, dict]:
    document = yaml.safe_load(STAGING_MODELS_FILE.read_text())
    return {model["name"]: model for model in document["models"]}


def test_every_lake_table_is_a_source_table_and_nothing_else() -> None:
    assert list(declared_tables()) == [t.name for t in LAKE_TABLES]
    assert set(declared_tables()) == {c.source for c in CONTRACTS} | {"dead_letters"}


def test_declared_columns_are_the_lake_tables_in_name_type_and_order() -> None:
    tables = declared_tables()
    for table in LAKE_TABLES:
        declared = [(c["name"], c["data_type"]) for c in tables[table.name]["columns"]]
        expected = [(c.name, ENGINE_TYPES[c.type].duckdb) for c in table.all_columns]
        assert declared == expected, f"{table.name} drifted from foundation/lake_tables.py"


def test_committed_files_are_the_generated_ones() -> None:
    assert SOURCES_FILE.read_text() == render_sources()
    assert STAGING_MODELS_FILE.read_text() == render_staging_models()
    assert ENUMERATIONS_FILE.read_text() == render_enumerations()
    assert stale_files() == [], "run `smartcity dbt-sources --write`"


def test_every_source_table_has_one_staging_model() -> None:
    staging = ROOT / "dbt_project" / "models" / "staging" / "smartcity"
    for table in declared_tables():
        model = staging / f"stg_smartcity__{table}.sql"
        assert model.exists(), model
        assert f"source('smartcity', '{table}')" in model.read_text()
    assert sorted(p.stem for p in staging.glob("*.sql")) == sorted(
        f"stg_smartcity__{t}" for t in declared_tables()
    )


def assert_empty_with_declared_columns(connection: duckdb.DuckDBPyConnection, schema: str) -> None:
    for table in LAKE_TABLES:
        result = connection.execute(f"select * from {schema}.{table.name}")
        found = [(column[0], str(column[1]).lower()) for column in result.description]
        declared = [(c.name, ENGINE_TYPES[c.type].duckdb) for c in table.all_columns]
        assert found == declared, table.name
        assert result.fetchall() == []


def test_a_lake_with_nothing_landed_reads_as_empty_tables_with_the_declared_types(
    tmp_path: Path,
) -> None:
    connection = duckdb.connect()
    create_lake_views(connection, str(tmp_path), "smartcity_raw", "smartcity_raw")
    assert_empty_with_declared_columns(connection, "smartcity_raw")
    assert list(tmp_path.iterdir()) == []  # reading created nothing in the lake


def test_created_tables_read_as_the_declared_types_before_any_batch(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ensure_tables(local_catalog(lake), "smartcity_raw", f"file://{lake.resolve()}")
    connection = duckdb.connect()
    create_lake_views(connection, str(lake), "smartcity_raw", "raw_views")
    assert_empty_with_declared_columns(connection, "raw_views")
    # The views read the tables' metadata, not an empty stand-in.
    [(sql,)] = connection.execute(
        "select sql from duckdb_views() where schema_name = 'raw_views' and view_name = 'gps_fixes'"
    ).fetchall()
    assert "iceberg_scan(" in sql


def _tests_of(model: dict, column: str) -> list:
    (found,) = [c for c in model["columns"] if c["name"] == column]
    return found.get("data_tests", [])


def _accepted(tests: list) -> list:
    (values,) = [
        t["accepted_values"]["arguments"]["values"] for t in tests if "accepted_values" in t
    ]
    return values


def test_staging_tests_are_the_contract_rules() -> None:
    models = staging_models()
    for contract in CONTRACTS:
        model = models[f"stg_smartcity__{contract.source}"]
        for field in contract.fields:
            if field.staged_name is None:
                continue
            tests = _tests_of(model, field.staged_name)
            if field.allowed:
                assert _accepted(tests) == list(field.allowed), field.name
            if field.minimum is not None:
                (between,) = [
                    t["dbt_utils.accepted_range"]["arguments"]
                    for t in tests
                    if "dbt_utils.accepted_range" in t
                ]
                assert between["min_value"] == field.minimum
                assert between["max_value"] == field.maximum
            assert ("not_null" in tests) == field.required, field.name
        # uniqueness over all time: a test of the once-a-day selection (selectors.yml)
        assert {"unique": {"config": {"tags": ["whole_history"]}}} in _tests_of(model, "event_id")


def test_dead_letter_staging_accepts_exactly_the_reason_codes_and_sources() -> None:
    model = staging_models()["stg_smartcity__dead_letters"]
    assert _accepted(_tests_of(model, "reason_code")) == list(REASON_CODES)
    assert _accepted(_tests_of(model, "source_name")) == [c.source for c in CONTRACTS]
    columns = [c["name"] for c in model["columns"]]
    stored = [c.name for c in DEAD_LETTERS.all_columns if c.name != "source"]
    assert set(stored) <= set(columns)


def test_staging_models_are_documented_for_every_column_they_build() -> None:
    docs = "".join(p.read_text() for p in (ROOT / "dbt_project" / "models").rglob("*.md"))
    for model in staging_models().values():
        for column in model["columns"]:
            assert f"{{% docs {column['name']} %}}" in docs, (model["name"], column["name"])


def _accepted_values_lists(node: object) -> list[list]:
    """Every literal list given to an accepted_values test anywhere in a YAML document."""
    found: list[list] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "accepted_values" and isinstance(value, dict):
                values = value.get("arguments", value).get("values")
                if isinstance(values, list):
                    found.append(values)
            else:
                found += _accepted_values_lists(value)
    elif isinstance(node, list):
        for item in node:
            found += _accepted_values_lists(item)
    return found


def test_no_hand_written_file_copies_an_enumeration() -> None:
    """Downstream of staging, tests name an enumeration (contract_values) instead."""
    enumerations = {tuple(values) for values in generated_enumerations().values()}
    generated = {STAGING_MODELS_FILE, SOURCES_FILE}
    copies = {
        str(path.relative_to(ROOT)): values
        for path in [*(ROOT / "dbt_project").rglob("*.yml"), *(ROOT / "seeds").rglob("*.yml")]
        if path not in generated
        for values in _accepted_values_lists(yaml.safe_load(path.read_text()))
        if tuple(values) in enumerations
    }
    assert copies == {}


def test_the_data_doc_explains_exactly_the_reason_codes_in_their_order() -> None:
    readme = (ROOT / "docs" / "data.md").read_text()
    start = readme.index("and a reason: ")
    explained = readme[start : readme.index("The first failing", start)]
    named = [code for code in re.findall(r"`([a-z0-9_]+)`", explained) if code]
    assert named == list(REASON_CODES)
