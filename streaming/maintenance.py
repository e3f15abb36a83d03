"""Compaction and upkeep of the lake's Iceberg tables, through Iceberg's own API (pyiceberg).

Each micro-batch adds a file to every event hour it touches, so a continuous run leaves
many small files. :func:`compact` rewrites each closed hour of a raw table (ended more
than a grace period ago) that has more than one data file into one file, and commits it
as one Iceberg overwrite that names the files it replaces and the one it adds. A reader
of the table sees the old files or the new one (snapshot isolation), never a mix; a file
the landing job commits into the same hour meanwhile is not among those replaced, so it
stays. The new file lies in the hour's folder, beside the ones it replaces.

:func:`expire` then expires the snapshots older than a retention period (never the
current one) and deletes the data files that no remaining snapshot references and that
are older than the same period: the files compaction replaced, once no reader can still
be planning on them, and the strays of landing attempts that were never committed; and
likewise the manifests of the expired snapshots. The
batch records of the landing job are table properties, which expiry keeps.

Both work on a local lake and on S3 alike: pyiceberg reads and writes through the table's
own file IO (the local file system, or S3 through Arrow).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan
from pyiceberg.io.pyarrow import PyArrowFileIO, parquet_file_to_data_file
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_FIELD = "event_at_hour"  # the raw tables' partition field (streaming/iceberg_tables.py)
COMPACTION_SUMMARY = "smartcity.compacted-hour"
# A landing commit between this run's look at the table and its own commit makes it try
# again on the table as the landing job left it.
COMMIT_ATTEMPTS = 10


class CompactionError(RuntimeError):
    """The lake cannot be compacted as asked."""


@dataclass(frozen=True)
class HourFiles:
    """The data files of one event hour of a raw table."""

    table: str
    hour_start: datetime
    files: tuple[DataFile, ...]

    @property
    def label(self) -> str:
        return f"{self.table}/{HOUR_FIELD}={self.hour_start:%Y-%m-%d-%H}"

    @property
    def rows_per_file(self) -> tuple[int, ...]:
        return tuple(int(file.record_count) for file in self.files)


@dataclass(frozen=True)
class CompactionResult:
    partition: str
    files_before: int
    files_after: int
    rows: int


@dataclass(frozen=True)
class ExpiryResult:
    table: str
    snapshots_expired: int
    files_deleted: int  # data files
    manifests_deleted: int = 0


def hours(table: Table, name: str) -> list[HourFiles]:
    """Every event hour of a raw table with its current data files, oldest first."""
    by_hour: dict[int, list[DataFile]] = {}
    for task in table.scan().plan_files():
        hour = task.file.partition[0]
        by_hour.setdefault(int(hour), []).append(task.file)
    return [
        HourFiles(
            name,
            EPOCH + timedelta(hours=hour),
            tuple(sorted(files, key=lambda file: file.file_path)),
        )
        for hour, files in sorted(by_hour.items())
    ]


def _files_of_hour(table: Table, hour_start: datetime) -> list[DataFile]:
    """The current data files of one event hour, planned for that hour alone: the filter
    on the partition's source column prunes every other hour's manifest entries."""
    column = table.schema().find_column_name(table.spec().fields[0].source_id)
    start = hour_start.replace(tzinfo=None)
    hour = int((hour_start - EPOCH) // timedelta(hours=1))
    scan = table.scan(
        row_filter=And(
            GreaterThanOrEqual(column, start.isoformat()),
            LessThan(column, (start + timedelta(hours=1)).isoformat()),
        )
    )
    return [task.file for task in scan.plan_files() if int(task.file.partition[0]) == hour]


def compact(
    load_table: Callable[[], Table],
    name: str,
    now: datetime | None = None,
    grace: timedelta = timedelta(hours=1),
) -> list[CompactionResult]:
    """Rewrite every closed hour of a raw table that has more than one file into one."""
    now = now or datetime.now(UTC)
    results = []
    for hour in hours(load_table(), name):
        closed = hour.hour_start + timedelta(hours=1) + grace <= now
        if closed and len(hour.files) > 1:
            results.append(_compact_hour(load_table, hour))
    return results


def _compact_hour(load_table: Callable[[], Table], hour: HourFiles) -> CompactionResult:
    table = load_table()
    io = table.io
    parts = []
    for file in hour.files:
        with io.new_input(file.file_path).open() as stream:
            parts.append(pq.read_table(stream))
    # Files landed before a contract gained a field lack its column: null there.
    rows = pa.concat_tables(parts, promote_options="default")
    if rows.num_rows != sum(hour.rows_per_file):
        raise CompactionError(
            f"{hour.label}: read {rows.num_rows} rows, the table lists {sum(hour.rows_per_file)}"
        )
    folder = hour.files[0].file_path.rsplit("/", 1)[0]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = f"{folder}/part-c{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    with io.new_output(path).create(overwrite=False) as stream:
        pq.write_table(rows, stream, compression="zstd", row_group_size=1_000_000)
    replaced = {file.file_path for file in hour.files}
    for _ in range(COMMIT_ATTEMPTS):
        table = load_table()
        current = {file.file_path: file for file in _files_of_hour(table, hour.hour_start)}
        if not replaced <= current.keys():
            # Another compaction replaced them first; this run's file is an orphan
            # that expire() deletes.
            raise CompactionError(f"{hour.label} changed under this compaction; run it again")
        compacted = parquet_file_to_data_file(io, table.metadata, path)
        try:
            with (
                table.transaction() as transaction,
                transaction.update_snapshot(
                    snapshot_properties={COMPACTION_SUMMARY: hour.label}
                ).overwrite() as rewrite,
            ):
                for old in replaced:
                    rewrite.delete_data_file(current[old])
                rewrite.append_data_file(compacted)
            return CompactionResult(hour.label, len(hour.files), 1, rows.num_rows)
        except CommitFailedException:
            continue  # the landing job committed first: look at the table again
    raise CompactionError(
        f"{hour.label}: lost {COMMIT_ATTEMPTS} commits in a row to the landing job; run again"
    )


def expire(table: Table, name: str, keep: timedelta, now: datetime | None = None) -> ExpiryResult:
    """Expire snapshots older than ``keep`` and delete the data files in the table's
    folder that no remaining snapshot references and that are older than ``keep``."""
    now = now or datetime.now(UTC)
    cutoff = now - keep
    current = table.current_snapshot()
    old = [
        snapshot.snapshot_id
        for snapshot in table.snapshots()
        if current is not None
        and snapshot.snapshot_id != current.snapshot_id
        and snapshot.timestamp_ms < cutoff.timestamp() * 1000
    ]
    if old:
        table.maintenance.expire_snapshots().by_ids(old).commit()
        table = table.refresh()
    referenced = set(table.inspect.all_files().column("file_path").to_pylist())
    # The manifest lists and manifests of the snapshots that remain; those of expired
    # snapshots are metadata no reader can reach any more.
    referenced |= {snapshot.manifest_list for snapshot in table.snapshots()}
    referenced |= set(table.inspect.all_manifests().column("path").to_pylist())
    deleted = {"data": 0, "manifests": 0}
    for path, modified in _files_below(table):
        if path not in referenced and modified < cutoff:
            table.io.delete(path)
            deleted["manifests" if path.endswith(".avro") else "data"] += 1
    return ExpiryResult(name, len(old), deleted["data"], deleted["manifests"])


def _files_below(table: Table) -> Iterable[tuple[str, datetime]]:
    """The table's data files (Parquet, outside its metadata folder) and its manifest
    files (Avro, in it), with the time each was last written; listed through the table's
    own file system. Metadata JSON files are left to the table's own
    ``write.metadata.delete-after-commit.enabled``."""
    location = table.location().rstrip("/")
    scheme, netloc, root = PyArrowFileIO.parse_location(location)
    io = table.io
    if not isinstance(io, PyArrowFileIO):
        raise CompactionError(f"{location}: files are listed through Arrow's file systems only")
    filesystem = io.fs_by_scheme(scheme, netloc)
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    for info in filesystem.get_file_info(selector):
        relative = info.path[len(root) :].lstrip("/")
        if info.type != pafs.FileType.File:
            continue
        in_metadata = relative.split("/", 1)[0] == "metadata"
        if not (relative.endswith(".avro") if in_metadata else relative.endswith(".parquet")):
            continue
        modified = info.mtime or datetime.now(UTC)
        uri = f"{location}/{relative}"
        yield uri, modified if modified.tzinfo else modified.replace(tzinfo=UTC)
