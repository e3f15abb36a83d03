"""Where the landing job's time goes for one source, step by step, on one machine.

`python -m bench.profile_landing [--events N]` produces N GPS fixes to a broker of its
own, then times Spark batch jobs over the same topic that stop at successive steps of
the landing job: read the records from Kafka; parse them with `from_json` and the
contract's schema, as a job without validation does; the landing job's verdict (every
rule of the contract checked, every field typed); then writes: `from_json` into plain
Parquet, the verdict's valid rows through a partitioned DataFrame write (the reference
form, `streaming.job.valid_rows`), and the one-pass writer the job runs
(`streaming.landing_writer`). The differences say what each step costs; nothing else
runs meanwhile. Publishing is timed by the landing job itself (`phases_ms` in its
metrics), so it is not repeated here.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from pyspark.sql import functions as F

from foundation.contracts import GPS_FIXES
from foundation.lake_tables import RAW_PARTITION_KEYS
from ingestion.producer import produce
from ingestion.simulators.world import SimulationOptions, simulate
from ingestion.topics import ensure_topics
from smartcity.jars import SPARK_KAFKA, ensure_jars
from smartcity.local_stack.kafka_broker import LocalKafkaBroker, free_port
from smartcity.settings import Settings
from streaming.job import check, valid_rows
from streaming.jvm_build import landing_jar
from streaming.landing_writer import ValidRowsWriter
from streaming.schemas import wire_schema
from streaming.session import build_session
from streaming.validation import ValidationLimits, Verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="GPS fixes to produce")
    args = parser.parse_args()
    settings = Settings.from_env()
    state = Path(tempfile.mkdtemp(prefix="smartcity-profile-"))
    broker = LocalKafkaBroker(
        state / "kafka", settings.cache_dir, port=free_port(), controller_port=free_port()
    )
    broker.start()
    try:
        fixes = (
            (c, e)
            for c, e in simulate(SimulationOptions(events=args.events * 3, vehicles=300))
            if c is GPS_FIXES
        )
        ensure_topics(broker.bootstrap_servers, ["profile.gps_fixes"])
        report = produce(fixes, broker.bootstrap_servers, lambda _: "profile.gps_fixes")
        print(f"produced {report.total_acknowledged:,} GPS fixes")
        jars = [*ensure_jars(SPARK_KAFKA, settings.cache_dir), landing_jar(settings.cache_dir)]
        spark = build_session(jars, "local[2]")
        records = (
            spark.read.format("kafka")
            .option("kafka.bootstrap.servers", broker.bootstrap_servers)
            .option("subscribe", "profile.gps_fixes")
            .option("startingOffsets", "earliest")
            .load()
        )
        verdict = Verdict(spark, GPS_FIXES, ValidationLimits())
        checked = check(records, verdict)
        write_valid = ValidRowsWriter(spark, GPS_FIXES, verdict)  # what the job runs
        parsed = records.select(
            F.from_json(F.col("value").cast("string"), wire_schema(GPS_FIXES)).alias("p")
        )
        steps = {
            "read from Kafka": lambda: records.count(),
            "+ from_json, no checks": lambda: parsed.where(F.col("p").isNotNull()).count(),
            "+ the verdict, every rule": lambda: (
                checked.groupBy(F.col("reason_code").isNull()).count().collect()
            ),
            "from_json + plain write": lambda: (
                parsed.select("p.*").write.mode("overwrite").parquet(str(state / "plain"))
            ),
            "verdict + DataFrame write": lambda: (
                valid_rows(checked, GPS_FIXES, datetime(2026, 1, 1))
                .write.mode("overwrite")
                .partitionBy(*(c.name for c in RAW_PARTITION_KEYS))
                .parquet(str(state / "landed"))
            ),
            "verdict + one-pass writer": lambda: write_valid(
                records, str(state / "one-pass"), datetime(2026, 1, 1), 0
            ),
        }
        steps["read from Kafka"]()  # warm-up: JVM, connector, code generation
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            seconds = time.perf_counter() - started
            print(
                f"{name:<26} {seconds:7.2f} s  {report.total_acknowledged / seconds:>10,.0f} rows/s"
            )
        spark.stop()
    finally:
        broker.stop()
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
