"""Spark schemas derived from the event contracts and the lake's tables, never written
by hand."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import types as T

from foundation.contracts import Contract, FieldType
from foundation.lake_tables import ENGINE_TYPES, Column, LakeTable

# Spark's DDL names as type objects: Spark's own parser needs a running session.
_SPARK_DDL: dict[str, T.DataType] = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "bigint": T.LongType(),
    "double": T.DoubleType(),
    "timestamp_ntz": T.TimestampNTZType(),
    "array<string>": T.ArrayType(T.StringType()),
    "date": T.DateType(),
    "binary": T.BinaryType(),
}


def spark_type(kind: FieldType) -> T.DataType:
    """The type the lake stores, as Spark names it in :data:`ENGINE_TYPES`."""
    return _SPARK_DDL[ENGINE_TYPES[kind].spark]


def wire_type(kind: FieldType) -> T.DataType:
    # Timestamps travel as ISO 8601 strings; the job parses them itself so that a bad one
    # is reported as such instead of turning into a silent null.
    return T.StringType() if kind is FieldType.TIMESTAMP else spark_type(kind)


def wire_schema(contract: Contract) -> T.StructType:
    """The JSON payload as the producer writes it."""
    return T.StructType(
        [T.StructField(f.name, wire_type(f.type), nullable=True) for f in contract.fields]
    )


def landed_schema(contract: Contract) -> T.StructType:
    """The contract's columns as they are stored in the raw Parquet."""
    return T.StructType(
        [T.StructField(f.name, spark_type(f.type), nullable=True) for f in contract.fields]
    )


def _struct(columns: Iterable[Column]) -> T.StructType:
    return T.StructType([T.StructField(c.name, spark_type(c.type), nullable=True) for c in columns])


def table_schema(table: LakeTable) -> T.StructType:
    """Every column of the table, partition keys last, as its files store them: Iceberg
    partitions by transforms of file columns, and Hive-style readers find the same keys
    in the folder names."""
    return _struct(table.all_columns)
