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

# What the landing job writes for a record that failed validation (streaming/job.py).
DEAD_LETTER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("source", "varchar", "Source whose topic the record was read from."),
    ("reason_code", "varchar", "Why the record was refused; one of the landing job's codes."),
    ("reason_message", "varchar", "The refusal in words, naming the field at fault."),
    ("raw_key", "varchar", "The Kafka key as text."),
    ("raw_value", "varchar", "The Kafka value as text."),
    ("raw_value_bytes", "blob", "The Kafka value's exact bytes, for payloads that are not UTF-8."),
    ("kafka_topic", "varchar", "Kafka topic the record was read from."),
    ("kafka_partition", "integer", "Kafka partition the record was read from."),
    ("kafka_offset", "bigint", "Offset of the record in its Kafka partition."),
    ("kafka_published_at", "timestamp", "When Kafka received the record, UTC."),
    ("dead_lettered_at", "timestamp", "When the landing job refused the record, UTC."),
    ("dead_letter_date", "date", "Partition: UTC date of dead_lettered_at."),
)
# Where the raw tables live on engines that do not read the lake directly: the Glue
# database (Athena), a Spectrum external schema over it (Redshift), or the schema that
# `smartcity load-postgres` fills. One name, the same default as the Glue database.
LAKE_PLACEHOLDER = '{{ env_var("SMARTCITY_LAKE_URI", "data/lake") }}'
RAW_SCHEMA = "{{ env_var('SMARTCITY_RAW_SCHEMA', 'smartcity_raw') }}"


def external_location(dataset: str, columns: list[dict]) -> str:
    """How DuckDB reads a lake dataset (``raw/<source>``, ``dead_letter/<source>``).

    The typed empty row set joined by name keeps a source that has not landed any file
    yet readable, with the declared columns, instead of failing the whole build.
    """
    lake = LAKE_PLACEHOLDER
    typed_empty = ", ".join(f"cast(null as {c['data_type']}) as {c['name']}" for c in columns)
    partitions = "/*" * sum(1 for c in columns if c["description"].startswith("Partition:"))
    return (
        f"(select * from read_parquet('{lake}/{dataset}{partitions}/*.parquet', "
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
        # Under meta: only dbt-duckdb reads it; other adapters find the table by schema.
        "config": {
            "meta": {"external_location": external_location(f"raw/{contract.source}", columns)}
        },
        "columns": columns,
    }


def _dead_letter_table(contract: Contract) -> dict:
    columns = [
        {"name": name, "description": text, "data_type": kind}
        for name, kind, text in DEAD_LETTER_COLUMNS
    ]
    location = external_location(f"dead_letter/{contract.source}", columns)
    return {
        "name": f"dead_letter_{contract.source}",
        "description": (
            f"Records read from the {contract.source} topic that failed validation, each with"
            " the reason and the original bytes. Nothing refused is dropped: it lands here."
        ),
        # No freshness: a quiet dead-letter table is the good case.
        "config": {"meta": {"external_location": location}, "freshness": None},
        "columns": columns,
    }


def tables() -> list[dict]:
    """Every source table: the five raw datasets, then their dead letters."""
    return [_table(contract) for contract in CONTRACTS] + [
        _dead_letter_table(contract) for contract in CONTRACTS
    ]


def duckdb_relation(table: dict, lake_uri: str) -> str:
    """A table's DuckDB read expression with the lake filled in, as dbt renders it."""
    location = table["config"]["meta"]["external_location"]
    return location.replace(LAKE_PLACEHOLDER, lake_uri.rstrip("/"))


def render() -> str:
    document = {
        "version": 2,
        "sources": [
            {
                "name": "smartcity",
                "schema": RAW_SCHEMA,
                "description": (
                    "Raw city sensor events landed by the Spark job as Parquet in the lake, "
                    "partitioned by event_date and event_hour, and the records that failed "
                    "validation (dead letters). Generated from "
                    "ingestion/contracts.py by `smartcity dbt-sources --write`."
                ),
                "config": {
                    "loaded_at_field": "landed_at",
                    "freshness": {
                        "warn_after": {"count": 1, "period": "hour"},
                        "error_after": {"count": 24, "period": "hour"},
                    },
                },
                "tables": tables(),
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
