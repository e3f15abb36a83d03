"""Batches committed to an Iceberg table exactly once (streaming/iceberg_batches.py), on
the local SQLite catalog, with files written as the landing job writes them: one per
event hour, without Iceberg field ids."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from streaming.iceberg_batches import (
    BATCH_ID_SUMMARY,
    BatchCommitError,
    commit_batch,
    landed_batch,
)
from streaming.iceberg_catalogs import local_catalog
from tests.iceberg_samples import BY_HOUR, SCHEMA, START, ten_events


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = local_catalog(tmp_path / "lake")
    catalog.create_namespace("raw")
    catalog.create_table("raw.gps_fixes", schema=SCHEMA, partition_spec=BY_HOUR)
    return catalog


def write_batch(table: Table, writer: str, batch_id: int, hours: list[int]) -> list[str]:
    """Ten events per event hour, a file per hour, as the landing job names them."""
    files = []
    for hour in hours:
        rows = ten_events(f"{writer}-{batch_id}-{hour}", START + timedelta(hours=hour))
        folder = Path(table.location().removeprefix("file://")) / "data" / f"hour={hour}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"batch-{writer}-{batch_id}.parquet"
        pq.write_table(rows, path)
        files.append(f"file://{path}")
    return files


def event_ids(table: Table) -> list[str]:
    return sorted(table.scan().to_arrow().column("event_id").to_pylist())


def test_each_batch_lands_once_in_the_partitions_of_its_event_hours(catalog: Catalog) -> None:
    load = lambda: catalog.load_table("raw.gps_fixes")  # noqa: E731
    for batch_id, hours in enumerate(([0, 1], [1, 5])):
        files = write_batch(load(), "gps", batch_id, hours)
        assert commit_batch(load, "gps", "query-a", batch_id, files)
    table = load()
    assert len(event_ids(table)) == 40 == len(set(event_ids(table)))
    assert landed_batch(table, "gps") == ("query-a", 1)
    assert [s.summary[BATCH_ID_SUMMARY] for s in table.snapshots()] == ["0", "1"]
    hours = sorted(
        row["event_at_hour"] for row in table.inspect.files().column("partition").to_pylist()
    )
    first = int((START - datetime(1970, 1, 1)).total_seconds() // 3600)
    assert hours == [first, first + 1, first + 1, first + 5]
    # One event hour reads only its own files.
    one_hour = table.scan(
        row_filter=f"event_at >= '{START.isoformat()}' and event_at < '{(START + timedelta(hours=1)).isoformat()}'"
    )
    assert len(list(one_hour.plan_files())) == 1


def test_a_replayed_batch_is_not_appended_again(catalog: Catalog) -> None:
    load = lambda: catalog.load_table("raw.gps_fixes")  # noqa: E731
    files = write_batch(load(), "gps", 0, [0])
    assert commit_batch(load, "gps", "query-a", 0, files)
    before = load().current_snapshot()
    # Spark replays batch 0 after a crash between the commit and its own checkpoint.
    assert not commit_batch(load, "gps", "query-a", 0, files)
    assert load().current_snapshot() == before
    assert len(event_ids(load())) == 10


def test_a_batch_without_files_still_records_its_id(catalog: Catalog) -> None:
    load = lambda: catalog.load_table("raw.gps_fixes")  # noqa: E731
    assert commit_batch(load, "gps", "query-a", 0, [])
    assert landed_batch(load(), "gps") == ("query-a", 0)
    assert event_ids(load()) == []
    assert not commit_batch(load, "gps", "query-a", 0, write_batch(load(), "gps", 0, [0]))


def test_another_checkpoint_is_refused_with_what_to_do(catalog: Catalog) -> None:
    load = lambda: catalog.load_table("raw.gps_fixes")  # noqa: E731
    assert commit_batch(load, "gps", "query-a", 3, write_batch(load(), "gps", 3, [0]))
    with pytest.raises(BatchCommitError, match=r"^raw\.gps_fixes holds .*SMARTCITY_CHECKPOINT_URI"):
        commit_batch(load, "gps", "query-b", 0, write_batch(load(), "gps", 0, [1]))
    assert len(event_ids(load())) == 10


def test_writers_sharing_a_table_lose_no_batch_to_each_other(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    local_catalog(lake).create_namespace("raw")
    local_catalog(lake).create_table("raw.dead_letters", schema=SCHEMA, partition_spec=BY_HOUR)
    errors: list[BaseException] = []

    def land(writer: str) -> None:
        catalog = local_catalog(lake)  # a catalog per writer, as each query has its own
        load = lambda: catalog.load_table("raw.dead_letters")  # noqa: E731
        try:
            for batch_id in range(8):
                commit_batch(
                    load,
                    writer,
                    f"query-{writer}",
                    batch_id,
                    write_batch(load(), writer, batch_id, [batch_id % 3]),
                )
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    writers = [threading.Thread(target=land, args=(name,)) for name in ("gps", "weather", "camera")]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    assert not errors, errors
    table = local_catalog(lake).load_table("raw.dead_letters")
    assert len(event_ids(table)) == 3 * 8 * 10 == len(set(event_ids(table)))
    for writer in ("gps", "weather", "camera"):
        assert landed_batch(table, writer) == (f"query-{writer}", 7)


@pytest.mark.parametrize(
    ("hours", "pyiceberg_retries", "looks_expected"),
    [([1], "4", 1), ([1], "0", 2), ([], "0", 1)],
    ids=["pyiceberg retries", "pyiceberg gives up", "batch record alone"],
)
def test_a_commit_that_loses_the_race_keeps_both_batches(
    catalog: Catalog, hours: list[int], pyiceberg_retries: str, looks_expected: int
) -> None:
    load = lambda: catalog.load_table("raw.gps_fixes")  # noqa: E731
    with load().transaction() as transaction:
        transaction.set_properties({"commit.retry.num-retries": pyiceberg_retries})
    stale = load()  # what the weather writer read before the gps writer committed
    assert commit_batch(load, "gps", "query-gps", 0, write_batch(load(), "gps", 0, [0]))
    looks: list[Table] = []

    def weather_looks() -> Table:
        looks.append(stale if not looks else load())
        return looks[-1]

    files = write_batch(load(), "weather", 0, hours)
    assert commit_batch(weather_looks, "weather", "query-weather", 0, files)
    # An append made on a table another writer has since changed is refused: pyiceberg
    # rebuilds it on the new table, or, once pyiceberg gives up, commit_batch reads the
    # batch record again and starts over. Properties alone apply to the newest table.
    assert len(looks) == looks_expected
    table = load()
    assert len(event_ids(table)) == 10 + 10 * len(hours)
    assert landed_batch(table, "gps") == ("query-gps", 0)
    assert landed_batch(table, "weather") == ("query-weather", 0)
