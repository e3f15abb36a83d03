"""Freshness in continuous mode, measured from outside as a reader sees it.

The landing job runs with an interval trigger in a process of its own while events
are produced at a fixed rate, each stamped with the moment it is sent. A watcher reads
the raw tables' Iceberg metadata every half second; the first time it sees a committed
file, every row in it gets a delay (seen - event_at). Meanwhile incremental dbt runs of
the camera sightings mart follow the landings (`smartcity dbt --on-landing`, one
process; or a fixed cadence, `--every`); a sighting's delay to the mart is the end of the
first run that holds it, less its event_at. The landing job's own metrics give the Kafka lag per
micro-batch, which says whether the job keeps up with the rate.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from pyiceberg.exceptions import NoSuchTableError

from bench.results import Results, add_phases
from foundation.contracts import CONTRACTS, Contract
from ingestion.producer import produce
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity import pipeline
from smartcity.dbt import warehouse
from smartcity.dbt.schedule import FINISHED
from smartcity.settings import PROJECT_ROOT, Settings
from streaming.iceberg_catalogs import LOCAL_CATALOG_FILE, local_catalog
from streaming.metrics import read_batches

WATCH_EVERY_S = 0.5

# Seeds of their own, apart from the dbt part's increments (seed + 1, 2, 3): the same seed
# makes the same event ids, which staging keeps once, so the mart never counted them all.
WARM_UP_SEED = 1_001
MEASURED_SEED = 1_002


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def stamped_now(events: Iterator[tuple[Contract, dict]]) -> Iterator[tuple[Contract, dict]]:
    """Each event's time is the moment it is handed to the producer, as a sensor's is."""
    for contract, event in events:
        yield contract, {**event, "event_at": datetime.now(UTC)}


def counted(
    events: Iterator[tuple[Contract, dict]], tally: Counter[str]
) -> Iterator[tuple[Contract, dict]]:
    for contract, event in events:
        tally[contract.source] += 1
        yield contract, event


class LakeWatcher(threading.Thread):
    """Notes when each raw data file is first committed to its Iceberg table, and the
    event times in it: a row is queryable from its table's commit on."""

    def __init__(self, lake: Path, namespace: str) -> None:
        super().__init__(daemon=True)
        self.lake = lake
        self.namespace = namespace
        self.seen: set[str] = set()
        self.delays_s: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.scan()
            self.stop_event.wait(WATCH_EVERY_S)

    def scan(self) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        if not (self.lake / LOCAL_CATALOG_FILE).exists():
            return  # the landing job has not created the tables yet
        catalog = local_catalog(self.lake)
        for contract in CONTRACTS:
            try:
                table = catalog.load_table((self.namespace, contract.source))
            except NoSuchTableError:
                continue
            for uri in table.inspect.files().column("file_path").to_pylist():
                if uri in self.seen:
                    continue
                self.seen.add(uri)
                path = uri.removeprefix("file://")
                rows = duckdb.execute(f"select event_at from read_parquet('{path}')").fetchall()
                self.delays_s += [(now - event_at).total_seconds() for (event_at,) in rows]


def measure(
    settings: Settings,
    simulation: SimulationOptions,
    rate_per_s: float,
    duration_s: float,
    trigger_s: int,
    dbt_every_s: float | None,
    results: Results,
    say: Callable[[str], None],
) -> None:
    events = int(rate_per_s * duration_s)
    schedule = ("--on-landing",) if dbt_every_s is None else ("--every", str(dbt_every_s))
    say(
        f"freshness: landing every {trigger_s} s while {events:,} events arrive at "
        f"{rate_per_s:,.0f}/s; dbt "
        + ("on each landing" if dbt_every_s is None else f"every {dbt_every_s:.0f} s")
    )
    metrics_file = settings.metrics_dir / "landing.jsonl"
    environment = pipeline.child_environment(settings)
    lander = subprocess.Popen(
        [sys.executable, "-m", "smartcity", "land", "--trigger", f"{trigger_s} seconds"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    watcher = LakeWatcher(Path(settings.lake_uri), settings.iceberg_namespace)
    watcher.scan()  # what landed before this part is not measured
    watcher.delays_s.clear()
    watcher.start()
    mart_delays: list[float] = []
    known: set[str] = set(_sightings(settings))
    scheduler: subprocess.Popen | None = None

    def time_the_mart(lines: Iterator[str]) -> None:
        # After each scheduled run, the sightings it added are timed to its end.
        for line in lines:
            if line.startswith(FINISHED):
                finished = datetime.now(UTC).replace(tzinfo=None)
                for sighting_id, event_at in _sightings(settings).items():
                    if sighting_id not in known:
                        known.add(sighting_id)
                        mart_delays.append((finished - event_at).total_seconds())

    try:
        # Spark takes a while to start: a few warm-up events go through first, and the
        # measurement starts once they have landed.
        warm_up = replace(simulation, events=200, seed=simulation.seed + WARM_UP_SEED)
        produce(
            stamped_now(simulate(warm_up)),
            settings.bootstrap_servers,
            pipeline.topic_namer(settings),
        )
        _wait_for(lambda: len(watcher.delays_s) >= 200, 300, "the landing job to start")
        watcher.delays_s.clear()
        batches_before = _batches(metrics_file)
        # dbt on its schedule in a process of its own, started once, as a single-machine
        # deployment runs it (`smartcity dbt --on-landing`, or `--every`).
        scheduler = subprocess.Popen(
            [
                sys.executable,
                *("-m", "smartcity", "dbt", *schedule),
                *("run", "--select", "fct_camera_sightings"),
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert scheduler.stdout is not None
        threading.Thread(target=time_the_mart, args=(scheduler.stdout,), daemon=True).start()
        later = replace(simulation, events=events, seed=simulation.seed + MEASURED_SEED)
        sent: Counter[str] = Counter()
        report = produce(
            counted(stamped_now(simulate(later)), sent),
            settings.bootstrap_servers,
            pipeline.topic_namer(settings),
            rate_per_s=rate_per_s,
        )
        if not report.ok:
            raise RuntimeError(f"delivery failed during the freshness run: {report.errors}")
        target = report.total_acknowledged
        _wait_for(lambda: len(watcher.delays_s) >= target, 300, "every event to reach the lake")
        # Every sighting is timed into the mart too, or the figures would leave out
        # the slowest ones.
        _wait_for(
            lambda: len(mart_delays) >= sent["camera_sightings"],
            300,
            "every sighting to reach the mart",
        )
    finally:
        watcher.stop_event.set()
        os.killpg(lander.pid, signal.SIGTERM)
        if scheduler is not None:
            os.killpg(scheduler.pid, signal.SIGTERM)
            scheduler.wait(timeout=120)
        lander.wait(timeout=360)
    measured = batch_lines(metrics_file)[batches_before:]
    add_phases(results, "freshness.phase", measured)
    lags = [b["kafka_lag"] for b in measured if b.get("kafka_lag") is not None]
    third = max(len(lags) // 3, 1)
    growing = (
        bool(lags) and statistics.mean(lags[-third:]) > 2 * statistics.mean(lags[:third]) + 1000
    )
    delays = watcher.delays_s
    results.add("freshness.input_rate", rate_per_s, "events/s", None)
    results.add("freshness.trigger_seconds", trigger_s, "s", None)
    results.add("freshness.parquet_p50_s", percentile(delays, 0.50), "s", False)
    results.add("freshness.parquet_p95_s", percentile(delays, 0.95), "s", False)
    results.add("freshness.parquet_max_s", max(delays, default=None), "s", False)
    results.add("freshness.mart_p50_s", percentile(mart_delays, 0.50), "s", False)
    results.add("freshness.mart_p95_s", percentile(mart_delays, 0.95), "s", False)
    results.add("freshness.mart_max_s", max(mart_delays, default=None), "s", False)
    results.add("freshness.lag_growing", 1.0 if growing else 0.0, "1 = lag grew", False)
    results.add("freshness.lag_last_batch", lags[-1] if lags else None, "records", False)


def _sightings(settings: Settings) -> dict[str, datetime]:
    try:
        with warehouse.connect(settings.duckdb_path) as connection:
            rows = connection.execute(
                "select sighting_id, event_at from fct_camera_sightings"
            ).fetchall()
    except duckdb.Error:
        return {}
    return dict(rows)


def batch_lines(path: Path) -> list[dict]:
    """One record per landed batch, with its Kafka lag and phases."""
    return read_batches(path)


def _batches(path: Path) -> int:
    return len(batch_lines(path))


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.5)
