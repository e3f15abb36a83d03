"""Compaction of closed hours: fewer files, the same rows, and never a partial partition."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from streaming.compaction import CompactionError, compact, partitions

NOW = datetime(2026, 6, 2, 12, 30, tzinfo=UTC)


def write_batch_file(folder: Path, batch_id: int, first_row: int, rows: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.execute(
        f"copy (select 'e-' || cast(i as varchar) as event_id, i * 1.5 as speed_kmh, "
        f"timestamp '2026-06-01 08:00:00' + to_seconds(i) as event_at "
        f"from range({first_row}, {first_row + rows}) t(i)) "
        f"to '{folder}/part-b{batch_id:012d}-00000.parquet' (format parquet)"
    )


def commit(checkpoints: Path, source: str, batch_ids: range) -> None:
    commits = checkpoints / source / "commits"
    commits.mkdir(parents=True, exist_ok=True)
    for batch_id in batch_ids:
        (commits / str(batch_id)).write_text("v1\n")


@pytest.fixture
def lake(tmp_path: Path) -> tuple[Path, Path]:
    lake, checkpoints = tmp_path / "lake", tmp_path / "checkpoints"
    table = lake / "raw" / "gps_fixes"
    for batch_id in range(40):  # a closed hour written by 40 micro-batches
        write_batch_file(table / "event_date=2026-06-01/event_hour=8", batch_id, batch_id * 50, 50)
    for batch_id in range(40, 45):  # the current hour: still being written
        write_batch_file(table / "event_date=2026-06-02/event_hour=12", batch_id, batch_id * 50, 50)
    commit(checkpoints, "gps_fixes", range(45))
    return lake, checkpoints


def all_rows(lake: Path) -> list[tuple]:
    return sorted(
        duckdb.execute(
            f"select * from read_parquet('{lake}/raw/gps_fixes/*/*/*.parquet', hive_partitioning = true)"
        ).fetchall()
    )


def test_closed_hours_become_one_file_with_identical_rows(lake) -> None:
    root, checkpoints = lake
    before = all_rows(root)
    results = compact(str(root), checkpoints, ["gps_fixes"], now=NOW)
    assert [(r.files_before, r.files_after, r.rows) for r in results] == [(40, 1, 2_000)]
    assert all_rows(root) == before
    files = {p.label: len(p.files) for p in partitions(root, ["gps_fixes"])}
    assert files == {
        "gps_fixes/event_date=2026-06-01/event_hour=8": 1,
        "gps_fixes/event_date=2026-06-02/event_hour=12": 5,  # open hour: untouched
    }
    assert not list((root / "_landing" / "compaction").iterdir())
    (compacted,) = (root / "raw/gps_fixes/event_date=2026-06-01/event_hour=8").glob("*.parquet")
    columns = duckdb.execute(
        f"describe select * from read_parquet('{compacted}', hive_partitioning = false)"
    ).fetchall()
    # The partition values stay in the path, as in the landed files.
    assert [c[0] for c in columns] == ["event_id", "speed_kmh", "event_at"]


def test_a_partition_with_an_uncommitted_batch_waits(lake) -> None:
    root, checkpoints = lake
    write_batch_file(root / "raw/gps_fixes/event_date=2026-06-01/event_hour=8", 99, 90_000, 5)
    assert compact(str(root), checkpoints, ["gps_fixes"], now=NOW) == []
    commit(checkpoints, "gps_fixes", range(99, 100))
    assert [r.files_before for r in compact(str(root), checkpoints, ["gps_fixes"], now=NOW)] == [41]


def test_readers_never_see_a_partial_partition_while_compaction_runs(lake) -> None:
    root, checkpoints = lake
    expected = len(all_rows(root))
    seen: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def read_repeatedly() -> None:
        connection = duckdb.connect()
        while not stop.is_set():
            try:
                seen.append(
                    connection.execute(
                        f"select count(*) from read_parquet('{root}/raw/gps_fixes/*/*/*.parquet')"
                    ).fetchone()[0]
                )
            except duckdb.Error as error:  # a file listed just before the swap is gone
                failures.append(str(error))

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        while len(seen) < 5:  # the reader is running before compaction starts
            stop.wait(0.01)
        compact(str(root), checkpoints, ["gps_fixes"], now=NOW)
        count_after = len(seen)
        while len(seen) < count_after + 5:
            stop.wait(0.01)
    finally:
        stop.set()
        reader.join(timeout=30)
    assert seen and set(seen) == {expected}, f"partial reads: {sorted(set(seen))}"
    # A read that fails retries cleanly; it never returns a wrong answer.
    assert len(failures) <= 2, failures


def test_an_object_store_lake_is_refused_with_a_reason(tmp_path) -> None:
    with pytest.raises(CompactionError, match="object store"):
        compact("s3://bucket/lake", tmp_path, ["gps_fixes"], now=NOW, grace=timedelta(0))
