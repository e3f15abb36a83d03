"""The lake's tables in a Trino Hive catalog: the Trino side of the Glue registration.

Athena engine v3 is Trino; pointing a Trino server at the lake gives the same tables
Athena reads, for the tests and for anyone running Trino (or Starburst) themselves.
The columns, types and partition keys come from :mod:`ingestion.schema`. A local lake's
folders are reached through Trino's local file system (``local://``).
"""

from __future__ import annotations

from pathlib import Path

from ingestion.schema import ENGINE_TYPES, LAKE_TABLES, LakeTable


def trino_location(lake_uri: str, table: LakeTable) -> str:
    """Where Trino finds the table's files: ``s3://...`` as is, a local folder as
    ``local:///...``."""
    if "://" in lake_uri:
        return f"s3://{lake_uri.split('://', 1)[1].rstrip('/')}/{table.folder}"
    return f"local://{Path(lake_uri).resolve()}/{table.folder}"


def create_table(table: LakeTable, lake_uri: str, catalog: str, schema: str) -> str:
    columns = ",\n    ".join(f"{c.name} {ENGINE_TYPES[c.type].trino}" for c in table.all_columns)
    partitions = ", ".join(f"'{c.name}'" for c in table.partition_keys)
    return (
        f"create table if not exists {catalog}.{schema}.{table.name} (\n    {columns}\n)\n"
        f"with (\n    external_location = '{trino_location(lake_uri, table)}',\n"
        f"    format = 'PARQUET',\n    partitioned_by = array[{partitions}]\n)"
    )


def sync_partitions(table: LakeTable, catalog: str, schema: str) -> str:
    """Adds the partitions found in the lake and drops those gone (after compaction of a
    partition folder's files nothing is gone: partition folders stay)."""
    return f"call {catalog}.system.sync_partition_metadata('{schema}', '{table.name}', 'FULL')"


def registration_statements(
    lake_uri: str, catalog: str = "hive", schema: str = "smartcity_raw"
) -> list[str]:
    """Everything to run, in order, to register (or refresh) the lake in Trino."""
    statements = [f"create schema if not exists {catalog}.{schema}"]
    for table in LAKE_TABLES:
        statements.append(create_table(table, lake_uri, catalog, schema))
        statements.append(sync_partitions(table, catalog, schema))
    return statements
