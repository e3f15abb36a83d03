"""Compaction of closed hours on an s3:// lake: a new generation per partition, and the
Glue partition repointed at it in one call.

S3 cannot swap a folder, so a partition is never rewritten in place. For every closed
hour (ended more than a grace period ago) whose live files number more than one, the
rows are rewritten into one file under a prefix of their own, a *generation*::

    <lake>/compacted/raw/<source>/event_date=D/event_hour=H/gen-<stamp>-<id>/part-00000.parquet

outside ``raw/``, so that no glob of ``raw/<source>/*/*/*.parquet`` and no listing of a
landed partition ever counts a row twice. Once the file is written and its row count
checked against the files it replaces, the Glue partition's location is repointed at the
generation with one ``UpdatePartition`` call: a reader that resolves the partition
before that call reads the old files, one that resolves it after reads the new one, and
both find every row once. Redshift Spectrum and Athena *without partition projection*
resolve partitions through Glue, so both follow. Athena with projection computes
locations from the table's ``storage.location.template`` and ignores the partitions in
Glue, so it would keep reading ``raw/`` and lose the rows once they are deleted:
compaction refuses a table with projection on (``smartcity catalog register
--no-projection``), and registration refuses to turn projection on over a table with a
compacted partition.

The superseded files are not deleted at once: a reader that resolved the old location
just before the repoint may still be reading them. A journal per generation under
``<lake>/_landing/compaction/`` records, before anything is written, the new files and
the ones they supersede; it turns from ``pending`` to ``committed`` after the repoint,
with the time after which the superseded files may go. Every run first settles the
journals it finds: a pending generation that Glue points at is committed (the run
that made it stopped just after the repoint), any other pending one is removed (it
stopped before: nobody ever read it); committed generations past their grace lose
their superseded files, then their journal, unless Glue no longer has the partition
(the table dropped or registered again without it): then both stay for a later run. A
run that stops at any point therefore leaves Glue pointing at a complete set of files
holding every row once, and the next run finishes or undoes what it left. The grace
of a generation counts from its commit, after the repoint.

One run at a time: a lease object, renewed before each partition, before each repoint
and before each journal settled. A run stalled for longer than the lease time may find
it taken over by another, which has removed its pending generation as a dead run's: it
stops at its next renewal, and never repoints Glue at a generation whose object or
pending journal is gone.

Files that land in an hour after it was compacted (late events) stay in ``raw/``; Glue
readers see them once the next run compacts them into a new generation with the
current one. Files of a batch that the landing job has not committed yet keep their
partition out of compaction, as on a local lake; the committed batches are read from
the landing job's checkpoint, which must be on S3 (SMARTCITY_CHECKPOINT_URI): a run
refuses to start when a source has landed files and the checkpoint is local, missing
or without a commit, rather than keep every hour waiting.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from streaming.compaction import BATCH_FILE, LANDING_DIR, CompactionError, last_committed_batch

COMPACTED_DIR = "compacted"
JOURNAL_DIR = f"{LANDING_DIR}/compaction"
LEASE_KEY = f"{LANDING_DIR}/compaction.lease"
LEASE_TIME = timedelta(minutes=30)  # not renewed for that long: its holder died
KEEP_SUPERSEDED = timedelta(hours=2)
COMPACTED_FILE = "part-00000.parquet"
LOG = logging.getLogger("smartcity.compaction")

# Called between the steps of a run with the step's name and the partition's label:
# "written" (new generation written and checked, Glue not repointed yet), "repointed"
# (Glue repointed, journal not committed yet), "deleted" (after each superseded file
# deleted). Tests raise from it to stop a run where a crash could.
Hook = Callable[[str, str], None]
# The current time: when a generation is committed its grace starts from it, and a
# committed generation's superseded files go once it has passed their delete_after.
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class S3Lake:
    s3: Any
    bucket: str
    prefix: str  # the lake's key prefix, without slashes at either end

    @classmethod
    def of(cls, s3: Any, lake_uri: str) -> S3Lake:
        parsed = urlparse(lake_uri)
        if parsed.scheme not in ("s3", "s3a"):
            raise CompactionError(f"{lake_uri} is not an s3:// lake")
        return cls(s3, parsed.netloc, parsed.path.strip("/"))

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def key_of(self, uri: str) -> str:
        parsed = urlparse(uri)
        if parsed.scheme not in ("s3", "s3a") or parsed.netloc != self.bucket:
            raise CompactionError(f"{uri} is not in the lake's bucket {self.bucket}")
        return parsed.path.strip("/")

    def keys(self, prefix: str, recursive: bool = True) -> list[str]:
        prefix = prefix.rstrip("/") + "/"
        options: dict[str, str] = {"Bucket": self.bucket, "Prefix": prefix}
        if not recursive:
            options["Delimiter"] = "/"
        pages = self.s3.get_paginator("list_objects_v2").paginate(**options)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def parquet_files(self, folder: str) -> list[str]:
        """The data files directly in ``folder``, skipping hidden ones as Hive readers do."""
        return [
            key
            for key in self.keys(folder, recursive=False)
            if key.endswith(".parquet") and not key.rsplit("/", 1)[-1].startswith(("_", "."))
        ]

    def files_by_folder(self, prefix: str) -> dict[str, list[str]]:
        """The data files under ``prefix`` at any depth, by the folder that holds them."""
        folders: dict[str, list[str]] = {}
        for key in self.keys(prefix):
            folder, name = key.rsplit("/", 1)
            if name.endswith(".parquet") and not name.startswith(("_", ".")):
                folders.setdefault(folder, []).append(key)
        return folders

    def read_json(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def write_json(self, key: str, document: dict[str, Any]) -> None:
        # One PUT: an object is replaced whole or not at all, never left half-written.
        body = json.dumps(document, indent=1).encode()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)  # idempotent

    def parquet_rows(self, key: str) -> int:
        """Rows of one Parquet object, from its footer (two small ranged reads at most)."""
        tail = self.s3.get_object(Bucket=self.bucket, Key=key, Range="bytes=-65536")["Body"].read()
        if len(tail) < 12 or tail[-4:] != b"PAR1":
            raise CompactionError(f"s3://{self.bucket}/{key} is not a Parquet file")
        footer = struct.unpack("<I", tail[-8:-4])[0] + 8
        if footer > len(tail):
            tail = self.s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=-{footer}")[
                "Body"
            ].read()
        return int(pq.read_metadata(pa.BufferReader(tail)).num_rows)


@dataclass(frozen=True)
class S3Partition:
    source: str
    values: tuple[str, str]  # event_date, event_hour as Glue holds them
    location: str  # the key prefix Glue points at
    raw_folder: str  # where the landing job writes this hour
    live: tuple[str, ...]  # the keys a reader of the partition must see, each once
    unreachable: tuple[str, ...]  # landed after a compaction: in no reader's view yet

    @property
    def label(self) -> str:
        return f"{self.source}/event_date={self.values[0]}/event_hour={self.values[1]}"

    @property
    def hour_start(self) -> datetime:
        day = datetime.fromisoformat(self.values[0])
        return day.replace(hour=int(self.values[1]), tzinfo=UTC)

    @property
    def compacted(self) -> bool:
        return self.location != self.raw_folder


@dataclass
class S3CompactionReport:
    compacted: list[tuple[str, int, int]] = field(default_factory=list)  # label, files, rows
    committed: list[str] = field(default_factory=list)  # pending generations Glue points at
    undone: list[str] = field(default_factory=list)  # pending generations never pointed at
    deleted: int = 0  # superseded files deleted past their grace
    waiting: list[str] = field(default_factory=list)  # labels skipped, with the reason


def _journal_key(lake: S3Lake, source: str, values: tuple[str, str], generation: str) -> str:
    return lake.key(
        f"{JOURNAL_DIR}/{source}/event_date={values[0]}/event_hour={values[1]}/{generation}.json"
    )


def journals(lake: S3Lake) -> list[tuple[str, dict[str, Any]]]:
    return [
        (key, lake.read_json(key))
        for key in lake.keys(lake.key(JOURNAL_DIR))
        if key.endswith(".json")
    ]


def committed_batch(checkpoint_uri: str, source: str, s3: Any) -> int:
    """The landing job's last committed batch of ``source``, from a local or s3 checkpoint."""
    parsed = urlparse(checkpoint_uri)
    if parsed.scheme not in ("s3", "s3a"):
        return last_committed_batch(Path(checkpoint_uri), source)
    prefix = "/".join(p for p in (parsed.path.strip("/"), source, "commits") if p) + "/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=parsed.netloc, Prefix=prefix)
    names = [item["Key"][len(prefix) :] for page in pages for item in page.get("Contents", [])]
    return max((int(name) for name in names if name.isdigit()), default=-1)


def _has_landed_files(lake: S3Lake, source: str) -> bool:
    """Whether the landing job wrote any data file of ``source`` under raw/."""
    prefix = lake.key(f"raw/{source}") + "/"
    pages = lake.s3.get_paginator("list_objects_v2").paginate(Bucket=lake.bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            name = item["Key"].rsplit("/", 1)[-1]
            if name.endswith(".parquet") and not name.startswith(("_", ".")):
                return True
    return False


def committed_batches(lake: S3Lake, checkpoint_uri: str, sources: list[str]) -> dict[str, int]:
    """The landing job's last committed batch per source, read once per run. A lake on
    S3 needs the landing job's checkpoint on S3: a local one (the default when
    SMARTCITY_CHECKPOINT_URI is unset) or one without any commit would keep every hour
    waiting for a batch that looks uncommitted, forever."""
    on_s3 = urlparse(checkpoint_uri).scheme in ("s3", "s3a")
    batches = {}
    for source in sources:
        batch = committed_batch(checkpoint_uri, source, lake.s3) if on_s3 else -1
        if (not on_s3 or batch < 0) and _has_landed_files(lake, source):
            where = "is not on S3" if not on_s3 else f"has no committed batch of {source}"
            raise CompactionError(
                f"the checkpoint location {checkpoint_uri or '(none)'} {where}, but {source} "
                "has landed files in the s3:// lake: set SMARTCITY_CHECKPOINT_URI to the "
                "landing job's s3:// checkpoint location"
            )
        batches[source] = batch
    return batches


def _partition_location(glue: Any, database: str, table: str, values: list[str]) -> str | None:
    try:
        partition = glue.get_partition(
            DatabaseName=database, TableName=table, PartitionValues=values
        )
    except glue.exceptions.EntityNotFoundException:
        return None
    return str(partition["Partition"]["StorageDescriptor"]["Location"])


def require_registered_without_projection(glue: Any, database: str, table: str) -> None:
    try:
        found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException:
        raise CompactionError(
            f"Glue has no table {database}.{table}: compaction on S3 repoints Glue partitions, "
            "so register the lake first (smartcity catalog register --no-projection)"
        ) from None
    if found.get("Parameters", {}).get("projection.enabled", "").lower() == "true":
        raise CompactionError(
            f"{database}.{table} has Athena partition projection on: Athena would keep reading "
            "the landed files from the projected location and lose the rows once they are "
            "deleted. Register with `smartcity catalog register --no-projection` (Athena then "
            "reads the partitions in Glue, as Spectrum does) before compacting an s3:// lake."
        )


def s3_partitions(
    lake: S3Lake, glue: Any, database: str, source: str, recorded: list[dict[str, Any]]
) -> list[S3Partition]:
    """Every hour partition of ``source`` registered in Glue, with the files its readers
    see and any landed after it was compacted."""
    absorbed: dict[tuple[str, str], set[str]] = {}
    for journal in recorded:
        if journal["source"] == source and journal["state"] == "committed":
            values = (journal["values"][0], journal["values"][1])
            absorbed.setdefault(values, set()).update(
                lake.key_of(uri) for uri in journal["superseded"]
            )
    # Two listings per source, not one per partition: once their grace is over, raw/
    # holds only the hours not compacted yet, compacted/ about one file per hour.
    landed = lake.files_by_folder(lake.key(f"raw/{source}"))
    generations = lake.files_by_folder(lake.key(f"{COMPACTED_DIR}/raw/{source}"))
    found = []
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=source)
    for partition in (p for page in pages for p in page["Partitions"]):
        values = (partition["Values"][0], partition["Values"][1])
        location = lake.key_of(partition["StorageDescriptor"]["Location"]).rstrip("/")
        raw_folder = lake.key(f"raw/{source}/event_date={values[0]}/event_hour={values[1]}")
        raw = landed.get(raw_folder, [])
        if location == raw_folder:
            live, unreachable = raw, []
        else:
            unreachable = [key for key in raw if key not in absorbed.get(values, set())]
            current = generations.get(location)
            live = (current if current is not None else lake.parquet_files(location)) + unreachable
        found.append(
            S3Partition(source, values, location, raw_folder, tuple(live), tuple(unreachable))
        )
    return sorted(found, key=lambda p: p.values)


def compact_s3(
    lake_uri: str,
    checkpoint_uri: str,
    sources: list[str],
    *,
    glue: Any,
    s3: Any,
    database: str,
    now: datetime | None = None,
    grace: timedelta = timedelta(hours=1),
    keep_superseded: timedelta = KEEP_SUPERSEDED,
    hook: Hook | None = None,
    clock: Clock = _utc_now,
) -> S3CompactionReport:
    """Settle what earlier runs left, then compact every closed hour of ``sources``.

    ``now`` decides which hours are closed; ``clock`` is the time of each step (when a
    generation's grace starts, whether a committed one's has passed)."""
    lake = S3Lake.of(s3, lake_uri)
    now = now or clock()
    hook = hook or (lambda step, label: None)
    report = S3CompactionReport()
    for source in sources:
        require_registered_without_projection(glue, database, source)
    # Before the lease and before any listing of partitions: a batch committed after
    # this read only waits for the next run.
    committed = committed_batches(lake, checkpoint_uri, sources)
    lease = Lease(lake)
    lease.take()
    try:
        _settle(lake, glue, database, clock, keep_superseded, report, hook, lease)
        found = [journal for _, journal in journals(lake)]
        for source in sources:
            for partition in s3_partitions(lake, glue, database, source, found):
                closed = partition.hour_start + timedelta(hours=1) + grace <= now
                if not closed or len(partition.live) < 2:
                    continue
                batch_ids = [
                    int(match.group(1))
                    for key in partition.live
                    if (match := BATCH_FILE.match(key.rsplit("/", 1)[-1]))
                ]
                if any(batch_id > committed[source] for batch_id in batch_ids):
                    # A batch still to be replayed wrote here: leave it to the next run.
                    report.waiting.append(f"{partition.label}: a landing batch is uncommitted")
                    continue
                lease.renew()
                rows = _compact_partition(
                    lake, glue, database, partition, clock, keep_superseded, hook, lease
                )
                report.compacted.append((partition.label, len(partition.live), rows))
    finally:
        lease.release()
    return report


def _compact_partition(
    lake: S3Lake,
    glue: Any,
    database: str,
    partition: S3Partition,
    clock: Clock,
    keep_superseded: timedelta,
    hook: Hook,
    lease: Lease,
) -> int:
    started = clock()
    generation = f"gen-{started.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    values = partition.values
    folder = lake.key(
        f"{COMPACTED_DIR}/raw/{partition.source}/event_date={values[0]}/event_hour={values[1]}/"
        f"{generation}"
    )
    target = f"{folder}/{COMPACTED_FILE}"
    journal_key = _journal_key(lake, partition.source, values, generation)
    journal: dict[str, Any] = {
        "source": partition.source,
        "values": list(values),
        "generation": generation,
        "state": "pending",
        "location": lake.uri(folder),
        "files": [lake.uri(target)],
        "previous_location": lake.uri(partition.location),
        "superseded": [lake.uri(key) for key in partition.live],
        "started_at": started.isoformat(),
    }
    # Recorded before anything is written: whatever a stop leaves, the journal names it.
    lake.write_json(journal_key, journal)
    with tempfile.TemporaryDirectory(prefix="smartcity-compact-") as scratch:
        local = []
        for index, key in enumerate(partition.live):
            path = Path(scratch) / f"{index:05d}.parquet"
            lake.s3.download_file(lake.bucket, key, str(path))
            local.append(path)
        expected = sum(pq.read_metadata(path).num_rows for path in local)
        output = Path(scratch) / COMPACTED_FILE
        listed = ", ".join(f"'{path}'" for path in local)
        duckdb.execute(
            # hive_partitioning off: the partition values stay in the path, as in the
            # landed files, not in the file's columns.
            f"copy (select * from read_parquet([{listed}], hive_partitioning = false)) "
            f"to '{output}' (format parquet, compression zstd, row_group_size 1000000)"
        )
        lake.s3.upload_file(str(output), lake.bucket, target)
    rows = lake.parquet_rows(target)  # read back from S3: what readers will get
    if rows != expected:
        raise CompactionError(
            f"{partition.label}: the new generation has {rows} rows, the files it replaces "
            f"{expected}; Glue still points at them, and the next run removes the generation"
        )
    hook("written", partition.label)
    # This run may have stalled past LEASE_TIME since the last renewal, and another run
    # taken the lease over and removed this pending generation as a dead run's: renew
    # (which fails if the lease is another's now), then check that the generation and
    # its pending journal are still there. Only then can readers be sent to it; the
    # renewed lease keeps any other run out for LEASE_TIME, longer than one call.
    lease.renew()
    _require_pending(lake, journal_key, target, partition.label)
    _repoint(glue, database, partition.source, list(values), lake.uri(folder))
    hook("repointed", partition.label)
    _commit(lake, journal_key, journal, clock(), keep_superseded)
    return rows


def _require_pending(lake: S3Lake, journal_key: str, target: str, label: str) -> None:
    try:
        journal = lake.read_json(journal_key)
        lake.s3.head_object(Bucket=lake.bucket, Key=target)
    except ClientError as error:
        if _code(error) not in ("NoSuchKey", "404", "NotFound"):
            raise
        journal = None
    if journal is None or journal.get("state") != "pending":
        raise CompactionError(
            f"{label}: the new generation or its pending journal is gone (another run "
            "settled it); Glue not repointed, stopping: the next run settles what is left"
        )


def _repoint(glue: Any, database: str, table: str, values: list[str], location: str) -> None:
    """Point the partition at ``location`` in one call: every reader that resolves it
    afterwards reads there; the old files stay for those that resolved it before."""
    current = glue.get_partition(DatabaseName=database, TableName=table, PartitionValues=values)
    descriptor = dict(current["Partition"]["StorageDescriptor"])
    descriptor["Location"] = location
    partition_input: dict[str, Any] = {"Values": values, "StorageDescriptor": descriptor}
    if current["Partition"].get("Parameters"):
        partition_input["Parameters"] = current["Partition"]["Parameters"]
    glue.update_partition(
        DatabaseName=database,
        TableName=table,
        PartitionValueList=values,
        PartitionInput=partition_input,
    )


def _commit(lake: S3Lake, key: str, journal: dict[str, Any], at: datetime, keep: timedelta) -> None:
    """Mark the generation committed; its superseded files may go ``keep`` after ``at``,
    a time taken after the repoint, never before it."""
    journal |= {
        "state": "committed",
        "committed_at": at.isoformat(),
        "delete_after": (at + keep).isoformat(),
    }
    lake.write_json(key, journal)


def _settle(
    lake: S3Lake,
    glue: Any,
    database: str,
    clock: Clock,
    keep: timedelta,
    report: S3CompactionReport,
    hook: Hook,
    lease: Lease,
) -> None:
    """Finish or undo the generations earlier runs left pending, then delete the
    superseded files of committed generations past their grace."""
    for key, journal in journals(lake):
        if journal["state"] != "pending":
            continue
        lease.renew()  # before each change: never act on a lease another run took over
        location = _partition_location(glue, database, journal["source"], journal["values"])
        label = f"{journal['source']}/{journal['generation']}"
        if location is not None and lake.key_of(location).rstrip("/") == lake.key_of(
            journal["location"]
        ):
            # Stopped after the repoint: readers may already use it. The grace counts
            # from now, later than the repoint, never earlier.
            _commit(lake, key, journal, clock(), keep)
            report.committed.append(label)
        else:
            # Stopped before the repoint: no reader was ever sent here.
            for stray in lake.keys(lake.key_of(journal["location"])):
                lake.delete(stray)
            lake.delete(key)
            report.undone.append(label)
    for key, journal in journals(lake):  # again: some were committed or removed above
        if journal["state"] != "committed":
            continue
        if datetime.fromisoformat(journal["delete_after"]) > clock():
            continue
        lease.renew()
        label = f"{journal['source']}/{journal['generation']}"
        location = _partition_location(glue, database, journal["source"], journal["values"])
        if location is None:
            # The partition is gone from Glue (table dropped, or registered again
            # without it): the superseded files may be the only copy a new registration
            # would point at. Keep them and the journal; a later run decides.
            report.waiting.append(
                f"{label}: Glue has no partition {'/'.join(journal['values'])} any more; "
                f"its {len(journal['superseded'])} superseded files are kept"
            )
            continue
        current = lake.key_of(location).rstrip("/") + "/"
        kept = []
        for uri in journal["superseded"]:
            superseded = lake.key_of(uri)
            if superseded.startswith(current):
                kept.append(uri)  # Glue points there again: never delete what it reads
                continue
            lake.delete(superseded)
            report.deleted += 1
            hook("deleted", label)
        if kept:
            report.waiting.append(
                f"{label}: Glue points at superseded files again; {len(kept)} kept"
            )
            continue
        lake.delete(key)


class Lease:
    """One compaction of a lake at a time, across machines: an object created only if
    absent (S3 conditional write), renewed as the run goes, taken over once it has not
    been renewed for LEASE_TIME (its holder died)."""

    def __init__(self, lake: S3Lake) -> None:
        self.lake = lake
        self.key = lake.key(LEASE_KEY)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None

    def _body(self) -> bytes:
        expires = datetime.now(UTC) + LEASE_TIME
        return json.dumps({"owner": self.owner, "expires_at": expires.isoformat()}).encode()

    def take(self) -> None:
        s3, bucket = self.lake.s3, self.lake.bucket
        for _ in range(3):
            try:
                written = s3.put_object(
                    Bucket=bucket, Key=self.key, Body=self._body(), IfNoneMatch="*"
                )
                self.etag = written["ETag"]
                return
            except ClientError as error:
                if not _precondition_failed(error):
                    raise
            try:
                held = s3.get_object(Bucket=bucket, Key=self.key)
            except s3.exceptions.NoSuchKey:
                continue  # released meanwhile
            holder = json.loads(held["Body"].read())
            if datetime.fromisoformat(holder["expires_at"]) > datetime.now(UTC):
                raise CompactionError(
                    f"another compaction of this lake is running ({holder['owner']}, lease "
                    f"until {holder['expires_at']}); try again later"
                )
            try:  # its holder died: take it over, unless another run just did
                s3.delete_object(Bucket=bucket, Key=self.key, IfMatch=held["ETag"])
            except ClientError as error:
                if not _precondition_failed(error):
                    raise
        raise CompactionError("could not take the compaction lease; try again later")

    def renew(self) -> None:
        assert self.etag is not None
        try:
            written = self.lake.s3.put_object(
                Bucket=self.lake.bucket, Key=self.key, Body=self._body(), IfMatch=self.etag
            )
        except ClientError as error:
            if _precondition_failed(error) or _code(error) == "NoSuchKey":
                raise CompactionError(
                    "another run took the compaction lease over (this one was taken for "
                    "dead); stopping: what this run left is settled by the next"
                ) from None
            raise
        self.etag = written["ETag"]

    def release(self) -> None:
        """Give the lease up. Called from ``finally``: it never raises, so that it never
        hides the error the run stops on. A lease already gone, or another's now, is not
        this run's to release; any other failure leaves it to expire after LEASE_TIME."""
        if self.etag is None:
            return
        try:
            self.lake.s3.delete_object(Bucket=self.lake.bucket, Key=self.key, IfMatch=self.etag)
        except ClientError as error:
            if _precondition_failed(error) or _code(error) in ("NoSuchKey", "404", "NotFound"):
                return
            LOG.warning(
                "could not release the compaction lease s3://%s/%s (%s); it expires by "
                "itself within %s",
                self.lake.bucket,
                self.key,
                _code(error) or error,
                LEASE_TIME,
            )
        except Exception as error:  # a transport error: the same, never raised here
            LOG.warning(
                "could not release the compaction lease s3://%s/%s (%r); it expires by "
                "itself within %s",
                self.lake.bucket,
                self.key,
                error,
                LEASE_TIME,
            )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _precondition_failed(error: ClientError) -> bool:
    return _code(error) in ("PreconditionFailed", "ConditionalRequestConflict", "412")
