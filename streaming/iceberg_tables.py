"""The lake's tables as Apache Iceberg tables, derived from ``ingestion/schema.py``.

The partition rule is declared here once, as Iceberg transforms of file columns: raw
events by the hour of ``event_at``, dead letters by source and the day they were
refused. Every engine that reads Iceberg derives the partitions from the table's spec.
The files also hold the Hive layout's partition columns (``event_date``, ``event_hour``,
``source``, ``dead_letter_date``) as ordinary columns, and lie in its folders: readers
not yet moved to Iceberg read the same files as before (docs/architecture.md).
"""

from __future__ import annotations

import contextlib

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, HourTransform, IdentityTransform, Transform
from pyiceberg.types import (
    BinaryType,
    DateType,
    DoubleType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

from ingestion.contracts import FieldType
from ingestion.schema import (
    DEAD_LETTER_PARTITION_KEYS,
    DEAD_LETTERS,
    LAKE_TABLES,
    Column,
    LakeTable,
)

# Iceberg's first partition field id, as its own libraries number them.
FIRST_PARTITION_FIELD_ID = 1000
SOURCE_COLUMN = DEAD_LETTER_PARTITION_KEYS[0]

PARTITIONING: dict[str, tuple[tuple[str, Transform], ...]] = {
    table.name: (("event_at", HourTransform()),) for table in LAKE_TABLES if table != DEAD_LETTERS
} | {
    DEAD_LETTERS.name: (
        (SOURCE_COLUMN.name, IdentityTransform()),
        ("dead_lettered_at", DayTransform()),
    )
}

# Version 2: the row-level deletes that Iceberg's maintenance and merges use; every
# engine here reads it.
TABLE_PROPERTIES = {"format-version": "2"}


def _iceberg_type(field_type: FieldType, next_id: list[int]) -> IcebergType:
    if field_type is FieldType.STRING_ARRAY:
        next_id[0] += 1
        return ListType(element_id=next_id[0], element_type=StringType(), element_required=False)
    return {
        FieldType.STRING: StringType(),
        FieldType.INT: IntegerType(),
        FieldType.LONG: LongType(),
        FieldType.DOUBLE: DoubleType(),
        # UTC by contract, stored without a zone, to the microsecond.
        FieldType.TIMESTAMP: TimestampType(),
        FieldType.DATE: DateType(),
        FieldType.BINARY: BinaryType(),
    }[field_type]


def file_columns(table: LakeTable) -> tuple[Column, ...]:
    """The columns the table's files hold, in the order the landing job writes them:
    every column of the lake schema, the Hive-style partition keys included, so that a
    reader of the Iceberg table sees what a reader of the folders sees."""
    return table.all_columns


def iceberg_schema(table: LakeTable) -> Schema:
    columns = file_columns(table)
    # Top-level fields take 1..n, in order; a list's element takes the next free id.
    next_id = [len(columns)]
    fields = [
        NestedField(
            field_id=position,
            name=column.name,
            field_type=_iceberg_type(column.type, next_id),
            required=False,  # the contract checks presence; the table never refuses a row
            doc=column.description,
        )
        for position, column in enumerate(columns, start=1)
    ]
    return Schema(*fields)


def partition_spec(table: LakeTable, schema: Schema) -> PartitionSpec:
    return PartitionSpec(
        *(
            PartitionField(
                source_id=schema.find_field(column).field_id,
                field_id=FIRST_PARTITION_FIELD_ID + position,
                transform=transform,
                name=f"{column}_{str(transform).lower()}"
                if str(transform) != "identity"
                else column,
            )
            for position, (column, transform) in enumerate(PARTITIONING[table.name])
        )
    )


def ensure_tables(catalog: Catalog, namespace: str, lake_uri: str) -> dict[str, Table]:
    """Every table of the lake in ``namespace``, created where missing at the folder the
    lake's layout gives it (``<lake>/raw/<source>``, ``<lake>/dead_letters``)."""
    # Asked first: a landing role may read a namespace that it may not create.
    if not catalog.namespace_exists(namespace):
        with contextlib.suppress(NamespaceAlreadyExistsError):
            catalog.create_namespace(namespace)
    tables = {}
    for table in LAKE_TABLES:
        identifier = (namespace, table.name)
        try:
            tables[table.name] = catalog.load_table(identifier)
        except NoSuchTableError:
            tables[table.name] = _create(catalog, identifier, table, lake_uri)
    return tables


def _create(catalog: Catalog, identifier: tuple[str, str], table: LakeTable, lake: str) -> Table:
    schema = iceberg_schema(table)
    try:
        return catalog.create_table(
            identifier,
            schema=schema,
            partition_spec=partition_spec(table, schema),
            location=f"{lake.rstrip('/')}/{table.folder}",
            properties=TABLE_PROPERTIES,
        )
    except TableAlreadyExistsError:  # another landing process created it first
        return catalog.load_table(identifier)
