"""Kafka -> validated raw Parquet: one checkpointed streaming query per source.

Each micro-batch is parsed and checked against the source's contract once; valid records
are published to ``<lake>/raw/<source>`` (partitioned by ``event_date``/``event_hour``
of their event time, so late events land in the partition they belong to), the rest,
with a reason, to the source's partition of the one dead-letter table,
``<lake>/dead_letters/source=<source>``. Publishing is idempotent per batch id
(:mod:`streaming.publish`), which with Spark's checkpoint makes landing exactly-once
across crashes and restarts, for every reader of the lake.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from pyspark.errors import StreamingQueryException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from ingestion.contracts import CONTRACTS_BY_SOURCE, Contract
from ingestion.schema import DEAD_LETTERS, LANDING_COLUMNS, LakeTable, dead_letter_folder
from ingestion.schema import raw_table as raw_lake_table
from streaming.defaults import AVAILABLE_NOW, MAX_OFFSETS_PER_TRIGGER
from streaming.landing_writer import ValidRowsWriter
from streaming.metrics import BatchMetrics, MetricsLog
from streaming.publish import LakePublisher
from streaming.validation import ValidationLimits, Verdict

KAFKA_COLUMNS = tuple(c.name for c in LANDING_COLUMNS if c.name.startswith("kafka_"))
# The dead letters of one source are published under its `source=` folder, so the
# source is in the path and not in the files.
SOURCE_PARTITION = DEAD_LETTERS.partition_keys[0].name


class LandingFailed(RuntimeError):
    """A streaming query stopped with an error."""


@dataclass(frozen=True)
class LandingOptions:
    lake_uri: str
    checkpoint_uri: str
    bootstrap_servers: str
    trigger: str = AVAILABLE_NOW
    max_offsets_per_trigger: int = MAX_OFFSETS_PER_TRIGGER
    limits: ValidationLimits = field(default_factory=ValidationLimits)


def raw_table(source: str) -> str:
    return raw_lake_table(CONTRACTS_BY_SOURCE[source]).folder


def _partition_names(table: LakeTable) -> tuple[str, ...]:
    return tuple(c.name for c in table.partition_keys)


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


def valid_rows(checked: DataFrame, contract: Contract, landed_at: datetime) -> DataFrame:
    """The valid records as the raw table's columns, in its order.

    The job writes them with :class:`streaming.landing_writer.ValidRowsWriter` in one
    pass; this is the same selection as a DataFrame (the tests hold the two equal, and
    ``bench.profile_landing`` times its steps)."""
    return (
        checked.where(F.col("reason_code").isNull())
        .select("fields.*", *KAFKA_COLUMNS)
        .withColumn("landed_at", _timestamp(landed_at))
        .withColumn("event_date", F.to_date("event_at"))
        .withColumn("event_hour", F.hour("event_at"))
        .select(*raw_lake_table(contract).column_names())
    )


def dead_letters(checked: DataFrame, landed_at: datetime) -> DataFrame:
    """The refused records as the dead-letter table's columns, less the source, which
    their folder names."""
    return (
        checked.where(F.col("reason_code").isNotNull())
        .withColumn("reason_message", readable(F.col("reason_message")))
        .withColumn("raw_key", as_text(F.col("key")))
        .withColumn("raw_key_bytes", F.col("key"))
        .withColumn("raw_value", as_text(F.col("value")))
        .withColumn("raw_value_bytes", F.col("value"))
        .withColumn("dead_lettered_at", _timestamp(landed_at))
        .withColumn("dead_letter_date", F.to_date("dead_lettered_at"))
        .select(*[name for name in DEAD_LETTERS.column_names() if name != SOURCE_PARTITION])
    )


class BatchLander:
    """The foreachBatch function of one source's query."""

    def __init__(
        self,
        contract: Contract,
        publisher: LakePublisher,
        options: LandingOptions,
        metrics: MetricsLog,
    ) -> None:
        self.contract = contract
        self.publisher = publisher
        self.options = options
        self.metrics = metrics
        self.verdict = Verdict(publisher.spark, contract, options.limits)
        self.write_valid = ValidRowsWriter(publisher.spark, contract, self.verdict)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        # One landing time per batch, in UTC, written as a plain (zone-less) timestamp.
        landed_at = datetime.now(UTC).replace(tzinfo=None)
        raw, dead = raw_table(self.contract.source), dead_letter_folder(self.contract.source)
        # Judged, counted and written per event hour in one pass (streaming.landing_writer).
        # The counts are read before the dead letters' pass, which judges them again.
        self.verdict.reset_counts()
        # Published even when no row is valid: publishing nothing also clears what an
        # earlier attempt of this batch may have published.
        self.publisher.publish_written(
            lambda staging: self.write_valid(batch, staging, landed_at), raw, batch_id
        )
        input_rows, refused = self.verdict.counts()
        landed = time.monotonic()
        if refused:
            # Rare, so read again rather than cache every batch: Kafka gives the same
            # records for the batch's offsets, and the verdicts do not depend on time.
            self.publisher.publish(
                dead_letters(check(batch, self.verdict), landed_at),
                dead,
                _partition_names(DEAD_LETTERS)[1:],
                batch_id,
            )
        else:
            self.publisher.clear(dead, batch_id)
        dead_lettered = time.monotonic()
        for table in (raw, dead):
            self.publisher.prune(table, batch_id)
        finished = time.monotonic()
        self.metrics.record_batch(
            BatchMetrics(
                source=self.contract.source,
                batch_id=batch_id,
                input_rows=input_rows,
                landed_rows=input_rows - refused,
                dead_lettered_rows=refused,
                duration_ms=int((finished - started) * 1000),
                phases_ms={
                    # Spark reads lazily: reading from Kafka and the verdicts are in here.
                    "land_valid": int((landed - started) * 1000),
                    "dead_letters": int((dead_lettered - landed) * 1000),
                    "bookkeeping": int((finished - dead_lettered) * 1000),
                },
            )
        )


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
    publisher = LakePublisher(spark, options.lake_uri)
    checkpoints = options.checkpoint_uri.rstrip("/")
    queries = []
    for contract in contracts:
        checkpoint = f"{checkpoints}/{contract.source}"
        if not publisher.exists(f"{checkpoint}/offsets") and publisher.has_manifests(
            raw_table(contract.source)
        ):
            # Batch ids restart at 0 with a new checkpoint; reusing them would replace
            # files that earlier batches landed.
            raise LandingFailed(
                f"The lake already holds batches of {contract.source}, but the checkpoint "
                f"{checkpoint} is new: point SMARTCITY_CHECKPOINT_URI at the checkpoint "
                "that landed them, or land into a new lake."
            )
        writer = (
            read_topic(spark, options, topic_for(contract))
            .writeStream.queryName(query_name(contract))
            .foreachBatch(BatchLander(contract, publisher, options, metrics))
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
