"""Compaction and expiry of the lake's Iceberg tables (streaming/maintenance.py): closed
hours rewritten into one file by Iceberg commits, replaced and stray files deleted after
the retention, on the local SQLite catalog and on Glue and S3 served by moto over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from streaming.iceberg_batches import commit_batch, landed_batch
from streaming.iceberg_catalogs import glue_catalog, local_catalog
from streaming.maintenance import CompactionError, compact, expire, hours
from tests.iceberg_samples import BY_HOUR, SCHEMA, START, ten_events

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)  # hours 8 to 10 are closed, 11 is not


def make_table(catalog: Catalog, location: str | None = None) -> Callable[[], Table]:
    catalog.create_namespace("raw")
    catalog.create_table("raw.gps_fixes", schema=SCHEMA, partition_spec=BY_HOUR, location=location)
    return lambda: catalog.load_table("raw.gps_fixes")


def land(load: Callable[[], Table], batch_id: int, hours_: list[int]) -> list[str]:
    """Ten events per event hour, a file per hour in its Hive-style folder, committed as
    the landing job commits a batch; through the table's own file IO (local or S3)."""
    table = load()
    files = []
    for hour in hours_:
        rows = ten_events(f"{batch_id}-{hour}", START + timedelta(hours=hour))
        path = f"{table.location()}/event_hour={8 + hour}/part-b{batch_id:012d}-x.parquet"
        with table.io.new_output(path).create(overwrite=True) as stream:
            pq.write_table(rows, stream)
        files.append(path)
    assert commit_batch(load, "gps_fixes", "query", batch_id, files)
    return files


def event_ids(table: Table, snapshot_id: int | None = None) -> list[str]:
    return sorted(table.scan(snapshot_id=snapshot_id).to_arrow().column("event_id").to_pylist())


@pytest.fixture
def local(tmp_path: Path) -> tuple[Callable[[], Table], Path]:
    lake = (tmp_path / "lake").resolve()
    return make_table(local_catalog(lake)), lake


def files_per_hour(table: Table) -> dict[int, int]:
    return {hour.hour_start.hour: len(hour.files) for hour in hours(table, "gps_fixes")}


def test_closed_hours_become_one_file_each_and_keep_every_row(local) -> None:
    load, _ = local
    for batch_id in range(4):
        land(load, batch_id, [0, 1, 3])  # hours 8, 9 and 11
    before = event_ids(load())
    assert files_per_hour(load()) == {8: 4, 9: 4, 11: 4}

    results = compact(load, "gps_fixes", now=NOW)

    assert sorted(r.partition for r in results) == [
        "gps_fixes/event_at_hour=2026-12-06-08",
        "gps_fixes/event_at_hour=2026-12-06-09",
    ]
    assert all(r.files_before == 4 and r.files_after == 1 and r.rows == 40 for r in results)
    assert files_per_hour(load()) == {8: 1, 9: 1, 11: 4}  # the open hour waits
    assert event_ids(load()) == before
    # The compacted file lies in its hour's folder, beside the files it replaced.
    [compacted] = next(h for h in hours(load(), "gps_fixes") if h.hour_start.hour == 8).files
    assert "/event_hour=8/part-c" in compacted.file_path
    assert compact(load, "gps_fixes", now=NOW) == []  # nothing left to do


def test_a_reader_of_the_earlier_snapshot_still_reads_the_old_files(local) -> None:
    load, _ = local
    for batch_id in range(3):
        land(load, batch_id, [0])
    before = load().current_snapshot()
    assert before is not None
    compact(load, "gps_fixes", now=NOW)
    # Until the retention has passed, the replaced files stay: a query planned on the
    # snapshot before the compaction reads the same rows.
    assert expire(load(), "gps_fixes", keep=timedelta(hours=2)).files_deleted == 0
    assert event_ids(load(), before.snapshot_id) == event_ids(load())


def before_the_commit(
    load: Callable[[], Table], meanwhile: Callable[[], object]
) -> Callable[[], Table]:
    """``load`` for a compaction of one hour, running ``meanwhile`` at its third call:
    after the rewrite was read and written, before its commit."""
    calls = {"n": 0}

    def load_with_something_in_between() -> Table:
        calls["n"] += 1
        if calls["n"] == 3:
            meanwhile()
        return load()

    return load_with_something_in_between


def test_a_batch_landed_during_the_compaction_is_kept(local) -> None:
    load, _ = local
    for batch_id in range(3):
        land(load, batch_id, [0])
    compact(before_the_commit(load, lambda: land(load, 3, [0])), "gps_fixes", now=NOW)

    assert len(event_ids(load())) == 40
    assert files_per_hour(load()) == {8: 2}  # the compacted file and the late batch's


def test_a_compaction_that_lost_its_files_to_another_is_refused(local) -> None:
    load, _ = local
    for batch_id in range(2):
        land(load, batch_id, [0])
    other = before_the_commit(load, lambda: compact(load, "gps_fixes", now=NOW))
    with pytest.raises(CompactionError, match="changed under this compaction"):
        compact(other, "gps_fixes", now=NOW)
    assert len(event_ids(load())) == 20


def test_expiry_deletes_replaced_and_stray_files_but_not_a_batch_being_written(local) -> None:
    load, _ = local
    for batch_id in range(3):
        land(load, batch_id, [0, 1])
    table_folder = Path(load().location().removeprefix("file://"))
    stray = table_folder / "event_hour=8" / "part-b000000000009-killed.parquet"
    pq.write_table(pa.table({"event_id": ["stray"]}), stray)
    compact(load, "gps_fixes", now=NOW)

    # A file written a moment ago may be a batch the landing job is about to commit.
    assert expire(load(), "gps_fixes", keep=timedelta(minutes=10)).files_deleted == 0
    assert stray.exists()
    later = datetime.now(UTC) + timedelta(minutes=11)
    result = expire(load(), "gps_fixes", keep=timedelta(minutes=10), now=later)

    assert result.snapshots_expired > 0 and result.files_deleted == 3 + 3 + 1
    assert not stray.exists()
    # The expired snapshots' manifests went too; those of the current one stay.
    assert result.manifests_deleted > 0
    metadata = table_folder / "metadata"
    kept = {f"file://{p}" for p in metadata.glob("*.avro")}
    table = load()
    reachable = {s.manifest_list for s in table.snapshots()} | set(
        table.inspect.all_manifests().column("path").to_pylist()
    )
    assert kept == reachable
    assert len(event_ids(load())) == 3 * 2 * 10
    # What is left in the folders is the table's files: a plain reader reads its rows.
    committed = set(load().inspect.files().column("file_path").to_pylist())
    on_disk = {f"file://{p}" for p in table_folder.rglob("*.parquet") if "metadata" not in p.parts}
    assert on_disk == committed
    plain = duckdb.execute(
        f"select event_id from read_parquet('{table_folder}/event_hour=*/*.parquet')"
    ).fetchall()
    assert sorted(row[0] for row in plain) == event_ids(load())


def test_the_landing_job_still_recognises_its_last_batch_after_maintenance(local) -> None:
    load, _ = local
    for batch_id in range(3):
        land(load, batch_id, [0])
    compact(load, "gps_fixes", now=NOW)
    expire(load(), "gps_fixes", keep=timedelta(0), now=datetime.now(UTC) + timedelta(seconds=1))
    assert landed_batch(load(), "gps_fixes") == ("query", 2)
    # Spark replays batch 2 after a crash: it is not appended again.
    assert not commit_batch(load, "gps_fixes", "query", 2, [])
    assert len(event_ids(load())) == 30


def test_compaction_and_expiry_on_s3_with_glue(aws_env: str) -> None:
    boto3.client("s3").create_bucket(Bucket="maintenance-lake")
    load = make_table(glue_catalog("us-east-1"), "s3://maintenance-lake/raw/gps_fixes")
    for batch_id in range(3):
        land(load, batch_id, [0])
    compact(load, "gps_fixes", now=NOW)
    assert files_per_hour(load()) == {8: 1}
    result = expire(
        load(), "gps_fixes", keep=timedelta(0), now=datetime.now(UTC) + timedelta(seconds=1)
    )
    assert result.files_deleted == 3
    keys = [
        item["Key"]
        for item in boto3.client("s3")
        .list_objects_v2(Bucket="maintenance-lake", Prefix="raw/gps_fixes/event_hour=")
        .get("Contents", [])
        if not item["Key"].endswith("/")  # Arrow's folder markers
    ]
    assert len(keys) == 1 and "/part-c" in keys[0]
    assert len(event_ids(load())) == 30
