"""Landing survives being killed at any point, and stops cleanly when asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from foundation.contracts import CONTRACTS
from ingestion.producer import produce
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity import pipeline
from smartcity.settings import Settings
from streaming.iceberg_batches import landed_batch
from streaming.iceberg_catalogs import lake_catalog
from streaming.metrics import read_batches
from tests.conftest import settings_for

pytestmark = pytest.mark.e2e

START = datetime(2026, 7, 1, 23, 40, tzinfo=UTC)  # crosses midnight: two dates
EVENTS = 6_000
# Two sources keep the test quick on two cores; the mechanism is the same for all five.
SOURCES = ("gps_fixes", "vehicle_telemetry")


LANDED = [c for c in CONTRACTS if c.source in SOURCES]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


def batches_logged(settings: Settings) -> int:
    path = settings.metrics_dir / "landing.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return sum('"event": "landing_batch"' in line for line in lines)


def logged_batches(settings: Settings) -> list[dict]:
    return read_batches(settings.metrics_dir / "landing.jsonl")


def start_landing_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SMARTCITY_DATA_DIR": str(settings.data_dir),
        "SMARTCITY_TOPIC_PREFIX": settings.topic_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
    }
    command = [
        sys.executable,
        "-m",
        "smartcity",
        "land",
        "--trigger",
        "1 second",
        "--max-offsets-per-trigger",
        "250",
        *[argument for source in SOURCES for argument in ("--source", source)],
    ]
    with log.open("ab") as output:
        # Its own process group, so that the JVM it starts can be killed with it.
        return subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def land_drain(settings: Settings, **options: int) -> dict[str, int]:
    return pipeline.land(settings, contracts=LANDED, **options)


def landed_ids(settings: Settings) -> Counter[str]:
    """The event ids in the raw tables' folders, read as a plain directory reader would."""
    rows = duckdb.execute(
        f"select event_id from read_parquet('{settings.lake_uri}/raw/*/*/*/*.parquet', "
        "union_by_name = true)"
    ).fetchall()
    return Counter(row[0] for row in rows)


def committed_ids(settings: Settings) -> Counter[str]:
    """The event ids the raw Iceberg tables hold."""
    catalog = lake_catalog(settings.lake_uri)
    ids: Counter[str] = Counter()
    for source in SOURCES:
        table = catalog.load_table((settings.iceberg_namespace, source))
        ids.update(table.scan(selected_fields=("event_id",)).to_arrow().column(0).to_pylist())
    return ids


@pytest.fixture
def backlog(tmp_path: Path, kafka_broker) -> tuple[Settings, Counter[str]]:
    settings = settings_for(
        tmp_path, kafka_broker, topic_prefix=f"fault{os.getpid()}{tmp_path.name[-6:]}"
    )
    pipeline.create_topics(settings)
    events = list(simulate(SimulationOptions(events=EVENTS, seed=5, start_at=START)))
    report = produce(events, settings.bootstrap_servers, pipeline.topic_namer(settings))
    assert report.ok and report.total_acknowledged == EVENTS
    return settings, Counter(e["event_id"] for c, e in events if c.source in SOURCES)


def test_killing_the_job_repeatedly_neither_loses_nor_duplicates_a_row(backlog, tmp_path) -> None:
    settings, produced = backlog
    log = tmp_path / "land.log"
    # Killed after a different amount of progress each time, mid-batch or between batches.
    for round_number, extra_batches in enumerate((2, 4, 7), start=1):
        before = batches_logged(settings)
        process = start_landing_process(settings, log)
        try:
            wait_until(
                lambda before=before, extra=extra_batches: (
                    batches_logged(settings) >= before + extra
                ),
                240,
                f"{extra_batches} more batches in round {round_number} (see {log})",
            )
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL
    partial = committed_ids(settings)
    assert partial and max(partial.values()) == 1, "a killed run left a duplicate behind"

    totals = land_drain(settings)  # drains the rest, after the last crash
    assert totals["dead_lettered_rows"] == 0
    assert committed_ids(settings) == produced
    # No file of a killed run is left beside the tables' own.
    assert landed_ids(settings) == produced
    assert sum(pipeline.dead_lettered_rows(settings).values()) == 0
    # The metrics survived the crashes and the replays: every batch they report was
    # committed, and together they count what landed, once.
    batches = logged_batches(settings)
    for source in {batch["source"] for batch in batches}:
        logged = {batch["batch_id"] for batch in batches if batch["source"] == source}
        assert logged <= committed_batches(settings, source), source
    assert sum(batch["landed_rows"] for batch in batches) == sum(produced.values())


def committed_batches(settings: Settings, source: str) -> set[int]:
    commits = Path(settings.checkpoint_uri) / source / "commits"
    return {int(p.name) for p in commits.iterdir() if p.name.isdigit()}


def test_sigterm_stops_after_the_batch_in_flight_is_committed(backlog, tmp_path) -> None:
    settings, produced = backlog
    log = tmp_path / "land.log"
    process = start_landing_process(settings, log)
    try:
        wait_until(lambda: batches_logged(settings) >= 5, 240, f"5 batches (see {log})")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, log.read_text()[-3000:]
    lines = logged_batches(settings)
    for source in {line["source"] for line in lines}:
        published = {line["batch_id"] for line in lines if line["source"] == source}
        # Every batch that published files was also committed: none is left to replay.
        assert published <= committed_batches(settings, source), source
    land_drain(settings)
    assert landed_ids(settings) == produced


def test_every_batch_reports_one_structured_line_that_adds_up(backlog) -> None:
    settings, produced = backlog
    totals = land_drain(settings, max_offsets_per_trigger=1_000)
    lines = logged_batches(settings)
    assert {line["event"] for line in lines} == {"landing_batch"}
    for line in lines:
        assert line["input_rows"] == line["landed_rows"] + line["dead_lettered_rows"]
        assert line["duration_ms"] >= 0
        assert line["kafka_lag"] is not None and line["kafka_lag"] >= 0
        phases = line["phases_ms"]
        own = phases["land_valid"] + phases["dead_letters"]
        assert own <= line["duration_ms"] + 2
        assert 0 <= phases["iceberg_commit"] <= own + 1
        assert phases["spark_triggerExecution"] >= phases["spark_addBatch"] >= 0
    assert (
        sum(line["landed_rows"] for line in lines)
        == totals["landed_rows"]
        == sum(produced.values())
    )
    # Small batches over a backlog: the first batches of a source still had lag behind them.
    assert max(line["kafka_lag"] for line in lines) > 0
    assert len(lines) > 5
    # Each raw table records the last batch it holds, as the commits' property.
    catalog = lake_catalog(settings.lake_uri)
    for source in {line["source"] for line in lines}:
        table = catalog.load_table((settings.iceberg_namespace, source))
        newest = max(line["batch_id"] for line in lines if line["source"] == source)
        assert landed_batch(table, source) == (query_id(settings, source), newest)


def query_id(settings: Settings, source: str) -> str:
    metadata = Path(settings.checkpoint_uri) / source / "metadata"
    return json.loads(metadata.read_text().splitlines()[0])["id"]
