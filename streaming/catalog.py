"""Registering the lake's tables in the AWS Glue Data Catalog, for Athena and Spectrum.

Each raw table and the dead-letter table become external Parquet tables whose columns,
types and partition keys come from :mod:`ingestion.schema`, as the dbt sources do.
Athena finds partitions through partition projection (nothing to register as hours
pass); Redshift Spectrum ignores projection and reads only partitions registered in
the catalog, so every run also adds the partitions present in the lake that the catalog
does not list yet. Registering again updates the tables in place: run it after each
landing run (or on a schedule) to keep Spectrum's view of the lake current.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ingestion.contracts import CONTRACTS, Contract, FieldType
from ingestion.schema import DEAD_LETTERS, ENGINE_TYPES, LakeTable, raw_table

PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    },
}


class CatalogError(RuntimeError):
    """The catalog could not be written as asked."""


@dataclass(frozen=True)
class TableSpec:
    table: LakeTable
    location: str

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> list[dict[str, str]]:
        return [
            {"Name": c.name, "Type": ENGINE_TYPES[c.type].hive, "Comment": c.description}
            for c in self.table.columns
        ]

    @property
    def partition_keys(self) -> list[dict[str, str]]:
        return [
            {"Name": c.name, "Type": ENGINE_TYPES[c.type].hive, "Comment": c.description}
            for c in self.table.partition_keys
        ]


def table_spec(table: LakeTable, lake_uri: str) -> TableSpec:
    return TableSpec(table=table, location=f"{lake_uri.rstrip('/')}/{table.folder}")


def projection_parameters(spec: TableSpec, first_day: str | None = None) -> dict[str, str]:
    """Athena partition projection: partitions are computed, never registered.

    The days run from ``first_day`` (the lake's earliest, else today) to a day ahead:
    Athena computes, and lists in S3, every hour of that range for a query that does
    not filter on the partition keys, so the range starts where the data does.
    Registering again after an older event landed moves the start back."""
    parameters = {"projection.enabled": "true"}
    template = spec.location
    for column in spec.table.partition_keys:
        key = column.name
        template += f"/{key}=${{{key}}}"
        if column.type is FieldType.DATE:
            parameters |= {
                f"projection.{key}.type": "date",
                f"projection.{key}.format": "yyyy-MM-dd",
                # A day ahead: events may run up to 24 hours ahead of Kafka's clock.
                f"projection.{key}.range": f"{first_day or 'NOW'},NOW+1DAYS",
                f"projection.{key}.interval": "1",
                f"projection.{key}.interval.unit": "DAYS",
            }
        elif column.type is FieldType.INT:  # the hour of the day
            parameters |= {f"projection.{key}.type": "integer", f"projection.{key}.range": "0,23"}
        else:  # the source of a dead letter
            sources = ",".join(c.source for c in CONTRACTS)
            parameters |= {f"projection.{key}.type": "enum", f"projection.{key}.values": sources}
    parameters["storage.location.template"] = template
    return parameters


def first_day(spec: TableSpec, partitions: list[list[str]]) -> str | None:
    """The earliest day among a table's partition values, if it has a date key."""
    keys = spec.table.partition_keys
    index = next((i for i, c in enumerate(keys) if c.type is FieldType.DATE), None)
    if index is None or not partitions:
        return None
    return min(values[index] for values in partitions)


def table_input(
    spec: TableSpec, projection: bool, partitions: list[list[str]] | None = None
) -> dict[str, Any]:
    parameters = {"classification": "parquet", "EXTERNAL": "TRUE", "managed_by": "smartcity"}
    if projection:
        parameters |= projection_parameters(spec, first_day(spec, partitions or []))
    return {
        "Name": spec.name,
        "Description": spec.table.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": spec.partition_keys,
        "StorageDescriptor": {"Columns": spec.columns, "Location": spec.location, **PARQUET},
    }


def table_specs(lake_uri: str, contracts: Iterable[Contract] = CONTRACTS) -> list[TableSpec]:
    tables = [raw_table(contract) for contract in contracts] + [DEAD_LETTERS]
    return [table_spec(table, lake_uri) for table in tables]


def list_partitions(spec: TableSpec, s3_client: Any | None = None) -> list[list[str]]:
    """Partition values present under the table's location, from a listing of the lake."""
    depth = len(spec.partition_keys)
    parsed = urlparse(spec.location)
    if parsed.scheme in ("s3", "s3a"):
        assert s3_client is not None
        prefix = parsed.path.lstrip("/").rstrip("/") + "/"
        paginator = s3_client.get_paginator("list_objects_v2")
        keys = [
            item["Key"][len(prefix) :]
            for page in paginator.paginate(Bucket=parsed.netloc, Prefix=prefix)
            for item in page.get("Contents", [])
        ]
    else:
        root = Path(spec.location)
        keys = [str(p.relative_to(root)) for p in root.rglob("*.parquet")] if root.exists() else []
    found = set()
    for key in keys:
        parts = key.split("/")[:depth]
        if len(parts) == depth and all("=" in part for part in parts):
            found.add(tuple(part.split("=", 1)[1] for part in parts))
    return [list(values) for values in sorted(found)]


@dataclass
class RegistrationReport:
    created: list[str]
    updated: list[str]
    partitions_added: int


def register(
    glue: Any,
    database: str,
    lake_uri: str,
    s3_client: Any,
    projection: bool = True,
    contracts: Iterable[Contract] = CONTRACTS,
) -> RegistrationReport:
    """Create or update the database and every table, and add the partitions present in
    the lake that the catalog does not list yet (Spectrum reads only those; Athena
    projects them unless ``projection`` is off)."""
    if urlparse(lake_uri).scheme not in ("s3", "s3a"):
        raise CatalogError(
            f"Glue tables point at S3, and the lake is {lake_uri}: set SMARTCITY_LAKE_URI "
            "to an s3:// URI (the lake the landing job writes) and register again."
        )
    lake_uri = "s3://" + lake_uri.split("://", 1)[1]  # Athena reads s3://, never s3a://
    try:
        glue.get_database(Name=database)
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(
            DatabaseInput={"Name": database, "Description": "Smart City raw lake (landed by Spark)"}
        )
    report = RegistrationReport(created=[], updated=[], partitions_added=0)
    for spec in table_specs(lake_uri, contracts):
        present = list_partitions(spec, s3_client)
        definition = table_input(spec, projection, present)
        try:
            glue.get_table(DatabaseName=database, Name=spec.name)
        except glue.exceptions.EntityNotFoundException:
            glue.create_table(DatabaseName=database, TableInput=definition)
            report.created.append(spec.name)
        else:
            glue.update_table(DatabaseName=database, TableInput=definition)
            report.updated.append(spec.name)
        report.partitions_added += _add_partitions(glue, database, spec, present)
    return report


def partition_location(spec: TableSpec, values: list[str]) -> str:
    """Where a partition lies as landed, and as partition projection computes it."""
    suffix = "/".join(
        f"{key.name}={value}" for key, value in zip(spec.table.partition_keys, values, strict=True)
    )
    return f"{spec.location}/{suffix}"


def _add_partitions(glue: Any, database: str, spec: TableSpec, present: list[list[str]]) -> int:
    paginator = glue.get_paginator("get_partitions")
    registered = {
        tuple(partition["Values"])
        for page in paginator.paginate(DatabaseName=database, TableName=spec.name)
        for partition in page["Partitions"]
    }
    missing = [values for values in present if tuple(values) not in registered]
    for start in range(0, len(missing), 100):  # Glue takes at most 100 per call
        chunk = missing[start : start + 100]
        inputs = []
        for values in chunk:
            inputs.append(
                {
                    "Values": values,
                    "StorageDescriptor": {
                        "Columns": spec.columns,
                        "Location": partition_location(spec, values),
                        **PARQUET,
                    },
                }
            )
        result = glue.batch_create_partition(
            DatabaseName=database, TableName=spec.name, PartitionInputList=inputs
        )
        if result.get("Errors"):
            raise CatalogError(f"Glue refused partitions of {spec.name}: {result['Errors'][:3]}")
    return len(missing)
