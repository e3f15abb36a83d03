"""Every table of the lake and every engine's name for every type, declared once.

The event contracts (:mod:`foundation.contracts`) say what an event holds; this module
says how the lake stores it: the raw table of each source (the contract's fields, the
columns the landing job adds, the partition keys) and the one dead-letter table that
every source shares. The Spark schemas, the Glue and Trino tables, the PostgreSQL
loader and the dbt source and staging definitions are all derived from here, each
through :data:`ENGINE_TYPES`; tests fail when any of them drifts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

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


class Derivation(StrEnum):
    """How a partition key's value is computed from a column of the row."""

    DATE = "date"  # the UTC date of a timestamp
    HOUR = "hour"  # the UTC hour of day of a timestamp, 0-23
    VALUE = "value"  # the value itself (the same for the whole batch)


class Transform(StrEnum):
    """Iceberg's partition transforms the lake's tables use (its own names)."""

    HOUR = "hour"
    DAY = "day"
    IDENTITY = "identity"


@dataclass(frozen=True)
class PartitionKey:
    """A Hive-style partition key: a column computed from another (``of``), which also
    names the folder its rows lie in (``<name>=<value>``)."""

    column: Column
    of: str
    derivation: Derivation


@dataclass(frozen=True)
class LakeTable:
    """A table of the lake: an Iceberg table over Parquet files under
    ``<lake>/<folder>``, partitioned by ``partitioning`` (Iceberg transforms of its
    columns), whose files lie in Hive-style folders (``key=value``) of
    ``partition_rule``'s keys, in that order. The partition rule of the lake is declared
    here, once: the landing job, the Java writer, the Iceberg tables, the dbt sources and
    macros all read it from these tables (tests/test_partition_rule.py)."""

    name: str
    folder: str
    description: str
    columns: tuple[Column, ...]  # stored in the files, in the order they are written
    partition_rule: tuple[PartitionKey, ...]  # after the columns, in the files too
    partitioning: tuple[tuple[str, Transform], ...]

    @property
    def partition_keys(self) -> tuple[Column, ...]:
        return tuple(key.column for key in self.partition_rule)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """What a reader of the table sees: file columns, then partition keys."""
        return self.columns + self.partition_keys

    def column_names(self) -> list[str]:
        return [c.name for c in self.all_columns]

    def partition_folder(self, values: Mapping[str, object]) -> str:
        """The Hive-style folder of the rows whose partition keys have ``values``."""
        return "/".join(
            f"{key.column.name}={values[key.column.name]}" for key in self.partition_rule
        )

    def partition_glob(self) -> str:
        """Every partition folder of the table, as a glob."""
        return "/".join(f"{key.column.name}=*" for key in self.partition_rule)


# Added by the landing job after the contract's fields, in the order it writes them.
LANDING_COLUMNS: tuple[Column, ...] = (
    Column("kafka_topic", FieldType.STRING, "Kafka topic the event was read from."),
    Column("kafka_partition", FieldType.INT, "Kafka partition the event was read from."),
    Column("kafka_offset", FieldType.LONG, "Offset of the event in its Kafka partition."),
    Column("kafka_published_at", FieldType.TIMESTAMP, "When Kafka received the event, UTC."),
    Column("landed_at", FieldType.TIMESTAMP, "When the landing job processed the event, UTC."),
)
# Raw events lie by the hour of their event time: Iceberg's hours(event_at), in folders of
# the hour's date and hour of day.
RAW_PARTITION_RULE: tuple[PartitionKey, ...] = (
    PartitionKey(
        Column("event_date", FieldType.DATE, "Partition: UTC date of event_at."),
        "event_at",
        Derivation.DATE,
    ),
    PartitionKey(
        Column("event_hour", FieldType.INT, "Partition: UTC hour of event_at (0-23)."),
        "event_at",
        Derivation.HOUR,
    ),
)
RAW_PARTITIONING = (("event_at", Transform.HOUR),)
RAW_PARTITION_KEYS: tuple[Column, ...] = tuple(key.column for key in RAW_PARTITION_RULE)

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
# Dead letters lie by source and the day they were refused.
DEAD_LETTER_PARTITION_RULE: tuple[PartitionKey, ...] = (
    PartitionKey(
        Column(
            "source", FieldType.STRING, "Partition: source whose topic the record was read from."
        ),
        "source",
        Derivation.VALUE,
    ),
    PartitionKey(
        Column("dead_letter_date", FieldType.DATE, "Partition: UTC date of dead_lettered_at."),
        "dead_lettered_at",
        Derivation.DATE,
    ),
)
DEAD_LETTER_PARTITIONING = (("source", Transform.IDENTITY), ("dead_lettered_at", Transform.DAY))
DEAD_LETTER_PARTITION_KEYS: tuple[Column, ...] = tuple(
    key.column for key in DEAD_LETTER_PARTITION_RULE
)


def raw_table(contract: Contract) -> LakeTable:
    return LakeTable(
        name=contract.source,
        folder=f"raw/{contract.source}",
        description=f"{contract.description} Raw, as landed; may hold duplicates.",
        columns=tuple(Column(f.name, f.type, f.description) for f in contract.fields)
        + LANDING_COLUMNS,
        partition_rule=RAW_PARTITION_RULE,
        partitioning=RAW_PARTITIONING,
    )


DEAD_LETTERS = LakeTable(
    name="dead_letters",
    folder="dead_letters",
    description=(
        "Every record that failed validation, from every source, with the reason and the"
        " original bytes. Nothing refused is dropped: it lands here."
    ),
    columns=DEAD_LETTER_COLUMNS,
    partition_rule=DEAD_LETTER_PARTITION_RULE,
    partitioning=DEAD_LETTER_PARTITIONING,
)

RAW_TABLES: tuple[LakeTable, ...] = tuple(raw_table(c) for c in CONTRACTS)
LAKE_TABLES: tuple[LakeTable, ...] = (*RAW_TABLES, DEAD_LETTERS)


def dead_letter_folder(source: str) -> str:
    """Where one source's dead letters lie: its ``source=`` partition of the shared table
    (the landing job publishes there; the source is in the path, not in the files)."""
    return f"{DEAD_LETTERS.folder}/{DEAD_LETTERS.partition_keys[0].name}={source}"


def landing_metadata() -> tuple[Column, ...]:
    """What every staging model carries through from the landing job: the event time,
    where in Kafka the event came from, when it landed, and its raw partition (for
    filters that prune)."""
    raw = RAW_TABLES[0]
    return (
        next(c for c in raw.columns if c.name == "event_at"),
        *LANDING_COLUMNS,
        *RAW_PARTITION_KEYS,
    )
