"""The peer baseline: the landing job that this project's users know from the public
smart-city tutorial, written here from its description.

Five streaming queries, one per topic, each ``from_json`` with the source's schema into
unpartitioned Parquet with Spark's own file sink: no validation, no dead letters, no
partitions, no publishing for plain readers. It lands the same backlog as the project's
job in the same benchmark run, so the ratio of the two is printed every run. It runs in a
process of its own (``python -m bench.peer OUT``, settings from the environment), so its
JVM starts as cold as the landing job's.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pyspark.sql import functions as F
from pyspark.sql import types as T

from bench.own_process import run_module
from foundation.contracts import CONTRACTS, Contract, FieldType
from smartcity import pipeline
from smartcity.jars import SPARK_KAFKA, ensure_jars
from smartcity.settings import Settings
from streaming.schemas import spark_type
from streaming.session import build_session


@dataclass(frozen=True)
class PeerRun:
    rows: int
    seconds: float
    # The slowest query's summed micro-batch time (Spark's triggerExecution): the five
    # queries run side by side, as the project's do.
    busy_seconds: float


def tutorial_schema(contract: Contract) -> T.StructType:
    """The payload's schema as the tutorial declares it: timestamps parsed by from_json."""
    return T.StructType(
        [
            T.StructField(
                f.name, T.TimestampType() if f.type is FieldType.TIMESTAMP else spark_type(f.type)
            )
            for f in contract.fields
        ]
    )


def land_like_the_tutorial(
    settings: Settings, topic_for: Callable[[Contract], str], out: Path
) -> PeerRun:
    spark = build_session(
        ensure_jars(SPARK_KAFKA, settings.cache_dir), settings.spark_master, "peer-tutorial"
    )
    started = time.perf_counter()
    try:
        queries = []
        for contract in CONTRACTS:
            parsed = (
                spark.readStream.format("kafka")
                .option("kafka.bootstrap.servers", settings.bootstrap_servers)
                .option("subscribe", topic_for(contract))
                .option("startingOffsets", "earliest")
                .load()
                .selectExpr("CAST(value AS STRING) AS value")
                .select(F.from_json("value", tutorial_schema(contract)).alias("data"))
                .select("data.*")
            )
            queries.append(
                parsed.writeStream.format("parquet")
                .option("path", str(out / "data" / contract.source))
                .option("checkpointLocation", str(out / "checkpoints" / contract.source))
                .outputMode("append")
                .trigger(availableNow=True)
                .start()
            )
        for query in queries:
            query.awaitTermination()
        seconds = time.perf_counter() - started
        rows = 0
        busy = 0.0
        for query in queries:
            progress = query.recentProgress
            rows += sum(p.numInputRows for p in progress)
            busy = max(busy, sum(p.durationMs.get("triggerExecution", 0) for p in progress) / 1000)
        return PeerRun(rows=rows, seconds=seconds, busy_seconds=busy)
    finally:
        spark.stop()


def run_peer(settings: Settings, out: Path) -> PeerRun:
    """The peer in a process of its own, against the settings' broker and topics."""
    stdout = run_module(settings, ["bench.peer", str(out)], "the peer job")
    return PeerRun(**json.loads(stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.peer OUT_DIR", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    run = land_like_the_tutorial(settings, pipeline.topic_namer(settings), Path(argv[0]))
    print(json.dumps(asdict(run)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
