"""Spark schemas derived from the event contracts, never written by hand."""

from __future__ import annotations

from pyspark.sql import types as T

from ingestion.contracts import Contract, FieldType

# Timestamps travel as ISO 8601 strings; the job parses them itself so that a bad one
# is reported as such instead of turning into a silent null.
WIRE_TYPES: dict[FieldType, T.DataType] = {
    FieldType.STRING: T.StringType(),
    FieldType.INT: T.IntegerType(),
    FieldType.LONG: T.LongType(),
    FieldType.DOUBLE: T.DoubleType(),
    FieldType.TIMESTAMP: T.StringType(),
    FieldType.STRING_ARRAY: T.ArrayType(T.StringType()),
}

LANDED_TYPES: dict[FieldType, T.DataType] = {
    **WIRE_TYPES,
    # Without a zone: every *_at column is UTC by contract, and readers such as
    # DuckDB and Athena then see a plain timestamp instead of a zoned one.
    FieldType.TIMESTAMP: T.TimestampNTZType(),
}


# Columns the landing job adds after the contract's fields, in the order it writes them:
# (name, Spark type, description). The dbt sources and the Glue tables derive from this.
LANDING_COLUMNS: tuple[tuple[str, T.DataType, str], ...] = (
    ("kafka_topic", T.StringType(), "Kafka topic the event was read from."),
    ("kafka_partition", T.IntegerType(), "Kafka partition the event was read from."),
    ("kafka_offset", T.LongType(), "Offset of the event in its Kafka partition."),
    ("kafka_published_at", T.TimestampNTZType(), "When Kafka received the event, UTC."),
    ("landed_at", T.TimestampNTZType(), "When the landing job processed the event, UTC."),
)


def wire_schema(contract: Contract) -> T.StructType:
    """The JSON payload as the producer writes it."""
    return T.StructType(
        [T.StructField(f.name, WIRE_TYPES[f.type], nullable=True) for f in contract.fields]
    )


def landed_schema(contract: Contract) -> T.StructType:
    """The contract's columns as they are stored in the raw Parquet."""
    return T.StructType(
        [T.StructField(f.name, LANDED_TYPES[f.type], nullable=True) for f in contract.fields]
    )
