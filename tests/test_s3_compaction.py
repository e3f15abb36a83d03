"""Compaction of an s3:// lake against moto's S3 and Glue (server mode, over HTTP):
a new generation per partition, Glue repointed in one call, superseded files kept for
a grace period, and every stop of a run finished or undone by the next."""

from __future__ import annotations

import io
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from streaming.catalog import CatalogError, register
from streaming.compaction import CompactionError
from streaming.s3_compaction import compact_s3

NOW = datetime(2026, 6, 2, 12, 30, tzinfo=UTC)
KEEP = timedelta(hours=2)
BUCKET = "city-lake-compaction"
CLOSED = [("2026-06-01", "8"), ("2026-06-01", "9")]
OPEN = ("2026-06-02", "23")  # not closed at any time these tests run at


class Stop(RuntimeError):
    """Raised from the hook: the run stops there, as if the process died."""


@pytest.fixture
def clients(aws_env: str):
    s3 = boto3.client("s3", region_name="us-east-1")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    return s3, boto3.client("glue", region_name="us-east-1")


def parquet_bytes(first_row: int, rows: int) -> bytes:
    ids = range(first_row, first_row + rows)
    table = pa.table(
        {
            "event_id": [f"e-{i}" for i in ids],
            "speed_kmh": [i * 1.5 for i in ids],
            "event_at": [datetime(2026, 6, 1, 8) + timedelta(seconds=i) for i in ids],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


class Lake:
    """A small lake in moto: two closed hours of 4 batches each and an open hour."""

    def __init__(self, s3, glue, tmp_path: Path) -> None:
        self.s3, self.glue = s3, glue
        self.name = f"lake-{uuid.uuid4().hex[:8]}"
        self.uri = f"s3://{BUCKET}/{self.name}"
        self.database = f"smartcity_{self.name.replace('-', '_')}"
        self.checkpoints = tmp_path / "checkpoints"
        batch = 0
        for values in [*CLOSED, OPEN]:
            for _ in range(4):
                self.land(values, batch, rows=25)
                batch += 1
        self.commit(batch - 1)
        register(glue, self.database, self.uri, s3, projection=False, contracts=self.contracts)

    @property
    def contracts(self):
        from ingestion.contracts import GPS_FIXES

        return [GPS_FIXES]

    def land(self, values: tuple[str, str], batch: int, rows: int) -> None:
        key = (
            f"{self.name}/raw/gps_fixes/event_date={values[0]}/event_hour={values[1]}/"
            f"part-b{batch:012d}-00000.parquet"
        )
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=parquet_bytes(batch * 1000, rows))

    def commit(self, last_batch: int) -> None:
        commits = self.checkpoints / "gps_fixes" / "commits"
        commits.mkdir(parents=True, exist_ok=True)
        for batch_id in range(last_batch + 1):
            (commits / str(batch_id)).write_text("v1\n")

    def compact(self, now: datetime = NOW, hook=None):
        return compact_s3(
            self.uri,
            str(self.checkpoints),
            ["gps_fixes"],
            glue=self.glue,
            s3=self.s3,
            database=self.database,
            now=now,
            grace=timedelta(hours=1),
            keep_superseded=KEEP,
            hook=hook,
        )

    def location(self, values: tuple[str, str]) -> str:
        partition = self.glue.get_partition(
            DatabaseName=self.database, TableName="gps_fixes", PartitionValues=list(values)
        )
        return partition["Partition"]["StorageDescriptor"]["Location"]

    def files_at(self, location: str) -> list[str]:
        prefix = location.split(f"s3://{BUCKET}/", 1)[1].rstrip("/") + "/"
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix, Delimiter="/")
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, values: tuple[str, str]) -> list[str]:
        """What a Glue reader (Spectrum, Athena without projection) gets: resolve the
        partition, list its location, read every file there."""
        ids: list[str] = []
        for key in self.files_at(self.location(values)):
            body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            ids.extend(pq.read_table(io.BytesIO(body)).column("event_id").to_pylist())
        return ids

    def keys(self, under: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=f"{self.name}/{under}"
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture
def lake(clients, tmp_path: Path) -> Lake:
    s3, glue = clients
    return Lake(s3, glue, tmp_path)


def snapshot(lake: Lake) -> dict[tuple[str, str], list[str]]:
    return {values: sorted(lake.read(values)) for values in [*CLOSED, OPEN]}


def assert_every_row_once(lake: Lake, expected: dict[tuple[str, str], list[str]]) -> None:
    assert snapshot(lake) == expected


def test_closed_hours_become_one_generation_and_glue_follows(lake: Lake) -> None:
    before = snapshot(lake)
    open_location = lake.location(OPEN)
    report = lake.compact()
    assert sorted(report.compacted) == [
        ("gps_fixes/event_date=2026-06-01/event_hour=8", 4, 100),
        ("gps_fixes/event_date=2026-06-01/event_hour=9", 4, 100),
    ]
    for values in CLOSED:
        location = lake.location(values)
        assert f"/{lake.name}/compacted/raw/gps_fixes/event_date={values[0]}/" in location
        assert [key.rsplit("/", 1)[1] for key in lake.files_at(location)] == ["part-00000.parquet"]
    assert lake.location(OPEN) == open_location  # the open hour: untouched
    assert len(lake.files_at(open_location)) == 4
    assert_every_row_once(lake, before)
    # The superseded files stay for readers that resolved the old location...
    assert len(lake.keys("raw/gps_fixes/event_date=2026-06-01/")) == 8
    # ...and no glob of raw/ counts a compacted row twice.
    assert not [key for key in lake.keys("raw/") if "compacted" in key or "gen-" in key]
    # Within the grace they stay; past it, the next run deletes them and the journals.
    assert lake.compact(NOW + KEEP - timedelta(minutes=1)).deleted == 0
    assert len(lake.keys("raw/gps_fixes/event_date=2026-06-01/")) == 8
    late = lake.compact(NOW + KEEP)
    assert late.deleted == 8 and late.compacted == []
    assert lake.keys("raw/gps_fixes/event_date=2026-06-01/") == []
    assert lake.keys("_landing/compaction/") == []
    assert_every_row_once(lake, before)


def test_a_projected_table_is_refused_and_cannot_be_projected_once_compacted(lake: Lake) -> None:
    lake.compact()
    with pytest.raises(CatalogError, match="no-projection"):
        register(lake.glue, lake.database, lake.uri, lake.s3, contracts=lake.contracts)
    table = lake.glue.get_table(DatabaseName=lake.database, Name="gps_fixes")["Table"]
    assert "projection.enabled" not in table["Parameters"]
    # Registering again without projection keeps the repointed locations.
    register(
        lake.glue, lake.database, lake.uri, lake.s3, projection=False, contracts=lake.contracts
    )
    assert "/compacted/" in lake.location(CLOSED[0])

    other = Lake.__new__(Lake)
    other.__dict__.update(lake.__dict__, database=lake.database + "_projected")
    register(other.glue, other.database, other.uri, other.s3, contracts=other.contracts)
    with pytest.raises(CompactionError, match="projection"):
        other.compact()


def test_a_late_file_is_compacted_with_the_generation_by_the_next_run(lake: Lake) -> None:
    before = snapshot(lake)
    lake.compact()
    lake.land(CLOSED[0], 50, rows=7)  # a late event lands in a compacted hour
    lake.commit(50)
    assert len(lake.read(CLOSED[0])) == 100  # Glue readers do not see it yet
    report = lake.compact(NOW + timedelta(minutes=5))
    assert report.compacted == [("gps_fixes/event_date=2026-06-01/event_hour=8", 2, 107)]
    expected = dict(before)
    expected[CLOSED[0]] = sorted(before[CLOSED[0]] + [f"e-{50_000 + i}" for i in range(7)])
    assert_every_row_once(lake, expected)
    # Past both graces: the landed files and the first generation are gone.
    lake.compact(NOW + timedelta(minutes=5) + KEEP)
    assert lake.keys("raw/gps_fixes/event_date=2026-06-01/") == []
    assert len(lake.keys("compacted/raw/gps_fixes/event_date=2026-06-01/event_hour=8/")) == 1
    assert_every_row_once(lake, expected)


def test_an_uncommitted_batch_keeps_its_partition_waiting(lake: Lake) -> None:
    lake.land(CLOSED[0], 99, rows=5)  # not committed: the landing job will replay it
    report = lake.compact()
    assert [label for label, _, _ in report.compacted] == [
        "gps_fixes/event_date=2026-06-01/event_hour=9"
    ]
    assert report.waiting and "raw/" in lake.location(CLOSED[0])


@pytest.mark.parametrize("step", ["written", "repointed", "deleted"])
def test_a_run_stopped_at_any_step_is_finished_or_undone_by_the_next(lake: Lake, step: str) -> None:
    before = snapshot(lake)

    def stop_at(reached: str, label: str) -> None:
        if reached == step:
            raise Stop(f"{reached} {label}")

    when = NOW
    if step == "deleted":
        lake.compact()
        when = NOW + KEEP
    with pytest.raises(Stop):
        lake.compact(when, hook=stop_at)
    assert_every_row_once(lake, before)  # whatever the stop, readers see every row once
    lake.compact(when)  # the next run settles it
    assert_every_row_once(lake, before)
    for values in CLOSED:
        assert "/compacted/" in lake.location(values)
    generations = {key.rsplit("/", 2)[1] for key in lake.keys("compacted/")}
    assert len(generations) == 2  # one per closed hour: an undone one left nothing
    lake.compact(when + KEEP)
    assert lake.keys("raw/gps_fixes/event_date=2026-06-01/") == []
    assert lake.keys("_landing/compaction/") == []
    assert_every_row_once(lake, before)


def test_a_concurrent_reader_never_sees_a_mix_nor_a_partial_partition(lake: Lake) -> None:
    expected = {values: len(lake.read(values)) for values in CLOSED}
    seen: list[tuple[tuple[str, str], int, str]] = []
    errors: list[str] = []
    stop = threading.Event()
    s3 = boto3.client("s3", region_name="us-east-1")  # a client of its own, as a reader has
    glue = boto3.client("glue", region_name="us-east-1")
    reader_view = Lake.__new__(Lake)
    reader_view.__dict__.update(lake.__dict__, s3=s3, glue=glue)

    def read_repeatedly() -> None:
        while not stop.is_set():
            for values in CLOSED:
                try:
                    location = reader_view.location(values)
                    kind = "compacted" if "/compacted/" in location else "raw"
                    seen.append((values, len(reader_view.read(values)), kind))
                except Exception as error:  # reported below, failing the test
                    errors.append(repr(error))

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        while len(seen) < 4 and reader.is_alive():  # reading before compaction starts
            stop.wait(0.01)
        lake.compact()
        count_after = len(seen)
        while len(seen) < count_after + 4 and reader.is_alive():
            stop.wait(0.01)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert not errors, errors[:3]
    assert {(values, rows) for values, rows, _ in seen} == set(expected.items())
    kinds = {kind for _, _, kind in seen}
    assert kinds == {"raw", "compacted"}  # it read both before and after the repoint


def test_smartcity_compact_works_on_an_s3_lake(lake: Lake, monkeypatch, capsys) -> None:
    from smartcity.cli import build_parser, main

    assert build_parser({}).parse_args(["compact"]).keep_superseded_minutes == 120
    parser = build_parser({"SMARTCITY_COMPACTION_KEEP_SUPERSEDED_MINUTES": "30"})
    assert parser.parse_args(["compact"]).keep_superseded_minutes == 30

    before = snapshot(lake)
    monkeypatch.setenv("SMARTCITY_LAKE_URI", lake.uri)
    monkeypatch.setenv("SMARTCITY_CHECKPOINT_URI", str(lake.checkpoints))
    monkeypatch.setenv("SMARTCITY_GLUE_DATABASE", lake.database)
    monkeypatch.setattr("ingestion.contracts.CONTRACTS", tuple(lake.contracts))
    monkeypatch.setattr("smartcity.cli.lake_commands.CONTRACTS", tuple(lake.contracts))
    assert main(["compact", "--dry-run"]) == 0
    assert "raw/" in lake.location(CLOSED[0])
    assert "event_date=2026-06-01/event_hour=8" in capsys.readouterr().out
    # Real time: these hours ended long ago.
    assert main(["compact", "--grace-minutes", "60"]) == 0
    output = capsys.readouterr().out
    assert "compacted gps_fixes/event_date=2026-06-01/event_hour=8: 4 files -> 1" in output
    for values in CLOSED:
        assert "/compacted/" in lake.location(values)
    assert_every_row_once(lake, before)


def test_one_compaction_at_a_time_and_a_dead_runs_lease_is_taken_over(lake: Lake) -> None:
    import json

    key = f"{lake.name}/_landing/compaction.lease"

    def hold(expires: datetime) -> None:
        body = {"owner": "elsewhere:1:dead", "expires_at": expires.isoformat()}
        lake.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())

    hold(datetime.now(UTC) + timedelta(minutes=10))
    with pytest.raises(CompactionError, match="another compaction"):
        lake.compact()
    assert "raw/" in lake.location(CLOSED[0])
    hold(datetime.now(UTC) - timedelta(minutes=1))  # not renewed: its holder died
    assert len(lake.compact().compacted) == 2
    assert lake.keys("_landing/compaction.lease") == []  # released
