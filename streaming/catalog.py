"""Registering the lake's datasets as tables in the AWS Glue Data Catalog.

Each raw dataset and each dead-letter dataset becomes an external Parquet table whose
columns come from the event contracts, the same definitions the dbt sources come from.
Partitions are found by Athena through partition projection on ``event_date`` and
``event_hour`` (nothing to register as hours pass); with projection off, the
partitions present in the lake are added explicitly. Registering again updates the
tables in place, so the command is safe to repeat.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ingestion.contracts import CONTRACTS, Contract, FieldType
from streaming.schemas import LANDING_COLUMNS as SPARK_LANDING_COLUMNS

GLUE_TYPES: dict[FieldType, str] = {
    FieldType.STRING: "string",
    FieldType.INT: "int",
    FieldType.LONG: "bigint",
    FieldType.DOUBLE: "double",
    FieldType.TIMESTAMP: "timestamp",
    FieldType.STRING_ARRAY: "array<string>",
}
# Hive's names for the Spark types of the landing columns.
_HIVE_OF_SPARK = {
    "string": "string",
    "int": "int",
    "bigint": "bigint",
    "timestamp_ntz": "timestamp",
}
LANDING_COLUMNS: tuple[tuple[str, str, str], ...] = tuple(
    (name, _HIVE_OF_SPARK[kind.simpleString()], text) for name, kind, text in SPARK_LANDING_COLUMNS
)
RAW_PARTITION_KEYS = (("event_date", "string"), ("event_hour", "int"))
DEAD_LETTER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "string"),
    ("reason_code", "string"),
    ("reason_message", "string"),
    ("raw_key", "string"),
    ("raw_value", "string"),
    ("raw_value_bytes", "binary"),
    ("kafka_topic", "string"),
    ("kafka_partition", "int"),
    ("kafka_offset", "bigint"),
    ("kafka_published_at", "timestamp"),
    ("dead_lettered_at", "timestamp"),
)
DEAD_LETTER_PARTITION_KEYS = (("dead_letter_date", "string"),)
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
    name: str
    location: str
    columns: list[dict[str, str]]
    partition_keys: tuple[tuple[str, str], ...]
    description: str


def raw_table(contract: Contract, lake_uri: str) -> TableSpec:
    columns = [
        {"Name": f.name, "Type": GLUE_TYPES[f.type], "Comment": f.description}
        for f in contract.fields
    ]
    columns += [{"Name": n, "Type": t, "Comment": c} for n, t, c in LANDING_COLUMNS]
    return TableSpec(
        name=contract.source,
        location=f"{lake_uri.rstrip('/')}/raw/{contract.source}",
        columns=columns,
        partition_keys=RAW_PARTITION_KEYS,
        description=f"{contract.description} Raw, as landed; may hold duplicates.",
    )


def dead_letter_table(contract: Contract, lake_uri: str) -> TableSpec:
    return TableSpec(
        name=f"dead_letter_{contract.source}",
        location=f"{lake_uri.rstrip('/')}/dead_letter/{contract.source}",
        columns=[{"Name": n, "Type": t} for n, t in DEAD_LETTER_COLUMNS],
        partition_keys=DEAD_LETTER_PARTITION_KEYS,
        description=f"Records of {contract.source} that failed validation, with the reason.",
    )


def projection_parameters(spec: TableSpec) -> dict[str, str]:
    """Athena partition projection: partitions are computed, never registered."""
    parameters = {"projection.enabled": "true"}
    template = spec.location
    for key, _ in spec.partition_keys:
        template += f"/{key}=${{{key}}}"
        if key.endswith("_date"):
            parameters |= {
                f"projection.{key}.type": "date",
                f"projection.{key}.format": "yyyy-MM-dd",
                # A day ahead: events may run up to 24 hours ahead of Kafka's clock.
                f"projection.{key}.range": "2020-01-01,NOW+1DAYS",
                f"projection.{key}.interval": "1",
                f"projection.{key}.interval.unit": "DAYS",
            }
        else:
            parameters |= {f"projection.{key}.type": "integer", f"projection.{key}.range": "0,23"}
    parameters["storage.location.template"] = template
    return parameters


def table_input(spec: TableSpec, projection: bool) -> dict[str, Any]:
    parameters = {"classification": "parquet", "EXTERNAL": "TRUE", "managed_by": "smartcity"}
    if projection:
        parameters |= projection_parameters(spec)
    return {
        "Name": spec.name,
        "Description": spec.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in spec.partition_keys],
        "StorageDescriptor": {"Columns": spec.columns, "Location": spec.location, **PARQUET},
    }


def table_specs(lake_uri: str, contracts: Iterable[Contract] = CONTRACTS) -> list[TableSpec]:
    specs = []
    for contract in contracts:
        specs += [raw_table(contract, lake_uri), dead_letter_table(contract, lake_uri)]
    return specs


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
    projection: bool = True,
    s3_client: Any | None = None,
    contracts: Iterable[Contract] = CONTRACTS,
) -> RegistrationReport:
    """Create or update the database and every table; add partitions without projection."""
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
        definition = table_input(spec, projection)
        try:
            glue.get_table(DatabaseName=database, Name=spec.name)
        except glue.exceptions.EntityNotFoundException:
            glue.create_table(DatabaseName=database, TableInput=definition)
            report.created.append(spec.name)
        else:
            glue.update_table(DatabaseName=database, TableInput=definition)
            report.updated.append(spec.name)
        if not projection:
            report.partitions_added += _add_partitions(glue, database, spec, s3_client)
    return report


def _add_partitions(glue: Any, database: str, spec: TableSpec, s3_client: Any | None) -> int:
    present = list_partitions(spec, s3_client)
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
            suffix = "/".join(
                f"{key}={value}"
                for (key, _), value in zip(spec.partition_keys, values, strict=True)
            )
            inputs.append(
                {
                    "Values": values,
                    "StorageDescriptor": {
                        "Columns": spec.columns,
                        "Location": f"{spec.location}/{suffix}",
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
