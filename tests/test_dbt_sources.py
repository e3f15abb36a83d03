"""The dbt sources must say exactly what the contracts and the landing job write."""

from pathlib import Path

import duckdb
import yaml

from ingestion.contracts import CONTRACTS
from smartcity.dbt_sources import (
    DUCKDB_TYPES,
    LANDING_COLUMNS,
    SOURCES_FILE,
    duckdb_relation,
    render,
)
from streaming.job import DEAD_LETTER_COLUMNS as LANDING_DEAD_LETTER_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def declared_tables() -> dict[str, dict]:
    document = yaml.safe_load(SOURCES_FILE.read_text())
    (source,) = [s for s in document["sources"] if s["name"] == "smartcity"]
    return {table["name"]: table for table in source["tables"]}


def test_every_contract_has_a_source_table_and_a_dead_letter_table_and_no_other() -> None:
    expected = {c.source for c in CONTRACTS} | {f"dead_letter_{c.source}" for c in CONTRACTS}
    assert set(declared_tables()) == expected


def test_declared_dead_letter_columns_are_what_the_landing_job_writes() -> None:
    for contract in CONTRACTS:
        table = declared_tables()[f"dead_letter_{contract.source}"]
        assert tuple(c["name"] for c in table["columns"]) == LANDING_DEAD_LETTER_COLUMNS


def test_declared_columns_match_the_contracts_in_name_type_and_order() -> None:
    tables = declared_tables()
    for contract in CONTRACTS:
        declared = [(c["name"], c["data_type"]) for c in tables[contract.source]["columns"]]
        expected = [(f.name, DUCKDB_TYPES[f.type]) for f in contract.fields]
        expected += [(name, kind) for name, kind, _ in LANDING_COLUMNS]
        assert declared == expected, f"{contract.source} drifted from its contract"


def test_committed_sources_file_is_the_generated_one() -> None:
    assert SOURCES_FILE.read_text() == render(), (
        "run `smartcity dbt-sources --write` after changing ingestion/contracts.py"
    )


def test_every_source_table_has_one_staging_model() -> None:
    staging = ROOT / "dbt_project" / "models" / "staging" / "smartcity"
    for table in declared_tables():
        model = staging / f"stg_smartcity__{table}.sql"
        assert model.exists(), model
        assert f"source('smartcity', '{table}')" in model.read_text()


def lake_relation(table: dict, lake: Path) -> str:
    return duckdb_relation(table, str(lake))


def test_a_source_with_no_files_yet_reads_as_empty_with_the_declared_types(tmp_path: Path) -> None:
    for name, table in declared_tables().items():
        result = duckdb.execute(f"select * from {lake_relation(table, tmp_path)}")
        found = {column[0]: str(column[1]).lower() for column in result.description}
        declared = {c["name"]: c["data_type"] for c in table["columns"]}
        assert {k: v for k, v in found.items() if k in declared} == declared, name
        assert result.fetchall() == []


def test_accepted_values_in_staging_are_the_contract_enumerations() -> None:
    models = yaml.safe_load((SOURCES_FILE.parent / "_smartcity__models.yml").read_text())
    by_model = {m["name"]: m for m in models["models"]}
    renames = {"status": "incident_status"}
    for contract in CONTRACTS:
        model = by_model[f"stg_smartcity__{contract.source}"]
        columns = {c["name"]: c for c in model.get("columns", [])}
        for field in contract.fields:
            if not field.allowed:
                continue
            column = columns.get(renames.get(field.name, field.name))
            assert column is not None, f"{model['name']} does not test {field.name}"
            (test,) = [t["accepted_values"] for t in column["data_tests"] if "accepted_values" in t]
            assert test["arguments"]["values"] == list(field.allowed), field.name
