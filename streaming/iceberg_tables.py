"""The lake's tables as Apache Iceberg tables, derived from ``foundation/lake_tables.py``.

The partition rule is declared once, in foundation/lake_tables.py, as Iceberg transforms
of file columns: raw events by the hour of ``event_at``, dead letters by source and the
day they were refused; here it becomes each table's partition spec, from which every
engine that reads Iceberg derives the partitions.
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
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

from foundation.contracts import FieldType
from foundation.lake_tables import (
    DEAD_LETTER_PARTITION_KEYS,
    LAKE_TABLES,
    Column,
    LakeTable,
)
from foundation.lake_tables import Transform as LakeTransform

# Iceberg's first partition field id, as its own libraries number them.
FIRST_PARTITION_FIELD_ID = 1000
SOURCE_COLUMN = DEAD_LETTER_PARTITION_KEYS[0]

# Iceberg's transform for each of the lake's (foundation/lake_tables.py declares which).
TRANSFORMS: dict[LakeTransform, Transform] = {
    LakeTransform.HOUR: HourTransform(),
    LakeTransform.DAY: DayTransform(),
    LakeTransform.IDENTITY: IdentityTransform(),
}
PARTITIONING: dict[str, tuple[tuple[str, Transform], ...]] = {
    table.name: tuple((column, TRANSFORMS[transform]) for column, transform in table.partitioning)
    for table in LAKE_TABLES
}

# Version 2: the row-level deletes that Iceberg's maintenance and merges use; every
# engine here reads it.
FORMAT_VERSION = {"format-version": "2"}
# Every batch commit writes a new metadata file: the older ones beyond the newest 100
# are deleted as commits go, or a continuous run would leave thousands per table a day.
MAINTAINED_PROPERTIES = {
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "100",
}
TABLE_PROPERTIES = FORMAT_VERSION | MAINTAINED_PROPERTIES


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


class SchemaChangeRefused(RuntimeError):
    """A table's schema cannot become the declared one without breaking its readers."""


# What a table may gain without rewriting a file, every reader of the old files still
# reading them: a new optional column (old rows read null), and a number widened.
WIDENINGS = {
    (IntegerType(), LongType()),
    (FloatType(), DoubleType()),
}


def _same_type(first: IcebergType, second: IcebergType) -> bool:
    """Equal types, field ids aside (a table numbers a list's element when created)."""
    if isinstance(first, ListType) and isinstance(second, ListType):
        return _same_type(first.element_type, second.element_type)
    return first == second


def evolve(table: Table, declared: Schema) -> list[str]:
    """Bring ``table``'s schema to ``declared`` by the changes Iceberg applies in place;
    return them, in words. Raises :class:`SchemaChangeRefused`, changing nothing, for
    any other difference: a column gone, renamed or retyped."""
    current = {field.name: field for field in table.schema().fields}
    wanted = {field.name for field in declared.fields}
    refused = [f"{name} is no longer declared" for name in current if name not in wanted]
    added, widened = [], []
    for field in declared.fields:
        old = current.get(field.name)
        if old is None:
            added.append(field)
        elif not _same_type(old.field_type, field.field_type):
            if (old.field_type, field.field_type) in WIDENINGS:
                widened.append(field)
            else:
                refused.append(
                    f"{field.name} would change from {old.field_type} to {field.field_type}"
                )
    if refused:
        raise SchemaChangeRefused(
            f"{'.'.join(table.name())}: {'; '.join(refused)}. A contract may add an optional "
            "field or widen a number (int to long, float to double); anything else needs a "
            "new field or a new table (docs/data.md, Schema evolution)."
        )
    if not added and not widened:
        return []
    names = [field.name for field in declared.fields]
    with table.update_schema() as update:
        for field in added:
            update.add_column(field.name, field.field_type, doc=field.doc)
            position = names.index(field.name)
            if position == 0:
                update.move_first(field.name)
            else:
                update.move_after(field.name, names[position - 1])
        for field in widened:
            update.update_column(field.name, field_type=field.field_type)
    return [f"added {field.name}" for field in added] + [
        f"widened {field.name} to {field.field_type}" for field in widened
    ]


def ensure_tables(catalog: Catalog, namespace: str, lake_uri: str) -> dict[str, Table]:
    """Every table of the lake in ``namespace``, created where missing at the folder the
    lake's layout gives it (``<lake>/raw/<source>``, ``<lake>/dead_letters``), and an
    existing one brought to the declared schema where Iceberg can do so in place
    (:func:`evolve`)."""
    # Asked first: a landing role may read a namespace that it may not create.
    if not catalog.namespace_exists(namespace):
        with contextlib.suppress(NamespaceAlreadyExistsError):
            catalog.create_namespace(namespace)
    tables = {}
    for table in LAKE_TABLES:
        identifier = (namespace, table.name)
        try:
            existing = catalog.load_table(identifier)
        except NoSuchTableError:
            tables[table.name] = _create(catalog, identifier, table, lake_uri)
            continue
        changed = evolve(existing, iceberg_schema(table))
        missing = {
            key: value
            for key, value in MAINTAINED_PROPERTIES.items()
            if existing.properties.get(key) != value
        }
        if missing:  # a table made before these properties were set
            with existing.transaction() as transaction:
                transaction.set_properties(missing)
        if changed or missing:
            existing = catalog.load_table(identifier)
        tables[table.name] = existing
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
