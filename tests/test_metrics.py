"""The landing metrics: Kafka lag from Spark's progress, whatever shape it comes in."""

from __future__ import annotations

from types import SimpleNamespace

from streaming.metrics import BatchMetrics, MetricsLog, ProgressListener, kafka_lag, read_batches


def progress(latest: object, end: object, name: str = "land_gps_fixes", batch_id: int = 3):
    source = SimpleNamespace(latestOffset=latest, endOffset=end)
    return SimpleNamespace(
        sources=[source], name=name, batchId=batch_id, durationMs={"triggerExecution": 120}
    )


def test_lag_is_the_records_beyond_the_batch_end() -> None:
    latest = '{"t": {"0": 150, "1": 70}}'
    end = '{"t": {"0": 100, "1": 70}}'
    assert kafka_lag(progress(latest, end)) == 50


def test_a_replayed_batch_without_offsets_has_no_lag_instead_of_failing() -> None:
    # After a restart PySpark reports a missing latest offset as the text "None".
    for latest in ("None", None, "", "not json", "[1, 2]"):
        assert kafka_lag(progress(latest, '{"t": {"0": 1}}')) is None


def test_the_batch_line_is_written_before_progress_and_merged_with_it(tmp_path) -> None:
    path = tmp_path / "landing.jsonl"
    log = MetricsLog(path)
    log.record_batch(BatchMetrics("gps_fixes", 3, 10, 9, 1, 50))
    # Written at once: a job killed before Spark reports progress loses no count.
    assert [b["landed_rows"] for b in read_batches(path)] == [9]
    ProgressListener(log).onQueryProgress(SimpleNamespace(progress=progress("None", "None")))
    (batch,) = read_batches(path)
    assert batch["kafka_lag"] is None and batch["phases_ms"]["spark_triggerExecution"] == 120
    assert log.totals()["landed_rows"] == 9


def test_a_replayed_batch_counts_once_with_its_last_attempt(tmp_path) -> None:
    path = tmp_path / "landing.jsonl"
    first = MetricsLog(path)
    first.record_batch(BatchMetrics("gps_fixes", 0, 5, 5, 0, 40))
    first.record_batch(BatchMetrics("gps_fixes", 1, 7, 7, 0, 40))  # killed before commit
    with path.open("a") as handle:
        handle.write('{"event": "landing_batch", "source": "gps_fi')  # killed mid-write
    again = MetricsLog(path)  # the restarted job replays batch 1
    again.record_batch(BatchMetrics("gps_fixes", 1, 7, 6, 1, 45))
    again.record_progress("land_gps_fixes", 1, 0, 60, {"addBatch": 50})
    batches = read_batches(path)
    assert [(b["batch_id"], b["landed_rows"]) for b in batches] == [(0, 5), (1, 6)]
    assert batches[1]["kafka_lag"] == 0 and batches[1]["phases_ms"]["spark_addBatch"] == 50
