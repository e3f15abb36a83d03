"""Compaction of closed hours: many small landed files become one file per partition.

Each micro-batch adds files to the hours it touches, so a continuous run leaves many
small files, the classic failure of a lake fed by a stream. For every closed partition
(its hour ended more than a grace period ago) with more than one file, the rows are
rewritten into one file in a folder beside the lake's tables, and that folder is then
swapped with the partition in a single atomic ``renameat2(RENAME_EXCHANGE)``: a reader
that lists the partition finds either all the old files or the compacted one, never a
mix and never an empty partition. Files of a batch that the landing job has not
committed yet (it will replay that batch after a restart) keep their partition out of
compaction, so a replay can never duplicate compacted rows.

This works on a local lake (DuckDB does the rewrite). An s3:// lake has no atomic swap
of a folder: :mod:`streaming.s3_compaction` writes a new generation beside the landed
files instead and repoints the Glue partition at it.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

LANDING_DIR = "_landing"
BATCH_FILE = re.compile(r"^part-b(\d+)-\d+\.parquet$")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
ORIGIN = "origin.txt"  # in a work folder: the partition it is swapped with


class CompactionError(RuntimeError):
    """The lake cannot be compacted as asked."""


@dataclass(frozen=True)
class PartitionFiles:
    source: str
    path: Path
    hour_start: datetime
    files: tuple[Path, ...]
    rows_per_file: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.source}/{self.path.parent.name}/{self.path.name}"


@dataclass(frozen=True)
class CompactionResult:
    partition: str
    files_before: int
    files_after: int
    rows: int


def exchange(first: Path, second: Path) -> None:
    """Swap two folders in one atomic step (Linux ``renameat2``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result != 0:
        error = ctypes.get_errno()
        raise CompactionError(
            f"the file system of {first} cannot swap folders atomically "
            f"({os.strerror(error)}); compaction needs a local Linux file system such as ext4"
        )


def last_committed_batch(checkpoint_dir: Path, source: str) -> int:
    commits = checkpoint_dir / source / "commits"
    ids = [int(p.name) for p in commits.iterdir() if p.name.isdigit()] if commits.exists() else []
    return max(ids, default=-1)


def _rows(files: list[Path]) -> list[int]:
    if not files:
        return []
    listed = ", ".join(f"'{f}'" for f in files)
    rows = duckdb.execute(
        f"select filename, count(*) from read_parquet([{listed}], filename = true) group by 1"
    ).fetchall()
    counts = {Path(name): int(count) for name, count in rows}
    return [counts.get(f, 0) for f in files]


def partitions(lake: Path, sources: list[str]) -> list[PartitionFiles]:
    """Every hour partition of the raw datasets, with its files and their row counts."""
    found = []
    for source in sources:
        root = lake / "raw" / source
        for hour_dir in sorted(root.glob("event_date=*/event_hour=*")):
            files = sorted(hour_dir.glob("*.parquet"))
            day = hour_dir.parent.name.split("=", 1)[1]
            hour = int(hour_dir.name.split("=", 1)[1])
            start = datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)
            found.append(PartitionFiles(source, hour_dir, start, tuple(files), tuple(_rows(files))))
    return found


def compact(
    lake_uri: str,
    checkpoint_dir: Path,
    sources: list[str],
    now: datetime | None = None,
    grace: timedelta = timedelta(hours=1),
) -> list[CompactionResult]:
    if "://" in lake_uri:
        raise CompactionError(
            f"this compaction swaps folders of a local lake; {lake_uri} is on an object "
            "store, which cannot: streaming.s3_compaction.compact_s3 compacts it through Glue"
        )
    lake = Path(lake_uri)
    now = now or datetime.now(UTC)
    work_root = lake / LANDING_DIR / "compaction"
    work_root.mkdir(parents=True, exist_ok=True)
    with (work_root.parent / "compaction.lock").open("w") as lock:
        # One compaction at a time: two would each swap in their own rewrite.
        fcntl.flock(lock, fcntl.LOCK_EX)
        _return_stray_files(work_root)
        return _compact_closed(lake, checkpoint_dir, sources, now, grace)


def _compact_closed(
    lake: Path, checkpoint_dir: Path, sources: list[str], now: datetime, grace: timedelta
) -> list[CompactionResult]:
    results = []
    for partition in partitions(lake, sources):
        closed = partition.hour_start + timedelta(hours=1) + grace <= now
        if not closed or len(partition.files) < 2:
            continue
        committed = last_committed_batch(checkpoint_dir, partition.source)
        batch_ids = [
            int(match.group(1)) for f in partition.files if (match := BATCH_FILE.match(f.name))
        ]
        if any(batch_id > committed for batch_id in batch_ids):
            continue  # a batch still to be replayed wrote here: leave it to the next run
        results.append(_compact_partition(lake, partition))
    return results


def _return_stray_files(work_root: Path) -> None:
    """Put back files that an interrupted compaction left in its work folder: a file
    landed while the partition was being swapped must end up in its partition."""
    for work in work_root.iterdir() if work_root.exists() else []:
        origin_file = work / ORIGIN
        if origin_file.exists():
            origin = Path(origin_file.read_text())
            for stray in work.glob("part-b*.parquet"):
                if origin.exists() and not (origin / stray.name).exists():
                    shutil.move(str(stray), origin / stray.name)
        shutil.rmtree(work, ignore_errors=True)


def _compact_partition(lake: Path, partition: PartitionFiles) -> CompactionResult:
    work = lake / LANDING_DIR / "compaction" / uuid.uuid4().hex
    work.mkdir(parents=True)
    swapped = False
    try:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = work / f"part-c{stamp}-00000.parquet"
        listed = ", ".join(f"'{f}'" for f in partition.files)
        duckdb.execute(
            # hive_partitioning off: the partition values stay in the path, as in the
            # landed files, not in the file's columns.
            f"copy (select * from read_parquet([{listed}], hive_partitioning = false)) "
            f"to '{target}' "
            "(format parquet, compression zstd, row_group_size 1000000)"
        )
        rows = _rows([target])[0]
        if rows != sum(partition.rows_per_file):
            raise CompactionError(f"{partition.label}: rewrite has {rows} rows, expected more")
        (work / ORIGIN).write_text(str(partition.path))
        exchange(work, partition.path)
        swapped = True
        (partition.path / ORIGIN).unlink()
        # `work` now holds the old files. Anything in it that was not compacted (a file
        # landed meanwhile) goes back, so nothing is ever lost.
        compacted = {f.name for f in partition.files}
        for leftover in work.iterdir():
            if leftover.name not in compacted and leftover.name != ORIGIN:
                shutil.move(str(leftover), partition.path / leftover.name)
        shutil.rmtree(work)
        return CompactionResult(partition.label, len(partition.files), 1, rows)
    except BaseException:
        # Before the swap the work folder holds only the rewrite; after it, it may hold
        # a file landed meanwhile, which the next run puts back (_return_stray_files).
        if not swapped:
            shutil.rmtree(work, ignore_errors=True)
        raise
