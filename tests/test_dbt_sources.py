"""The dbt sources must say exactly what the contracts and the landing job write."""

from pathlib import Path

import yaml

from ingestion.contracts import CONTRACTS
from smartcity.dbt_sources import DUCKDB_TYPES, LANDING_COLUMNS, SOURCES_FILE, render

ROOT = Path(__file__).resolve().parents[1]


def declared_tables() -> dict[str, dict]:
    document = yaml.safe_load(SOURCES_FILE.read_text())
    (source,) = [s for s in document["sources"] if s["name"] == "smartcity"]
    return {table["name"]: table for table in source["tables"]}


def test_every_contract_has_a_source_table_and_no_other() -> None:
    assert set(declared_tables()) == {c.source for c in CONTRACTS}


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
    for contract in CONTRACTS:
        model = staging / f"stg_smartcity__{contract.source}.sql"
        assert model.exists(), model
        assert f"source('smartcity', '{contract.source}')" in model.read_text()
