"""Compaction of an s3:// lake against moto's S3 and Glue (server mode, over HTTP):
a new generation per partition, Glue repointed in one call, superseded files kept for
a grace period, and every stop of a run finished or undone by the next."""

from __future__ import annotations

import io
import json
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
        # The landing job's checkpoint, on S3 as a lake on S3 needs.
        self.checkpoints = f"s3://{BUCKET}/{self.name}-checkpoints"
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
        for batch_id in range(last_batch + 1):
            key = f"{self.name}-checkpoints/gps_fixes/commits/{batch_id}"
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"v1\n")

    def compact(self, now: datetime = NOW, hook=None, clock=None, checkpoints=None):
        return compact_s3(
            self.uri,
            self.checkpoints if checkpoints is None else checkpoints,
            ["gps_fixes"],
            glue=self.glue,
            s3=self.s3,
            database=self.database,
            now=now,
            grace=timedelta(hours=1),
            keep_superseded=KEEP,
            hook=hook,
            clock=clock or (lambda: now),
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


def hold_lease(lake: Lake, expires: datetime, owner: str = "elsewhere:1:dead") -> None:
    """Write the lake's lease object as another run's, expiring at ``expires``."""
    body = {"owner": owner, "expires_at": expires.isoformat()}
    key = f"{lake.name}/_landing/compaction.lease"
    lake.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())


@pytest.mark.parametrize("lease", ["released", "held"])
@pytest.mark.parametrize("step", ["written", "repointed", "deleted"])
def test_a_run_stopped_at_any_step_is_finished_or_undone_by_the_next(
    lake: Lake, step: str, lease: str
) -> None:
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
    if lease == "held":
        # A real crash releases nothing: the dead run's lease stays until it expires.
        hold_lease(lake, datetime.now(UTC) - timedelta(minutes=1))
    assert_every_row_once(lake, before)  # whatever the stop, readers see every row once
    report = lake.compact(when)  # the next run (taking a dead run's lease over) settles it
    if step == "written":
        assert len(report.undone) == 1 and report.committed == []
    elif step == "repointed":
        assert len(report.committed) == 1 and report.undone == []
    else:
        # The dead run deleted one before it stopped; deletes are idempotent, so the
        # next deletes every superseded file its journals name.
        assert report.deleted == 8
        assert lake.keys("raw/gps_fixes/event_date=2026-06-01/") == []
    assert_every_row_once(lake, before)
    for values in CLOSED:
        assert "/compacted/" in lake.location(values)
    generations = {key.rsplit("/", 2)[1] for key in lake.keys("compacted/")}
    assert len(generations) == 2  # one per closed hour: an undone one left nothing
    lake.compact(when + KEEP)
    assert lake.keys("raw/gps_fixes/event_date=2026-06-01/") == []
    assert lake.keys("_landing/compaction/") == []
    assert lake.keys("_landing/compaction.lease") == []
    assert_every_row_once(lake, before)


def test_a_run_whose_lease_was_taken_over_never_repoints(lake: Lake) -> None:
    """Run A stalls past the lease time after writing its generation; run B takes the
    lease over, removes A's pending generation and compacts the hours itself; A resumes
    and must stop without sending readers to the generation B removed."""
    before = snapshot(lake)
    stalled: list[str] = []

    def stall_then_lose_the_lease(reached: str, label: str) -> None:
        if reached != "written" or stalled:
            return
        stalled.extend(lake.keys("compacted/"))  # A's generation, written and checked
        hold_lease(lake, datetime.now(UTC) - timedelta(minutes=1))  # A looks dead
        report_b = lake.compact()  # B: takes over, settles, compacts, releases
        assert len(report_b.undone) == 1 and len(report_b.compacted) == 2

    with pytest.raises(CompactionError, match="took the compaction lease over"):
        lake.compact(hook=stall_then_lose_the_lease)
    assert len(stalled) == 1
    for values in CLOSED:
        location = lake.location(values)
        assert "/compacted/" in location and stalled[0].rsplit("/", 1)[0] not in location
    assert stalled[0] not in lake.keys("compacted/")
    assert_every_row_once(lake, before)
    assert lake.keys("_landing/compaction.lease") == []  # B released it; A's release: no-op
    journals = [lake.s3.get_object(Bucket=BUCKET, Key=key) for key in lake.keys("_landing/")]
    states = [json.loads(found["Body"].read())["state"] for found in journals]
    assert states == ["committed", "committed"]  # B's two; nothing of A's is left


def test_a_run_whose_lease_another_holds_stops_before_the_repoint(lake: Lake) -> None:
    before = snapshot(lake)

    def lose_the_lease(reached: str, label: str) -> None:
        if reached == "written":  # another run holds it now, alive
            hold_lease(lake, datetime.now(UTC) + timedelta(minutes=10), owner="other:2:live")

    with pytest.raises(CompactionError, match="took the compaction lease over"):
        lake.compact(hook=lose_the_lease)
    for values in CLOSED:
        assert "raw/" in lake.location(values)  # not repointed
    assert_every_row_once(lake, before)
    assert lake.keys("_landing/compaction.lease")  # the other's: not released by this run
    with pytest.raises(CompactionError, match="another compaction"):
        lake.compact()
    hold_lease(lake, datetime.now(UTC) - timedelta(minutes=1))  # the other one died
    report = lake.compact()
    assert len(report.undone) == 1 and len(report.compacted) == 2
    assert_every_row_once(lake, before)


def test_a_generation_removed_before_the_repoint_is_never_pointed_at(lake: Lake) -> None:
    before = snapshot(lake)

    def remove_the_generation(reached: str, label: str) -> None:
        if reached == "written":
            for key in lake.keys("compacted/"):
                lake.s3.delete_object(Bucket=BUCKET, Key=key)

    with pytest.raises(CompactionError, match="gone"):
        lake.compact(hook=remove_the_generation)
    assert "raw/" in lake.location(CLOSED[0])
    assert_every_row_once(lake, before)
    assert lake.keys("_landing/compaction.lease") == []


def test_the_grace_starts_when_the_generation_is_committed(lake: Lake) -> None:
    """A run that starts at NOW but reaches the repoint 40 minutes later keeps the
    superseded files for the whole grace after the repoint, not after its start."""
    clock = {"now": NOW}

    def slow(reached: str, label: str) -> None:
        if reached == "written":
            clock["now"] = NOW + timedelta(minutes=40)

    report = lake.compact(NOW, hook=slow, clock=lambda: clock["now"])
    assert len(report.compacted) == 2
    for key in lake.keys("_landing/compaction/"):
        journal = json.loads(lake.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        committed_at = datetime.fromisoformat(journal["committed_at"])
        assert committed_at == NOW + timedelta(minutes=40)
        assert datetime.fromisoformat(journal["delete_after"]) == committed_at + KEEP
    # The run's own now (its start) plus the grace: still within it, nothing deleted.
    assert lake.compact(NOW + KEEP + timedelta(minutes=30)).deleted == 0
    assert len(lake.keys("raw/gps_fixes/event_date=2026-06-01/")) == 8
    assert lake.compact(NOW + KEEP + timedelta(minutes=40)).deleted == 8


def test_a_failed_release_never_hides_the_error_the_run_stops_on(
    lake: Lake, monkeypatch, caplog
) -> None:
    from botocore.exceptions import ClientError

    delete_object = lake.s3.delete_object

    def flaky_delete(**options):
        if options["Key"].endswith("compaction.lease"):
            raise ClientError({"Error": {"Code": "InternalError"}}, "DeleteObject")
        return delete_object(**options)

    def stop(reached: str, label: str) -> None:
        raise Stop(reached)

    monkeypatch.setattr(lake.s3, "delete_object", flaky_delete)
    with caplog.at_level("WARNING", logger="smartcity.compaction"), pytest.raises(Stop):
        lake.compact(hook=stop)
    assert "could not release the compaction lease" in caplog.text
    monkeypatch.setattr(lake.s3, "delete_object", delete_object)

    def lease_gone(reached: str, label: str) -> None:  # NoSuchKey: already released
        lake.s3.delete_object(Bucket=BUCKET, Key=f"{lake.name}/_landing/compaction.lease")
        raise Stop(reached)

    hold_lease(lake, datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(Stop):
        lake.compact(hook=lease_gone)


def test_superseded_files_stay_while_their_partition_is_gone_from_glue(lake: Lake) -> None:
    lake.compact()
    lake.glue.delete_partition(  # the table dropped and registered again without it
        DatabaseName=lake.database, TableName="gps_fixes", PartitionValues=list(CLOSED[0])
    )
    report = lake.compact(NOW + KEEP)
    assert report.deleted == 4  # the other closed hour's only
    assert len(lake.keys("raw/gps_fixes/event_date=2026-06-01/event_hour=8/")) == 4
    assert len(lake.keys("_landing/compaction/")) == 1  # kept: a later run decides
    assert any("no partition 2026-06-01/8" in reason for reason in report.waiting)


def test_a_lake_on_s3_needs_the_landing_checkpoint_on_s3(lake: Lake, tmp_path: Path) -> None:
    local = tmp_path / "checkpoints"
    (local / "gps_fixes" / "commits").mkdir(parents=True)
    for batch_id in range(12):
        (local / "gps_fixes" / "commits" / str(batch_id)).write_text("v1\n")
    for checkpoints in (
        str(local),  # a local checkpoint, even with commits: not the landing job's
        str(tmp_path / "missing"),  # the default data/checkpoints, never written
        f"s3://{BUCKET}/{lake.name}-elsewhere",  # on S3, without a commit of gps_fixes
    ):
        with pytest.raises(CompactionError, match="set SMARTCITY_CHECKPOINT_URI") as raised:
            lake.compact(checkpoints=checkpoints)
        assert "\n" not in str(raised.value)
    for values in CLOSED:
        assert "raw/" in lake.location(values)
    assert lake.keys("_landing/") == []  # stopped before the lease, before anything
    # A source that never landed a file needs no checkpoint.
    for key in lake.keys("raw/"):
        lake.s3.delete_object(Bucket=BUCKET, Key=key)
    report = lake.compact(checkpoints=str(tmp_path / "missing"))
    assert report.compacted == [] and report.waiting == []


def test_a_concurrent_reader_never_sees_a_mix_nor_a_partial_partition(lake: Lake) -> None:
    expected = {values: sorted(lake.read(values)) for values in CLOSED}
    seen: list[tuple[tuple[str, str], list[str], str]] = []
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
                    seen.append((values, sorted(reader_view.read(values)), kind))
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
    wrong = [(values, kind) for values, ids, kind in seen if ids != expected[values]]
    assert not wrong, wrong[:3]  # every read: each expected id exactly once
    assert {values for values, _, _ in seen} == set(CLOSED)
    kinds = {kind for _, _, kind in seen}
    assert kinds == {"raw", "compacted"}  # it read both before and after the repoint


def test_smartcity_compact_works_on_an_s3_lake(lake: Lake, monkeypatch, capsys) -> None:
    from smartcity.cli import build_parser, main

    assert build_parser({}).parse_args(["compact"]).keep_superseded_minutes == 120
    parser = build_parser({"SMARTCITY_COMPACTION_KEEP_SUPERSEDED_MINUTES": "30"})
    assert parser.parse_args(["compact"]).keep_superseded_minutes == 30

    before = snapshot(lake)
    monkeypatch.setenv("SMARTCITY_LAKE_URI", lake.uri)
    monkeypatch.setenv("SMARTCITY_GLUE_DATABASE", lake.database)
    monkeypatch.setattr("ingestion.contracts.CONTRACTS", tuple(lake.contracts))
    monkeypatch.setattr("smartcity.cli.lake_commands.CONTRACTS", tuple(lake.contracts))
    # SMARTCITY_CHECKPOINT_URI unset: a local default, not the landing job's checkpoint.
    monkeypatch.delenv("SMARTCITY_CHECKPOINT_URI", raising=False)
    assert main(["compact", "--grace-minutes", "60"]) != 0
    assert "set SMARTCITY_CHECKPOINT_URI" in capsys.readouterr().err
    assert "raw/" in lake.location(CLOSED[0])
    monkeypatch.setenv("SMARTCITY_CHECKPOINT_URI", lake.checkpoints)
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
    hold_lease(lake, datetime.now(UTC) + timedelta(minutes=10))
    with pytest.raises(CompactionError, match="another compaction"):
        lake.compact()
    assert "raw/" in lake.location(CLOSED[0])
    hold_lease(lake, datetime.now(UTC) - timedelta(minutes=1))  # not renewed: its holder died
    assert len(lake.compact().compacted) == 2
    assert lake.keys("_landing/compaction.lease") == []  # released
