"""Kafka -> validated raw Parquet: one checkpointed streaming query per source.

Each micro-batch is parsed and checked against the source's contract once; valid records
are published to ``<lake>/raw/<source>`` (partitioned by ``event_date``/``event_hour``
of their event time, so late events land in the partition they belong to), the rest to
``<lake>/dead_letter/<source>`` with a reason. Publishing is idempotent per batch id
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
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from ingestion.contracts import Contract
from streaming.metrics import BatchMetrics, MetricsLog
from streaming.publish import LakePublisher
from streaming.schemas import LANDING_COLUMNS
from streaming.validation import ValidationLimits, Verdict

KAFKA_COLUMNS = tuple(name for name, _, _ in LANDING_COLUMNS if name.startswith("kafka_"))
DEAD_LETTER_COLUMNS = (
    "source",
    "reason_code",
    "reason_message",
    "raw_key",
    "raw_value",
    "raw_value_bytes",
    *KAFKA_COLUMNS,
    "dead_lettered_at",
    "dead_letter_date",
)


class LandingFailed(RuntimeError):
    """A streaming query stopped with an error."""


@dataclass(frozen=True)
class LandingOptions:
    lake_uri: str
    checkpoint_uri: str
    bootstrap_servers: str
    # "availableNow" drains what is in Kafka and stops; otherwise a processing-time
    # interval such as "10 seconds" for a continuous run.
    trigger: str = "availableNow"
    max_offsets_per_trigger: int = 500_000
    limits: ValidationLimits = field(default_factory=ValidationLimits)


def raw_table(source: str) -> str:
    return f"raw/{source}"


def dead_letter_table(source: str) -> str:
    return f"dead_letter/{source}"


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
    Kafka's timestamp, not the clock), so a batch replayed after a crash gets the same
    verdicts, and Spark compiles this large expression once rather than per batch.
    """
    framed = records.select(
        F.col("value"),
        F.col("key"),
        F.try_parse_json(F.col("value").cast("string")).alias("payload"),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").cast("timestamp_ntz").alias("kafka_published_at"),
    )
    return verdict.apply(framed)


def valid_rows(checked: DataFrame, landed_at: datetime) -> DataFrame:
    return (
        checked.where(F.col("reason_code").isNull())
        .select("fields.*", *KAFKA_COLUMNS)
        .withColumn("landed_at", F.lit(landed_at.isoformat(sep=" ")).cast("timestamp_ntz"))
        .withColumn("event_date", F.date_format("event_at", "yyyy-MM-dd"))
        .withColumn("event_hour", F.hour("event_at"))
    )


def dead_letters(checked: DataFrame, contract: Contract, landed_at: datetime) -> DataFrame:
    return (
        checked.where(F.col("reason_code").isNotNull())
        .withColumn("landed_at", F.lit(landed_at.isoformat(sep=" ")).cast("timestamp_ntz"))
        .withColumn("source", F.lit(contract.source))
        .withColumn("raw_key", F.col("key").cast("string"))
        .withColumn("raw_value", F.col("value").cast("string"))
        # The exact bytes too: the text form cannot hold a payload that is not UTF-8.
        .withColumn("raw_value_bytes", F.col("value"))
        .withColumn("dead_lettered_at", F.col("landed_at"))
        .withColumn("dead_letter_date", F.date_format("landed_at", "yyyy-MM-dd"))
        .select(*DEAD_LETTER_COLUMNS)
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
        self.verdict = Verdict(contract, options.limits)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        # One landing time per batch, in UTC, written as a plain (zone-less) timestamp.
        landed_at = datetime.now(UTC).replace(tzinfo=None)
        checked = check(batch, self.verdict).persist()
        try:
            verdicts = {
                row["valid"]: int(row["rows"])
                for row in checked.groupBy(F.col("reason_code").isNull().alias("valid"))
                .agg(F.count(F.lit(1)).alias("rows"))
                .collect()
            }
            validated = time.monotonic()
            # A table with no rows in this batch is still cleared of what an earlier
            # attempt of the batch may have published there.
            raw, dead = raw_table(self.contract.source), dead_letter_table(self.contract.source)
            if verdicts.get(True):
                self.publisher.publish(
                    valid_rows(checked, landed_at), raw, ("event_date", "event_hour"), batch_id
                )
            else:
                self.publisher.clear(raw, batch_id)
            if verdicts.get(False):
                self.publisher.publish(
                    dead_letters(checked, self.contract, landed_at),
                    dead,
                    ("dead_letter_date",),
                    batch_id,
                )
            else:
                self.publisher.clear(dead, batch_id)
        finally:
            checked.unpersist()
        self.metrics.record_batch(
            BatchMetrics(
                source=self.contract.source,
                batch_id=batch_id,
                input_rows=sum(verdicts.values()),
                landed_rows=verdicts.get(True, 0),
                dead_lettered_rows=verdicts.get(False, 0),
                duration_ms=int((time.monotonic() - started) * 1000),
                phases_ms={
                    # Reading the batch from Kafka happens here too: Spark reads lazily.
                    "read_and_validate": int((validated - started) * 1000),
                    "publish": int((time.monotonic() - validated) * 1000),
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
        if options.trigger == "availableNow":
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
            active = next(query for query in queries if query.isActive)
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
