"""Kafka -> validated raw Parquet, one pair of streaming queries per source.

For every source one query lands the valid records in ``<lake>/raw/<source>``,
partitioned by ``event_date`` and ``event_hour``, and a second one writes the rest to
``<lake>/dead_letter/<source>`` with a reason. Both use Spark's file sink with their
own checkpoint, so each micro-batch is committed exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.errors import StreamingQueryException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from ingestion.contracts import Contract, FieldType
from streaming.schemas import wire_schema
from streaming.validation import parse_timestamp, reason

KAFKA_COLUMNS = ("kafka_topic", "kafka_partition", "kafka_offset", "kafka_published_at")
LANDING_COLUMNS = ("landed_at", "event_date", "event_hour")
DEAD_LETTER_COLUMNS = (
    "source",
    "reason_code",
    "reason_message",
    "raw_key",
    "raw_value",
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


def raw_path(lake_uri: str, source: str) -> str:
    return f"{lake_uri.rstrip('/')}/raw/{source}"


def dead_letter_path(lake_uri: str, source: str) -> str:
    return f"{lake_uri.rstrip('/')}/dead_letter/{source}"


def read_topic(spark: SparkSession, options: LandingOptions, topic: str) -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", options.bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", options.max_offsets_per_trigger)
        .load()
    )


def parse(records: DataFrame, contract: Contract) -> DataFrame:
    """Parse and check every record; keep Kafka's coordinates beside the payload."""
    raw = F.col("value").cast("string")
    parsed = F.from_json(raw, wire_schema(contract), {"mode": "PERMISSIVE"})
    with_payload = records.select(
        raw.alias("raw_value"),
        F.col("key").cast("string").alias("raw_key"),
        parsed.alias("payload"),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").cast("timestamp_ntz").alias("kafka_published_at"),
    )
    code, message = reason(contract, F.col("raw_value"), F.col("payload"))
    return with_payload.withColumn("reason_code", code).withColumn("reason_message", message)


def _typed(contract: Contract) -> list[Column]:
    return [
        (
            parse_timestamp(F.col("payload")[f.name])
            if f.type is FieldType.TIMESTAMP
            else F.col("payload")[f.name]
        ).alias(f.name)
        for f in contract.fields
    ]


def valid_rows(checked: DataFrame, contract: Contract) -> DataFrame:
    landed_at = F.current_timestamp().cast("timestamp_ntz")
    return (
        checked.where(F.col("reason_code").isNull())
        .select(*_typed(contract), *KAFKA_COLUMNS)
        .withColumn("landed_at", landed_at)
        .withColumn("event_date", F.date_format("event_at", "yyyy-MM-dd"))
        .withColumn("event_hour", F.hour("event_at"))
    )


def dead_letters(checked: DataFrame, contract: Contract) -> DataFrame:
    now = F.current_timestamp().cast("timestamp_ntz")
    return (
        checked.where(F.col("reason_code").isNotNull())
        .withColumn("source", F.lit(contract.source))
        .withColumn("dead_lettered_at", now)
        .withColumn("dead_letter_date", F.date_format(now, "yyyy-MM-dd"))
        .select(*DEAD_LETTER_COLUMNS)
    )


def _start(
    frame: DataFrame,
    name: str,
    path: str,
    checkpoint: str,
    partitions: Sequence[str],
    options: LandingOptions,
) -> StreamingQuery:
    writer = (
        frame.writeStream.queryName(name)
        .format("parquet")
        .option("path", path)
        .option("checkpointLocation", checkpoint)
        .partitionBy(*partitions)
        .outputMode("append")
    )
    if options.trigger == "availableNow":
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=options.trigger)
    return writer.start()


def start_landing(
    spark: SparkSession,
    options: LandingOptions,
    contracts: Sequence[Contract],
    topic_for: Callable[[Contract], str],
) -> list[StreamingQuery]:
    queries = []
    checkpoints = options.checkpoint_uri.rstrip("/")
    for contract in contracts:
        checked = parse(read_topic(spark, options, topic_for(contract)), contract)
        queries.append(
            _start(
                valid_rows(checked, contract),
                f"raw_{contract.source}",
                raw_path(options.lake_uri, contract.source),
                f"{checkpoints}/raw/{contract.source}",
                ("event_date", "event_hour"),
                options,
            )
        )
        queries.append(
            _start(
                dead_letters(checked, contract),
                f"dead_letter_{contract.source}",
                dead_letter_path(options.lake_uri, contract.source),
                f"{checkpoints}/dead_letter/{contract.source}",
                ("dead_letter_date",),
                options,
            )
        )
    return queries


def await_queries(
    queries: Sequence[StreamingQuery],
    on_progress: Callable[[dict[str, int]], None] | None = None,
    report_every_s: float = 5.0,
) -> dict[str, int]:
    """Wait for every query to stop; return the rows each read from Kafka.

    A failed query raises here with its reason, so a partial landing is never
    reported as a success.
    """
    rows: dict[str, int] = {}
    last_report = time.monotonic()
    try:
        while True:
            # Checked before progress is read, so the last batch is always counted.
            finished = all(not query.isActive for query in queries)
            for query in queries:
                for batch in query.recentProgress:
                    rows[f"{query.name}#{batch['batchId']}"] = int(batch["numInputRows"])
            if finished:
                break
            active = next(query for query in queries if query.isActive)
            active.awaitTermination(1.0)  # returns early when that query stops
            if on_progress and time.monotonic() - last_report >= report_every_s:
                on_progress(_per_query(rows))
                last_report = time.monotonic()
    except StreamingQueryException as error:
        raise LandingFailed(f"A landing query failed: {error}") from error
    for query in queries:
        error = query.exception()
        if error is not None:
            raise LandingFailed(f"Landing query {query.name} failed: {error}")
    return _per_query(rows)


def _per_query(rows: dict[str, int]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key, count in rows.items():
        name = key.split("#", 1)[0]
        totals[name] = totals.get(name, 0) + count
    return totals
