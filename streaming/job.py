"""Kafka -> validated raw events in the lake's Iceberg tables: one checkpointed streaming
query per source.

Each micro-batch is parsed and checked against the source's contract once. Valid records
go to the source's raw table (``<lake>/raw/<source>``, partitioned by the hour of their
event time, so late events land in the hour they belong to); the rest, with a reason, go
to the one dead-letter table (``<lake>/dead_letters``), in their source's partition. Each
table's batch is one Iceberg commit that records the batch id (:mod:`streaming.iceberg_batches`),
so a batch that Spark replays after a crash is recognised and not landed twice: with
Spark's checkpoint, landing is exactly-once for every reader of the tables.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from pyspark.errors import StreamingQueryException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from foundation.contracts import Contract
from foundation.lake_tables import (
    DEAD_LETTERS,
    LANDING_COLUMNS,
    Derivation,
    LakeTable,
    dead_letter_folder,
)
from foundation.lake_tables import raw_table as raw_lake_table
from streaming.defaults import AVAILABLE_NOW, MAX_OFFSETS_PER_TRIGGER
from streaming.iceberg_batches import commit_batch, holds_batch, landed_batch
from streaming.iceberg_catalogs import lake_catalog, table_uri
from streaming.iceberg_tables import SchemaChangeRefused, ensure_tables
from streaming.lake_files import LakeFiles
from streaming.landing_writer import ValidRowsWriter
from streaming.metrics import BatchMetrics, MetricsLog
from streaming.validation import ValidationLimits, Verdict

KAFKA_COLUMNS = tuple(c.name for c in LANDING_COLUMNS if c.name.startswith("kafka_"))
# Dead letters are written by Spark's DataFrame writer here first, then moved into their
# table's folder without the writer's side files (`_SUCCESS`, `.crc`).
STAGING_DIR = "_landing/staging"


class LandingFailed(RuntimeError):
    """A streaming query stopped with an error."""


@dataclass(frozen=True)
class LandingOptions:
    lake_uri: str
    checkpoint_uri: str
    bootstrap_servers: str
    # The catalog namespace (Glue database) of the lake's tables.
    namespace: str = "smartcity_raw"
    trigger: str = AVAILABLE_NOW
    max_offsets_per_trigger: int = MAX_OFFSETS_PER_TRIGGER
    limits: ValidationLimits = field(default_factory=ValidationLimits)


def as_text(raw: Column) -> Column:
    """Bytes as text where they are valid UTF-8 without NUL characters, else null.

    Such text is what every engine can hold and select (DuckDB refuses invalid UTF-8 in a
    string column; PostgreSQL and Redshift text cannot hold NUL); the exact bytes are
    always kept beside it.
    """
    text = raw.cast("string")
    return F.when(F.is_valid_utf8(text) & ~F.contains(text, F.lit("\u0000")), text)


def readable(message: Column) -> Column:
    """A message that may quote the payload, made valid text for every engine."""
    return F.replace(F.make_valid_utf8(message), F.lit("\u0000"), F.lit("\ufffd"))


def read_topic(spark: SparkSession, options: LandingOptions, topic: str) -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", options.bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", options.max_offsets_per_trigger)
        .load()
    )


def check(records: DataFrame, verdict: Verdict) -> DataFrame:
    """Every Kafka record with its typed fields and its verdict.

    Nothing here depends on when the batch runs (event times are judged against
    Kafka's timestamp, not the clock), so a batch replayed after a crash, or read twice
    within one, gets the same verdicts.
    """
    judged = verdict.column(F.col("value"), F.col("key"), F.col("timestamp"))
    return (
        records.select(
            F.col("value"),
            F.col("key"),
            F.col("topic").alias("kafka_topic"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.col("timestamp").cast("timestamp_ntz").alias("kafka_published_at"),
            judged.alias("verdict"),
        )
        .select("*", "verdict.*")
        .drop("verdict")
    )


def _timestamp(moment: datetime) -> Column:
    return F.lit(moment.isoformat(sep=" ")).cast("timestamp_ntz")


# How Spark computes each kind of partition key from its column.
DERIVED: dict[Derivation, Callable[[str], Column]] = {
    Derivation.DATE: F.to_date,
    Derivation.HOUR: F.hour,
    Derivation.VALUE: F.col,
}


def partition_columns(table: LakeTable) -> dict[str, Column]:
    """The table's partition keys as Spark columns, by the lake's partition rule."""
    return {key.column.name: DERIVED[key.derivation](key.of) for key in table.partition_rule}


def valid_rows(checked: DataFrame, contract: Contract, landed_at: datetime) -> DataFrame:
    """The valid records as the raw table's columns, in its order.

    The job writes them with :class:`streaming.landing_writer.ValidRowsWriter` in one
    pass; this is the same selection as a DataFrame (the tests hold the two equal, and
    ``bench.profile_landing`` times its steps)."""
    return (
        checked.where(F.col("reason_code").isNull())
        .select("fields.*", *KAFKA_COLUMNS)
        .withColumn("landed_at", _timestamp(landed_at))
        .withColumns(partition_columns(raw_lake_table(contract)))
        .select(*raw_lake_table(contract).column_names())
    )


def dead_letters(checked: DataFrame, source: str, landed_at: datetime) -> DataFrame:
    """The refused records as the dead-letter table's columns."""
    return (
        checked.where(F.col("reason_code").isNotNull())
        .withColumn("reason_message", readable(F.col("reason_message")))
        .withColumn("raw_key", as_text(F.col("key")))
        .withColumn("raw_key_bytes", F.col("key"))
        .withColumn("raw_value", as_text(F.col("value")))
        .withColumn("raw_value_bytes", F.col("value"))
        .withColumn("dead_lettered_at", _timestamp(landed_at))
        .withColumn("source", F.lit(source))
        .withColumns(partition_columns(DEAD_LETTERS))
        .select(*DEAD_LETTERS.column_names())
    )


def count_verdicts(checked: DataFrame) -> tuple[int, int]:
    """Records judged and refused, by a pass of their own."""
    counts = dict(
        checked.groupBy(F.col("reason_code").isNotNull().alias("refused")).count().collect()
    )
    return sum(counts.values()), counts.get(True, 0)


def remove_strays(
    files: LakeFiles,
    folder: str,
    batch_id: int,
    kept: Sequence[str],
    folders: Iterable[str] | None,
) -> int:
    """Delete the files of batch ``batch_id`` under ``folder`` that are not in ``kept``
    (paths relative to ``folder``): in its subfolders ``folders``, or anywhere below it
    when None. They are a failed task attempt's, or those of a run of the batch that was
    killed before its commit; return how many went."""
    prefix = f"part-b{batch_id:012d}-"
    kept_set = set(kept)
    if folders is None:
        candidates = files.files_below(folder)
    else:
        candidates = [
            f"{sub}/{name}" for sub in sorted(folders) for name in files.names(f"{folder}/{sub}")
        ]
    strays = [
        path
        for path in candidates
        if path.rsplit("/", 1)[-1].startswith(prefix) and path not in kept_set
    ]
    for path in strays:
        files.delete(f"{folder}/{path}")
    return len(strays)


class LakeTables:
    """The lake's Iceberg tables as the landing job writes them."""

    def __init__(self, catalog: Catalog, namespace: str, lake_uri: str) -> None:
        self.catalog = catalog
        self.namespace = namespace
        self.lake_uri = lake_uri.rstrip("/")

    @classmethod
    def open(cls, options: LandingOptions) -> LakeTables:
        """The lake's tables, created where missing; raises :class:`LandingFailed`, before
        anything is consumed, when the catalog cannot be reached."""
        try:
            catalog = lake_catalog(options.lake_uri)
            ensure_tables(catalog, options.namespace, table_uri(options.lake_uri))
        except SchemaChangeRefused as error:
            raise LandingFailed(f"{error} Nothing was consumed.") from error
        except Exception as error:
            raise LandingFailed(
                f"The lake's Iceberg catalog for {options.lake_uri} could not be opened, so "
                f"nothing was consumed: {type(error).__name__}: {error}. Locally it is the "
                "file iceberg_catalog.db at the lake's root; for a lake on S3 it is Glue, "
                "in AWS_REGION, with the standard AWS credentials."
            ) from error
        return cls(catalog, options.namespace, options.lake_uri)

    def load(self, name: str) -> Table:
        return self.catalog.load_table((self.namespace, name))

    def loader(self, name: str) -> Callable[[], Table]:
        return lambda: self.load(name)

    def folder(self, relative: str) -> str:
        """A folder of the lake as Spark writes to it."""
        return f"{self.lake_uri}/{relative}"


class BatchLander:
    """The foreachBatch function of one source's query.

    Per table, a batch is written, its stray files removed, and then committed; a batch
    that the table already holds (Spark replays the batch in flight after a crash) is
    neither written nor committed again, only counted for its metrics line.
    """

    def __init__(
        self,
        spark: SparkSession,
        contract: Contract,
        tables: LakeTables,
        files: LakeFiles,
        options: LandingOptions,
        metrics: MetricsLog,
    ) -> None:
        self.contract = contract
        self.source = contract.source
        self.tables = tables
        self.files = files
        self.options = options
        self.metrics = metrics
        self.checkpoint = f"{options.checkpoint_uri.rstrip('/')}/{contract.source}"
        self.verdict = Verdict(spark, contract, options.limits)
        self.write_valid = ValidRowsWriter(spark, contract, self.verdict)
        self._query_id: str | None = None
        self._first_batch = True
        self._commit_seconds = 0.0

    def query_id(self) -> str:
        """The streaming query's id, which Spark keeps in its checkpoint: the same for
        every run of the query, another for a new checkpoint."""
        if self._query_id is None:
            self._query_id = str(self.files.read_json(f"{self.checkpoint}/metadata")["id"])
        return self._query_id

    def _holds(self, table: str, batch_id: int) -> bool:
        """Whether ``table`` holds this source's batch ``batch_id`` already."""
        return holds_batch(self.tables.load(table), self.source, self.query_id(), batch_id)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        # One landing time per batch, in UTC, written as a plain (zone-less) timestamp.
        landed_at = datetime.now(UTC).replace(tzinfo=None)
        possible_replay, self._first_batch = self._first_batch, False
        self._commit_seconds = 0.0
        if self._holds(self.source, batch_id):  # the raw table's name is the source's
            input_rows, refused = count_verdicts(check(batch, self.verdict))
        else:
            # Judged, counted and written per event hour in one pass
            # (streaming.landing_writer).
            self.verdict.reset_counts()
            self._land_valid(batch, batch_id, landed_at)
            input_rows, refused = self.verdict.counts()
        valid_done = time.monotonic()
        if refused and not self._holds(DEAD_LETTERS.name, batch_id):
            # Rare, so read again rather than cache every batch: Kafka gives the same
            # records for the batch's offsets, and the verdicts do not depend on time.
            self._land_dead_letters(batch, batch_id, landed_at, possible_replay)
        finished = time.monotonic()
        self.metrics.record_batch(
            BatchMetrics(
                source=self.source,
                batch_id=batch_id,
                input_rows=input_rows,
                landed_rows=input_rows - refused,
                dead_lettered_rows=refused,
                duration_ms=int((finished - started) * 1000),
                phases_ms={
                    # Spark reads lazily: reading from Kafka and the verdicts are in here,
                    # and so are the Iceberg commits.
                    "land_valid": int((valid_done - started) * 1000),
                    "dead_letters": int((finished - valid_done) * 1000),
                    # Part of the two above: Iceberg's commits of the batch's files.
                    "iceberg_commit": int(self._commit_seconds * 1000),
                },
            )
        )

    def _commit(self, table: str, batch_id: int, folder: str, files: Sequence[str]) -> None:
        base = table_uri(folder)
        started = time.monotonic()
        commit_batch(
            self.tables.loader(table),
            self.source,
            self.query_id(),
            batch_id,
            [f"{base}/{file}" for file in files],
        )
        self._commit_seconds += time.monotonic() - started

    def _land_valid(self, batch: DataFrame, batch_id: int, landed_at: datetime) -> None:
        folder = self.tables.folder(raw_lake_table(self.contract).folder)
        written = self.write_valid(batch, folder, landed_at, batch_id)
        # A replay reads the same offsets, so writes into the same hours as the attempt
        # it replays: that attempt's files, and a failed task's, are in those folders.
        remove_strays(self.files, folder, batch_id, written, {f.rsplit("/", 1)[0] for f in written})
        self._commit(self.source, batch_id, folder, written)

    def _land_dead_letters(
        self, batch: DataFrame, batch_id: int, landed_at: datetime, possible_replay: bool
    ) -> None:
        staging = self.tables.folder(
            f"{STAGING_DIR}/{DEAD_LETTERS.folder}/{self.source}/batch-{batch_id}"
        )
        self.files.delete_tree(staging)
        dead_letters(check(batch, self.verdict), self.source, landed_at).write.mode(
            "overwrite"
        ).parquet(staging)
        staged = [f for f in self.files.files_below(staging) if f.endswith(".parquet")]
        source_folder = self.tables.folder(dead_letter_folder(self.source))
        day = f"{DEAD_LETTERS.partition_keys[1].name}={landed_at.date().isoformat()}"
        run = f"{int(time.time() * 1000):x}"
        targets = [
            f"{day}/part-b{batch_id:012d}-{run}-{index:05d}.parquet" for index in range(len(staged))
        ]
        if possible_replay:
            # An earlier run of this batch may have moved files in, on another day.
            remove_strays(self.files, source_folder, batch_id, kept=[], folders=None)
        for relative, target in zip(staged, targets, strict=True):
            self.files.move(f"{staging}/{relative}", f"{source_folder}/{target}")
        self.files.delete_tree(staging)
        self._commit(DEAD_LETTERS.name, batch_id, source_folder, targets)


def query_name(contract: Contract) -> str:
    return f"land_{contract.source}"


def start_landing(
    spark: SparkSession,
    options: LandingOptions,
    contracts: Sequence[Contract],
    topic_for: Callable[[Contract], str],
    metrics: MetricsLog,
) -> list[StreamingQuery]:
    # Local checkpoints without a `readlink` process per file that Spark renames; set
    # before the queries start, as each copies the configuration.
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    jvm.smartcity.landing.ForklessLocalFileSystem.forCheckpoints(
        spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    )
    tables = LakeTables.open(options)
    files = LakeFiles(spark, options.lake_uri)
    checkpoints = options.checkpoint_uri.rstrip("/")
    queries = []
    for contract in contracts:
        checkpoint = f"{checkpoints}/{contract.source}"
        if not files.exists(f"{checkpoint}/offsets") and landed_batch(
            tables.load(contract.source), contract.source
        ):
            # Batch ids restart at 0 with a new checkpoint, and Kafka's records would
            # land a second time.
            raise LandingFailed(
                f"The lake already holds batches of {contract.source}, but the checkpoint "
                f"{checkpoint} is new: point SMARTCITY_CHECKPOINT_URI at the checkpoint "
                "that landed them, or land into a new lake."
            )
        writer = (
            read_topic(spark, options, topic_for(contract))
            .writeStream.queryName(query_name(contract))
            .foreachBatch(BatchLander(spark, contract, tables, files, options, metrics))
            .option("checkpointLocation", checkpoint)
        )
        if options.trigger == AVAILABLE_NOW:
            writer = writer.trigger(availableNow=True)
        else:
            writer = writer.trigger(processingTime=options.trigger)
        queries.append(writer.start())
    return queries


class ShutdownRequest:
    """Turns SIGTERM and Ctrl-C into a request to stop after the current micro-batch."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested.set()

    def __enter__(self) -> ShutdownRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]


def _between_batches(query: StreamingQuery) -> bool:
    return not query.isActive or not query.status.get("isTriggerActive", False)


def await_queries(
    queries: Sequence[StreamingQuery],
    shutdown: ShutdownRequest | None = None,
    on_progress: Callable[[], None] | None = None,
    report_every_s: float = 5.0,
    shutdown_timeout_s: float = 300.0,
) -> None:
    """Wait until every query stops, or until a shutdown is requested.

    On a shutdown request each query is stopped between two micro-batches, so the batch
    in flight finishes and is committed. A failed query raises :class:`LandingFailed`.
    """
    last_report = time.monotonic()
    try:
        while any(query.isActive for query in queries):
            if shutdown is not None and shutdown.requested.is_set():
                deadline = time.monotonic() + shutdown_timeout_s
                for query in queries:
                    while not _between_batches(query) and time.monotonic() < deadline:
                        query.awaitTermination(0.2)
                    query.stop()
                break
            failed = [q for q in queries if not q.isActive and q.exception() is not None]
            if failed:
                break  # one source failing stops the run; reported below
            # The last query can stop between the loop's check and this line.
            active = next((query for query in queries if query.isActive), None)
            if active is None:
                break
            active.awaitTermination(1.0)  # returns early when that query stops
            if on_progress and time.monotonic() - last_report >= report_every_s:
                on_progress()
                last_report = time.monotonic()
    except StreamingQueryException as error:
        raise LandingFailed(f"A landing query failed: {error}") from error
    for query in queries:
        error = query.exception()
        if error is not None:
            for other in queries:
                other.stop()
            raise LandingFailed(f"Landing query {query.name} failed: {error}")
