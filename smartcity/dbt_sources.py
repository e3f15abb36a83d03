"""Render the dbt source definitions from the event contracts.

The committed ``_smartcity__sources.yml`` is this module's output; a test fails when
it drifts from the contracts. After changing a contract, run
``smartcity dbt-sources --write``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ingestion.contracts import CONTRACTS, Contract, FieldType
from smartcity.settings import PROJECT_ROOT
from streaming.schemas import LANDING_COLUMNS as SPARK_LANDING_COLUMNS

SOURCES_FILE = (
    PROJECT_ROOT / "dbt_project" / "models" / "staging" / "smartcity" / "_smartcity__sources.yml"
)

DUCKDB_TYPES: dict[FieldType, str] = {
    FieldType.STRING: "varchar",
    FieldType.INT: "integer",
    FieldType.LONG: "bigint",
    FieldType.DOUBLE: "double",
    FieldType.TIMESTAMP: "timestamp",
    FieldType.STRING_ARRAY: "varchar[]",
}

# DuckDB's names for the Spark types of the landing columns, and the partitions.
_DUCKDB_OF_SPARK = {
    "string": "varchar",
    "int": "integer",
    "bigint": "bigint",
    "timestamp_ntz": "timestamp",
}
LANDING_COLUMNS: tuple[tuple[str, str, str], ...] = (
    *[
        (name, _DUCKDB_OF_SPARK[kind.simpleString()], text)
        for name, kind, text in SPARK_LANDING_COLUMNS
    ],
    ("event_date", "date", "Partition: UTC date of event_at."),
    ("event_hour", "bigint", "Partition: UTC hour of event_at."),
)


def external_location(source: str, columns: list[dict]) -> str:
    """How DuckDB reads a raw dataset: its Parquet files, with hive partitions.

    The typed empty row set joined by name keeps a source that has not landed any file
    yet readable, with the declared columns, instead of failing the whole build.
    """
    lake = '{{ env_var("SMARTCITY_LAKE_URI", "data/lake") }}'
    typed_empty = ", ".join(f"cast(null as {c['data_type']}) as {c['name']}" for c in columns)
    return (
        f"(select * from read_parquet('{lake}/raw/{source}/*/*/*.parquet', "
        "hive_partitioning = true, allow_empty = true) "
        f"union all by name (select {typed_empty} limit 0))"
    )


def _table(contract: Contract) -> dict:
    columns = [
        {
            "name": field.name,
            "description": field.description,
            "data_type": DUCKDB_TYPES[field.type],
        }
        for field in contract.fields
    ]
    columns += [
        {"name": name, "description": text, "data_type": kind}
        for name, kind, text in LANDING_COLUMNS
    ]
    return {
        "name": contract.source,
        "description": f"{contract.description} Raw, as landed; may hold duplicates.",
        "config": {"external_location": external_location(contract.source, columns)},
        "columns": columns,
    }


def render() -> str:
    document = {
        "version": 2,
        "sources": [
            {
                "name": "smartcity",
                "description": (
                    "Raw city sensor events landed by the Spark job as Parquet in the lake, "
                    "partitioned by event_date and event_hour. Generated from "
                    "ingestion/contracts.py by `smartcity dbt-sources --write`."
                ),
                "config": {
                    "loaded_at_field": "landed_at",
                    "freshness": {
                        "warn_after": {"count": 1, "period": "hour"},
                        "error_after": {"count": 24, "period": "hour"},
                    },
                },
                "tables": [_table(contract) for contract in CONTRACTS],
            }
        ],
    }
    header = (
        "# Generated from ingestion/contracts.py by `smartcity dbt-sources --write`; do not edit.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, width=100)


def write(path: Path = SOURCES_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    return path
