"""One structured line per micro-batch: rows in, landed, dead-lettered, time, Kafka lag.

The counts come from the batch function, the lag from Spark's progress report of the
same batch; the line is written when both are known, to the log and, when a path is
given, to a JSON-lines file that the benchmark reads.
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


def kafka_lag(progress: Any) -> int | None:
    """Records in Kafka beyond the batch's end offsets, summed over partitions."""
    total = 0
    for source in progress.sources:
        if not source.latestOffset or not source.endOffset:
            return None
        latest, end = json.loads(source.latestOffset), json.loads(source.endOffset)
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

    def record_batch(self, metrics: BatchMetrics) -> None:
        with self._lock:
            self._pending[(f"land_{metrics.source}", metrics.batch_id)] = metrics

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
            for phase, ms in (spark_phases_ms or {}).items():
                metrics.phases_ms[f"spark_{phase}"] = ms
            self.batches.append(metrics)
            line = json.dumps({"event": "landing_batch", **asdict(metrics)})
            LOG.info(line)
            if self.jsonl_path is not None:
                with self.jsonl_path.open("a") as handle:
                    handle.write(line + "\n")

    def wait_for_progress(self, timeout_s: float) -> None:
        """Wait for Spark's progress reports of the landed batches, which arrive on
        another thread; write those that never come without their lag."""
        deadline = time.monotonic() + timeout_s
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            pending = list(self._pending)
        for query_name, batch_id in pending:
            self.record_progress(query_name, batch_id, None, 0)

    def totals(self) -> dict[str, int]:
        with self._lock:
            batches = list(self.batches) + list(self._pending.values())
        return {
            "input_rows": sum(b.input_rows for b in batches),
            "landed_rows": sum(b.landed_rows for b in batches),
            "dead_lettered_rows": sum(b.dead_lettered_rows for b in batches),
            "batches": len(batches),
        }


class ProgressListener(StreamingQueryListener):
    """Feeds Spark's per-batch progress (lag, duration) into a :class:`MetricsLog`."""

    def __init__(self, metrics: MetricsLog) -> None:
        self.metrics = metrics

    def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - Spark's interface
        pass

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802
        progress = event.progress
        phases = {str(name): int(ms) for name, ms in progress.durationMs.items()}
        self.metrics.record_progress(
            progress.name,
            progress.batchId,
            kafka_lag(progress),
            phases.get("triggerExecution", 0),
            phases,
        )

    def onQueryIdle(self, event: Any) -> None:  # noqa: N802
        pass

    def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
        pass
