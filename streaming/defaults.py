"""The landing job's defaults, in a module without Spark so that the CLI can show them."""

from __future__ import annotations

# "availableNow" drains what is in Kafka and stops; otherwise a processing-time interval
# such as "10 seconds" for a continuous run.
AVAILABLE_NOW = "availableNow"
# Most Kafka records one micro-batch of one source takes: a bound on a batch after an
# outage. The valid rows are written as they are read (one open Parquet writer per event
# hour and task), so a batch's memory grows with its rows per task: 2M records of the
# largest source, in three partitions, hold some 35 MB of pages per task. At 500,000 a
# 2M backlog took 8 micro-batches against the peer's 5, each with Spark's planning and
# an Iceberg commit (docs/performance.md).
MAX_OFFSETS_PER_TRIGGER = 2_000_000
