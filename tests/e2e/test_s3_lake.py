"""Landing into an s3:// lake through Spark's S3A connector, against an S3 API served by
moto on loopback, with the raw tables committed to Glue as Iceberg tables."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import boto3
import duckdb
import pytest

from ingestion.producer import produce
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity import pipeline
from smartcity.settings import Settings
from streaming.iceberg_catalogs import glue_catalog

pytestmark = pytest.mark.e2e

BUCKET = "city-lake-e2e"


def test_the_job_lands_exactly_the_events_in_s3_and_glue_points_at_them(
    aws_env: str, kafka_broker, tmp_path: Path
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    env = {
        **os.environ,
        "SMARTCITY_DATA_DIR": str(tmp_path),
        "SMARTCITY_LAKE_URI": f"s3://{BUCKET}/lake",
        "SMARTCITY_TOPIC_PREFIX": "s3lake",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
    }
    settings = Settings.from_env(env)
    assert settings.lake_on_s3 and settings.s3_endpoint_url == aws_env
    pipeline.create_topics(settings)
    events = list(
        simulate(
            SimulationOptions(events=1_500, seed=9, start_at=datetime(2026, 3, 3, 3, 3, tzinfo=UTC))
        )
    )
    assert produce(events, settings.bootstrap_servers, pipeline.topic_namer(settings)).ok

    # A process of its own, as in production: its JVM takes the AWS settings from the
    # environment through the standard credential chain.
    result = subprocess.run(
        [sys.executable, "-m", "smartcity", "land"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="lake/")
        for item in page.get("Contents", [])
    ]
    # Folder markers ("…/") may exist; every object with content is a data file or the
    # Iceberg metadata beside them.
    raw = [
        key
        for key in keys
        if key.startswith("lake/raw/") and "/metadata/" not in key and not key.endswith("/")
    ]
    assert raw and all(key.endswith(".parquet") for key in raw)
    # The Iceberg tables in Glue hold exactly those files.
    catalog = glue_catalog("us-east-1")
    committed = {
        path
        for table in catalog.list_tables(settings.iceberg_namespace)
        if table[1] != "dead_letters"
        for path in catalog.load_table(table).inspect.files().column("file_path").to_pylist()
    }
    assert committed == {f"s3://{BUCKET}/{key}" for key in raw}
    files = [key for key in keys if not key.endswith("/")]
    assert not [key for key in files if "_spark_metadata" in key or "/_landing/staging/" in key]
    assert all("/event_date=2026-03-03/event_hour=3/" in key for key in raw)

    landed: Counter[str] = Counter()
    for index, key in enumerate(raw):
        local = tmp_path / f"{index}.parquet"
        local.write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        landed.update(
            row[0] for row in duckdb.execute(f"select event_id from '{local}'").fetchall()
        )
    assert landed == Counter(e["event_id"] for _, e in events)

    # Athena and Spectrum find them as Iceberg tables in the raw database itself.
    glue = boto3.client("glue", region_name="us-east-1")
    entry = glue.get_table(DatabaseName=settings.glue_database, Name="gps_fixes")["Table"]
    assert entry["Parameters"]["table_type"].upper() == "ICEBERG"
