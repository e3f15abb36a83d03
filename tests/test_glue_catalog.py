"""Glue registration against moto's server over HTTP: tables, types, partitions."""

from __future__ import annotations

import boto3
import pytest

from ingestion.contracts import CONTRACTS, GPS_FIXES
from streaming.catalog import GLUE_TYPES, CatalogError, register

LAKE = "s3://city-lake/lake"


@pytest.fixture
def glue(aws_env: str):
    return boto3.client("glue", region_name="us-east-1")


@pytest.fixture
def s3(aws_env: str):
    client = boto3.client("s3", region_name="us-east-1")
    if "city-lake" not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket="city-lake")
    return client


def test_register_creates_every_table_with_contract_columns_and_projection(glue) -> None:
    database = "smartcity_raw_projection"
    report = register(glue, database, LAKE)
    assert sorted(report.created) == sorted(
        [c.source for c in CONTRACTS] + [f"dead_letter_{c.source}" for c in CONTRACTS]
    )
    table = glue.get_table(DatabaseName=database, Name="gps_fixes")["Table"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns[: len(GPS_FIXES.fields)] == [
        (f.name, GLUE_TYPES[f.type]) for f in GPS_FIXES.fields
    ]
    assert [c[0] for c in columns[len(GPS_FIXES.fields) :]] == [
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_published_at",
        "landed_at",
    ]
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [
        ("event_date", "string"),
        ("event_hour", "int"),
    ]
    descriptor = table["StorageDescriptor"]
    assert descriptor["Location"] == "s3://city-lake/lake/raw/gps_fixes"
    assert descriptor["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.event_date.type"] == "date"
    assert parameters["projection.event_hour.range"] == "0,23"
    assert parameters["storage.location.template"] == (
        "s3://city-lake/lake/raw/gps_fixes/event_date=${event_date}/event_hour=${event_hour}"
    )
    dead = glue.get_table(DatabaseName=database, Name="dead_letter_gps_fixes")["Table"]
    assert [k["Name"] for k in dead["PartitionKeys"]] == ["dead_letter_date"]
    assert "reason_code" in [c["Name"] for c in dead["StorageDescriptor"]["Columns"]]


def test_registering_again_updates_in_place(glue) -> None:
    database = "smartcity_raw_again"
    register(glue, database, LAKE)
    second = register(glue, database, LAKE)
    assert second.created == [] and len(second.updated) == 2 * len(CONTRACTS)
    tables = glue.get_tables(DatabaseName=database)["TableList"]
    assert len(tables) == 2 * len(CONTRACTS)


def test_without_projection_the_partitions_in_the_lake_are_added_once(glue, s3) -> None:
    database = "smartcity_raw_partitions"
    for key in (
        "lake/raw/gps_fixes/event_date=2026-01-01/event_hour=8/part-b000000000000-00000.parquet",
        "lake/raw/gps_fixes/event_date=2026-01-01/event_hour=9/part-b000000000001-00000.parquet",
        "lake/raw/gps_fixes/event_date=2026-01-02/event_hour=0/part-b000000000002-00000.parquet",
        "lake/_landing/manifests/raw/gps_fixes/batch-000000000000.json",
    ):
        s3.put_object(Bucket="city-lake", Key=key, Body=b"x")
    report = register(glue, database, LAKE, projection=False, s3_client=s3)
    assert report.partitions_added == 3
    partitions = glue.get_partitions(DatabaseName=database, TableName="gps_fixes")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [
        ["2026-01-01", "8"],
        ["2026-01-01", "9"],
        ["2026-01-02", "0"],
    ]
    assert {p["StorageDescriptor"]["Location"] for p in partitions} >= {
        "s3://city-lake/lake/raw/gps_fixes/event_date=2026-01-01/event_hour=8"
    }
    table = glue.get_table(DatabaseName=database, Name="gps_fixes")["Table"]
    assert "projection.enabled" not in table["Parameters"]
    assert register(glue, database, LAKE, projection=False, s3_client=s3).partitions_added == 0


def test_a_local_lake_cannot_be_registered(glue, tmp_path) -> None:
    with pytest.raises(CatalogError, match="s3://"):
        register(glue, "smartcity_raw_local", str(tmp_path))
