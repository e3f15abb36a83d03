"""Every table of the lake and every engine's name for every type, declared once.

The event contracts (:mod:`foundation.contracts`) say what an event holds; this module
says how the lake stores it: the raw table of each source (the contract's fields, the
columns the landing job adds, the partition keys) and the one dead-letter table that
every source shares. The Spark schemas, the Glue and Trino tables, the PostgreSQL
loader and the dbt source and staging definitions are all derived from here, each
through :data:`ENGINE_TYPES`; tests fail when any of them drifts.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.contracts import CONTRACTS, Contract, FieldType


@dataclass(frozen=True)
class EngineTypes:
    """One logical type as each engine spells it."""

    spark: str  # Spark SQL DDL, as the landing job reads and validates
    duckdb: str
    postgres: str  # PostgreSQL, the Redshift family's stand-in in the tests


ENGINE_TYPES: dict[FieldType, EngineTypes] = {
    FieldType.STRING: EngineTypes("string", "varchar", "text"),
    FieldType.INT: EngineTypes("int", "integer", "integer"),
    FieldType.LONG: EngineTypes("bigint", "bigint", "bigint"),
    FieldType.DOUBLE: EngineTypes("double", "double", "double precision"),
    # Event time is UTC by contract, so the lake stores it without a zone, to the
    # microsecond (Iceberg's `timestamp`), and every engine's marts keep microseconds
    # (tests: test_timestamps_are_microseconds_... in tests/e2e/test_pipeline.py, and
    # test_trino.py).
    FieldType.TIMESTAMP: EngineTypes("timestamp_ntz", "timestamp", "timestamp"),
    FieldType.STRING_ARRAY: EngineTypes("array<string>", "varchar[]", "text[]"),
    FieldType.DATE: EngineTypes("date", "date", "date"),
    FieldType.BINARY: EngineTypes("binary", "blob", "bytea"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: FieldType
    description: str


@dataclass(frozen=True)
class LakeTable:
    """A dataset of the lake: Parquet files under ``<lake>/<folder>``, partitioned
    Hive-style (``key=value`` folders) by ``partition_keys`` in that order."""

    name: str
    folder: str
    description: str
    columns: tuple[Column, ...]  # stored in the files, in the order they are written
    partition_keys: tuple[Column, ...]  # stored in the folder names only

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """What a reader of the table sees: file columns, then partition keys."""
        return self.columns + self.partition_keys

    def column_names(self) -> list[str]:
        return [c.name for c in self.all_columns]


# Added by the landing job after the contract's fields, in the order it writes them.
LANDING_COLUMNS: tuple[Column, ...] = (
    Column("kafka_topic", FieldType.STRING, "Kafka topic the event was read from."),
    Column("kafka_partition", FieldType.INT, "Kafka partition the event was read from."),
    Column("kafka_offset", FieldType.LONG, "Offset of the event in its Kafka partition."),
    Column("kafka_published_at", FieldType.TIMESTAMP, "When Kafka received the event, UTC."),
    Column("landed_at", FieldType.TIMESTAMP, "When the landing job processed the event, UTC."),
)
RAW_PARTITION_KEYS: tuple[Column, ...] = (
    Column("event_date", FieldType.DATE, "Partition: UTC date of event_at."),
    Column("event_hour", FieldType.INT, "Partition: UTC hour of event_at (0-23)."),
)

# Why a record was refused, in the order the checks run: the first failing check names
# the reason. Stable strings that dead-letter readers group on.
REASON_CODES: tuple[str, ...] = (
    "empty_payload",
    "payload_too_large",
    "not_utf8",
    "not_json",
    "not_an_object",
    "null_key",
    "unknown_event_type",
    "wrong_topic",
    "unknown_schema_version",
    "missing_required_field",
    "wrong_type",
    "unstorable_text",
    "bad_timestamp",
    "malformed_id",
    "value_not_allowed",
    "out_of_range",
    "event_time_out_of_range",
)

DEAD_LETTER_COLUMNS: tuple[Column, ...] = (
    Column("reason_code", FieldType.STRING, "Why the record was refused; one of the reason codes."),
    Column("reason_message", FieldType.STRING, "The refusal in words, naming the field at fault."),
    Column(
        "raw_key",
        FieldType.STRING,
        "The Kafka key as text; null when it is absent or not valid UTF-8 text (raw_key_bytes"
        " has it).",
    ),
    Column("raw_key_bytes", FieldType.BINARY, "The Kafka key's exact bytes."),
    Column(
        "raw_value",
        FieldType.STRING,
        "The Kafka value as text; null when it is absent or not valid UTF-8 text without NUL"
        " characters (raw_value_bytes has it).",
    ),
    Column("raw_value_bytes", FieldType.BINARY, "The Kafka value's exact bytes."),
    *LANDING_COLUMNS[:4],
    Column(
        "dead_lettered_at", FieldType.TIMESTAMP, "When the landing job refused the record, UTC."
    ),
)
DEAD_LETTER_PARTITION_KEYS: tuple[Column, ...] = (
    Column("source", FieldType.STRING, "Partition: source whose topic the record was read from."),
    Column("dead_letter_date", FieldType.DATE, "Partition: UTC date of dead_lettered_at."),
)


def raw_table(contract: Contract) -> LakeTable:
    return LakeTable(
        name=contract.source,
        folder=f"raw/{contract.source}",
        description=f"{contract.description} Raw, as landed; may hold duplicates.",
        columns=tuple(Column(f.name, f.type, f.description) for f in contract.fields)
        + LANDING_COLUMNS,
        partition_keys=RAW_PARTITION_KEYS,
    )


DEAD_LETTERS = LakeTable(
    name="dead_letters",
    folder="dead_letters",
    description=(
        "Every record that failed validation, from every source, with the reason and the"
        " original bytes. Nothing refused is dropped: it lands here."
    ),
    columns=DEAD_LETTER_COLUMNS,
    partition_keys=DEAD_LETTER_PARTITION_KEYS,
)

RAW_TABLES: tuple[LakeTable, ...] = tuple(raw_table(c) for c in CONTRACTS)
LAKE_TABLES: tuple[LakeTable, ...] = (*RAW_TABLES, DEAD_LETTERS)


def dead_letter_folder(source: str) -> str:
    """Where one source's dead letters lie: its ``source=`` partition of the shared table
    (the landing job publishes there; the source is in the path, not in the files)."""
    return f"{DEAD_LETTERS.folder}/{DEAD_LETTERS.partition_keys[0].name}={source}"
