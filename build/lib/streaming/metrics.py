"""Structured lines per micro-batch: rows in, landed, dead-lettered, time, Kafka lag.

The batch function writes a ``landing_batch`` line with its counts before Spark commits
the batch, so no committed batch goes unreported, whenever the job is killed; a batch
replayed after a crash writes its line again, under the same batch id. Spark's progress
report of the batch (the Kafka lag, the trigger's phases) follows as a
``landing_progress`` line. Both go to the log and, when a path is given, to a JSON-lines
file; :func:`read_batches` puts them together, one record per batch.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql.streaming import StreamingQueryListener

LOG = logging.getLogger("smartcity.landing")


@dataclass
class BatchMetrics:
    source: str
    batch_id: int
    input_rows: int
    landed_rows: int
    dead_lettered_rows: int
    duration_ms: int
    kafka_lag: int | None = None
    trigger_duration_ms: int | None = None
    # Where the time went: the landing job's own steps, and Spark's durationMs of the
    # trigger (prefixed spark_), such as latestOffset, queryPlanning and walCommit.
    phases_ms: dict[str, int] = field(default_factory=dict)


def _offsets(text: object) -> dict[str, dict[str, int]] | None:
    """A source's offsets as Spark reports them, or None when it has none to report.

    After a restart, the replayed batch's report has no latest offset, and PySpark hands
    that over as the text "None" rather than as None.
    """
    if not isinstance(text, str) or not text or text == "None":
        return None
    try:
        offsets = json.loads(text)
    except ValueError:
        return None
    return offsets if isinstance(offsets, dict) else None


def kafka_lag(progress: Any) -> int | None:
    """Records in Kafka beyond the batch's end offsets, summed over partitions; None
    when Spark does not say."""
    total = 0
    for source in progress.sources:
        latest, end = _offsets(source.latestOffset), _offsets(source.endOffset)
        if latest is None or end is None:
            return None
        for topic, partitions in latest.items():
            for partition, offset in partitions.items():
                total += max(int(offset) - int(end.get(topic, {}).get(partition, 0)), 0)
    return total


class MetricsLog:
    def __init__(self, jsonl_path: Path | None = None) -> None:
        self.jsonl_path = jsonl_path
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int], BatchMetrics] = {}
        self.batches: list[BatchMetrics] = []
        if jsonl_path is not None:
            jsonl_path.parent.mkdir(parents=True, exist_ok=True)
            _end_a_torn_line(jsonl_path)

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record)
        LOG.info(line)
        if self.jsonl_path is not None:
            with self.jsonl_path.open("a") as handle:
                handle.write(line + "\n")

    def record_batch(self, metrics: BatchMetrics) -> None:
        with self._lock:
            self._pending[(f"land_{metrics.source}", metrics.batch_id)] = metrics
            self.batches.append(metrics)
            self._write({"event": "landing_batch", **asdict(metrics)})

    def record_progress(
        self,
        query_name: str,
        batch_id: int,
        lag: int | None,
        duration_ms: int,
        spark_phases_ms: dict[str, int] | None = None,
    ) -> None:
        with self._lock:
            metrics = self._pending.pop((query_name, batch_id), None)
            if metrics is None:  # an empty trigger: nothing was landed
                return
            metrics.kafka_lag = lag
            metrics.trigger_duration_ms = duration_ms
            spark_phases = {f"spark_{phase}": ms for phase, ms in (spark_phases_ms or {}).items()}
            metrics.phases_ms.update(spark_phases)
            self._write(
                {
                    "event": "landing_progress",
                    "source": metrics.source,
                    "batch_id": batch_id,
                    "kafka_lag": lag,
                    "trigger_duration_ms": duration_ms,
                    "phases_ms": spark_phases,
                }
            )

    def wait_for_progress(self, timeout_s: float) -> None:
        """Wait for Spark's progress reports of the landed batches, which arrive on
        another thread (the batches' own lines are written already)."""
        deadline = time.monotonic() + timeout_s
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.05)

    def totals(self) -> dict[str, int]:
        with self._lock:
            batches = list(self.batches)
        return {
            "input_rows": sum(b.input_rows for b in batches),
            "landed_rows": sum(b.landed_rows for b in batches),
            "dead_lettered_rows": sum(b.dead_lettered_rows for b in batches),
            "batches": len(batches),
        }


def _end_a_torn_line(path: Path) -> None:
    """A job killed mid-write leaves a line without its end: end it, so the next line
    stands on its own."""
    if path.exists() and path.stat().st_size:
        with path.open("rb+") as handle:
            handle.seek(-1, 2)
            if handle.read(1) != b"\n":
                handle.write(b"\n")


def read_batches(path: Path) -> list[dict[str, Any]]:
    """Every batch of a metrics file once, in the order they first ran: the counts of
    its last attempt (a batch replayed after a crash is logged again under its id),
    with Spark's progress of it merged in where it came."""
    batches: dict[tuple[str, int], dict[str, Any]] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line torn by a crash mid-write: its batch is logged again
        if not isinstance(record, dict):
            continue
        key = (record["source"], record["batch_id"])
        if record["event"] == "landing_batch":
            batches[key] = record
        elif record["event"] == "landing_progress" and key in batches:
            batch = batches[key]
            batch["kafka_lag"] = record["kafka_lag"]
            batch["trigger_duration_ms"] = record["trigger_duration_ms"]
            batch["phases_ms"] = {**batch.get("phases_ms", {}), **record["phases_ms"]}
    return list(batches.values())


class ProgressListener(StreamingQueryListener):
    """Feeds Spark's per-batch progress (lag, duration) into a :class:`MetricsLog`."""

    def __init__(self, metrics: MetricsLog) -> None:
        self.metrics = metrics

    def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - Spark's interface
        pass

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802
        progress = event.progress
        phases = {str(name): int(ms) for name, ms in progress.durationMs.items()}
        try:
            lag = kafka_lag(progress)
        except (TypeError, ValueError, AttributeError):
            # A report this code does not understand costs the lag, never the line.
            LOG.warning("no Kafka lag in the progress of %s", progress.name, exc_info=True)
            lag = None
        self.metrics.record_progress(
            progress.name, progress.batchId, lag, phases.get("triggerExecution", 0), phases
        )

    def onQueryIdle(self, event: Any) -> None:  # noqa: N802
        pass

    def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
        pass
