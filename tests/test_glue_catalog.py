"""Glue registration against moto's server over HTTP: tables, types, partitions."""

from __future__ import annotations

import boto3
import pytest

from ingestion.contracts import CONTRACTS, GPS_FIXES
from ingestion.schema import DEAD_LETTERS, ENGINE_TYPES
from streaming.catalog import CatalogError, register

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


def test_register_creates_every_table_with_contract_columns_and_projection(glue, s3) -> None:
    database = "smartcity_raw_projection"
    report = register(glue, database, LAKE, s3)
    assert sorted(report.created) == sorted([c.source for c in CONTRACTS] + ["dead_letters"])
    table = glue.get_table(DatabaseName=database, Name="gps_fixes")["Table"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns[: len(GPS_FIXES.fields)] == [
        (f.name, ENGINE_TYPES[f.type].hive) for f in GPS_FIXES.fields
    ]
    assert [c[0] for c in columns[len(GPS_FIXES.fields) :]] == [
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_published_at",
        "landed_at",
    ]
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [
        ("event_date", "date"),
        ("event_hour", "int"),
    ]
    descriptor = table["StorageDescriptor"]
    assert descriptor["Location"] == "s3://city-lake/lake/raw/gps_fixes"
    assert descriptor["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.event_date.type"] == "date"
    assert parameters["projection.event_hour.range"] == "0,23"
    # An empty lake projects from today on.
    assert parameters["projection.event_date.range"] == "NOW,NOW+1DAYS"
    assert parameters["storage.location.template"] == (
        "s3://city-lake/lake/raw/gps_fixes/event_date=${event_date}/event_hour=${event_hour}"
    )
    dead = glue.get_table(DatabaseName=database, Name="dead_letters")["Table"]
    assert [(k["Name"], k["Type"]) for k in dead["PartitionKeys"]] == [
        ("source", "string"),
        ("dead_letter_date", "date"),
    ]
    columns = [(c["Name"], c["Type"]) for c in dead["StorageDescriptor"]["Columns"]]
    assert columns == [(c.name, ENGINE_TYPES[c.type].hive) for c in DEAD_LETTERS.columns]
    assert ("raw_value_bytes", "binary") in columns
    assert dead["Parameters"]["projection.source.type"] == "enum"
    assert dead["Parameters"]["projection.source.values"].split(",") == [
        c.source for c in CONTRACTS
    ]
    assert dead["Parameters"]["storage.location.template"] == (
        "s3://city-lake/lake/dead_letters/source=${source}/dead_letter_date=${dead_letter_date}"
    )


def test_registering_again_updates_in_place(glue, s3) -> None:
    database = "smartcity_raw_again"
    register(glue, database, LAKE, s3)
    second = register(glue, database, LAKE, s3)
    assert second.created == [] and len(second.updated) == len(CONTRACTS) + 1
    tables = glue.get_tables(DatabaseName=database)["TableList"]
    assert len(tables) == len(CONTRACTS) + 1


@pytest.mark.parametrize("projection", [True, False])
def test_partitions_in_the_lake_are_registered_once_for_spectrum(glue, s3, projection) -> None:
    """Spectrum ignores projection: present partitions are registered either way."""
    database = f"smartcity_raw_partitions_{projection}".lower()
    prefix = f"lake-{database}"  # each case has a lake of its own
    lake = f"s3://city-lake/{prefix}"
    keys = [
        f"{prefix}/raw/gps_fixes/event_date=2026-01-01/event_hour=8/part-b000000000000-00000.parquet",
        f"{prefix}/raw/gps_fixes/event_date=2026-01-01/event_hour=9/part-b000000000001-00000.parquet",
        f"{prefix}/raw/gps_fixes/event_date=2026-01-02/event_hour=0/part-b000000000002-00000.parquet",
        f"{prefix}/dead_letters/source=gps_fixes/dead_letter_date=2026-01-02/part-b000000000002-00000.parquet",
        f"{prefix}/raw/gps_fixes/metadata/00001-x.metadata.json",  # the Iceberg table's
    ]
    for key in keys:
        s3.put_object(Bucket="city-lake", Key=key, Body=b"x")
    report = register(glue, database, lake, s3, projection=projection)
    assert report.partitions_added == 4
    partitions = glue.get_partitions(DatabaseName=database, TableName="gps_fixes")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [
        ["2026-01-01", "8"],
        ["2026-01-01", "9"],
        ["2026-01-02", "0"],
    ]
    assert {p["StorageDescriptor"]["Location"] for p in partitions} >= {
        f"s3://city-lake/{prefix}/raw/gps_fixes/event_date=2026-01-01/event_hour=8"
    }
    dead = glue.get_partitions(DatabaseName=database, TableName="dead_letters")["Partitions"]
    assert [p["Values"] for p in dead] == [["gps_fixes", "2026-01-02"]]
    table = glue.get_table(DatabaseName=database, Name="gps_fixes")["Table"]
    assert ("projection.enabled" in table["Parameters"]) is projection
    if projection:
        # Projected days start at the lake's first: Athena lists every projected hour
        # of an unfiltered query in S3, so none before the data.
        assert table["Parameters"]["projection.event_date.range"] == "2026-01-01,NOW+1DAYS"
        dead_table = glue.get_table(DatabaseName=database, Name="dead_letters")["Table"]
        assert dead_table["Parameters"]["projection.dead_letter_date.range"] == (
            "2026-01-02,NOW+1DAYS"
        )
    assert register(glue, database, lake, s3, projection=projection).partitions_added == 0
    # A new hour lands: the next run adds it, and only it.
    s3.put_object(
        Bucket="city-lake",
        Key=f"{prefix}/raw/gps_fixes/event_date=2026-01-02/event_hour=1/part-b000000000003-00000.parquet",
        Body=b"x",
    )
    assert register(glue, database, lake, s3, projection=projection).partitions_added == 1


def test_a_local_lake_cannot_be_registered(glue, tmp_path) -> None:
    with pytest.raises(CatalogError, match="s3://"):
        register(glue, "smartcity_raw_local", str(tmp_path), s3_client=None)
