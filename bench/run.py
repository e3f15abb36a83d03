"""One benchmark run on the embedded stack: producer, landing, files, dbt.

Everything runs under a folder of its own (``data/bench/<stamp>``) with a broker of its
own on free loopback ports, so a run never touches the demo's state. A lost event or a
failed delivery ends the run with an error: figures from a lossy run mean nothing.
"""

from __future__ import annotations

import itertools
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from bench.freshness import batch_lines, measure
from bench.own_process import run_module
from bench.peer import run_peer
from bench.results import Results, add_phases, machine_conditions
from bench.warm_readers import ReadersWarmed, warm_readers
from foundation.contracts import CONTRACTS
from ingestion.producer import produce
from ingestion.simulators.fleet import driving_share
from ingestion.simulators.world import SimulationOptions, simulate
from ingestion.topics import ensure_topics
from ingestion.wire import serialize
from smartcity import pipeline
from smartcity.dbt.schedule import InProcessDbt
from smartcity.jars import SPARK_KAFKA, ensure_jars
from smartcity.local_stack.kafka_broker import LocalKafkaBroker, free_port
from smartcity.settings import PROJECT_ROOT, Settings
from streaming.defaults import AVAILABLE_NOW, MAX_OFFSETS_PER_TRIGGER
from streaming.iceberg_catalogs import lake_catalog
from streaming.maintenance import CompactionResult, compact, hours

T = TypeVar("T")

# What the simulator emits per vehicle and simulated second (measured: about 0.305).
# A GPS fix every 5 s and a telemetry reading every 10 s while the vehicle drives.
EVENTS_PER_VEHICLE_SECOND = (1 / 5 + 1 / 10) * driving_share()
# Events built and sent at a time by the producer part.
CHUNK = 500_000
# Before the producer's figure is timed, the broker is warmed up: the first events (at
# most this many) are sent again and again to topics of their own that nothing lands,
# until two sends in a row go at rates within WARM_UP_STEADY of each other (at most
# WARM_UP_SENDS sends). A fresh broker on two cores compiles its request path for the
# first few hundred thousand events: chunks of 100,000 from a start went at 63,000,
# 75,000, 91,000, then 92,000-135,000. A sensor gateway's figure is the rate it keeps
# up, not the broker's first seconds.
WARM_UP_EVENTS = 100_000
WARM_UP_SENDS = 8
WARM_UP_STEADY = 0.10
WARM_UP_TOPIC_SUFFIX = ".bench-warm-up"
# The timed send is read in segments of this many events (the producer's progress
# callback): the figure is the median segment's rate, which a pause of the machine or
# the broker's garbage collector in one segment does not decide.
SEGMENT_EVENTS = 25_000


class BenchmarkFailed(RuntimeError):
    """The run lost or failed to deliver events; its figures are not valid."""


@dataclass(frozen=True)
class BenchOptions:
    events: int = 200_000
    vehicles: int = 200
    seed: int = 5
    # Share of the events added after the full build, for the incremental dbt run.
    increment: float = 0.01
    # Continuous mode: input rate, how long, the landing trigger and the dbt schedule.
    rate: float = 2_000.0
    duration_s: float = 60.0
    trigger_s: int = 5
    # None: dbt runs on each landing (`smartcity dbt --on-landing`), not on a cadence.
    dbt_every_s: float | None = None
    # Land the same backlog with the tutorial-shaped job too, for the ratio.
    peer: bool = True
    # Both jobs land the backlog this many times, alternating which goes first.
    rounds: int = 3
    freshness: bool = True
    root: Path = PROJECT_ROOT / "data" / "bench"


def _settings(root: Path, broker: LocalKafkaBroker) -> Settings:
    return Settings.from_env(
        {
            "SMARTCITY_DATA_DIR": str(root),
            "SMARTCITY_TOPIC_PREFIX": "bench",
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        }
    )


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def run(options: BenchOptions, say: Callable[[str], None]) -> Results:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root = options.root / stamp
    # Two hours back: every hour the events fall in is closed, so compaction can run.
    # The events span about events / (EVENTS_PER_VEHICLE_SECOND x vehicles) seconds of
    # simulated time (rather less: parking is staggered at the start); they all end at
    # least two hours back, so every hour they fall in is closed (compaction runs) and
    # none is ahead of Kafka's clock.
    span = timedelta(seconds=options.events / (EVENTS_PER_VEHICLE_SECOND * options.vehicles))
    start_at = (datetime.now(UTC) - timedelta(hours=2) - span).replace(
        minute=0, second=0, microsecond=0
    )
    simulation = SimulationOptions(
        events=options.events, seed=options.seed, vehicles=options.vehicles, start_at=start_at
    )
    results = Results(
        conditions={
            **machine_conditions(),
            "started_at": stamp,
            "events": options.events,
            "vehicles": options.vehicles,
            "seed": options.seed,
            "increment": options.increment,
            "rate": options.rate,
            "duration_s": options.duration_s,
            "trigger_s": options.trigger_s,
            "dbt_every_s": options.dbt_every_s,
            "peer": options.peer,
            "rounds": options.rounds,
            "freshness": options.freshness,
            "state": str(root),
        }
    )
    broker = LocalKafkaBroker(
        root / "kafka",
        Settings.from_env().cache_dir,
        port=free_port(),
        controller_port=free_port(),
    )
    say(f"starting a broker for the run on {broker.bootstrap_servers} (state in {root})")
    broker.start()
    try:
        settings = _settings(root, broker)
        pipeline.create_topics(settings)
        _producer(settings, simulation, results, say)
        _landing(settings, broker, options, results, say)
        _files(settings, results, say)
        _dbt(settings, simulation, options, results, say)
        if options.freshness:
            measure(
                settings,
                simulation,
                options.rate,
                options.duration_s,
                options.trigger_s,
                options.dbt_every_s,
                results,
                say,
            )
        results.conditions["landed_total"] = sum(pipeline.landed_rows(settings).values())
    finally:
        broker.stop()
    return results


def _producer(
    settings: Settings, simulation: SimulationOptions, results: Results, say: Callable
) -> None:
    say(
        f"producer: building and sending {simulation.events:,} events in chunks of {CHUNK:,}, "
        f"after {min(WARM_UP_EVENTS, simulation.events):,} untimed to warm-up topics"
    )
    simulated = simulate(simulation)
    count = build_s = serialize_s = send_s = megabytes = 0.0
    segment_rates: list[float] = []
    warm = True
    while True:
        # In chunks, so that ten million events never sit in memory at once; only the
        # sending is timed for the producer's figure, as a sensor gateway only sends.
        events, seconds = _timed(lambda: list(itertools.islice(simulated, CHUNK)))
        if not events:
            break
        if warm:
            rates = _warm_up(settings, events[:WARM_UP_EVENTS])
            results.conditions["producer_warm_up_rates"] = [round(rate) for rate in rates]
            say(f"producer: broker warmed up ({', '.join(f'{r:,.0f}' for r in rates)} events/s)")
            warm = False
        build_s += seconds
        payloads, seconds = _timed(lambda chunk=events: [serialize(c, e) for c, e in chunk])
        serialize_s += seconds
        megabytes += sum(len(p) for p in payloads) / 1e6
        marks = [time.perf_counter()]
        report = produce(
            events,
            settings.bootstrap_servers,
            pipeline.topic_namer(settings),
            on_progress=lambda _, marks=marks: marks.append(time.perf_counter()),
            progress_every=SEGMENT_EVENTS,
        )
        segment_rates += [SEGMENT_EVENTS / (b - a) for a, b in itertools.pairwise(marks)]
        if not report.ok or report.total_acknowledged != len(events):
            raise BenchmarkFailed(
                f"delivery failed: {report.total_acknowledged:,} of {len(events):,} "
                f"acknowledged, {dict(report.failed)} failed, {report.unflushed} unflushed, "
                f"{report.errors}"
            )
        send_s += report.seconds
        count += len(events)
        results.conditions["newest_event_at"] = events[-1][1]["event_at"].isoformat()
        say(f"producer: {count:,.0f} sent")
    steady = statistics.median(segment_rates) if segment_rates else count / send_s
    results.add(
        "producer.events_per_s",
        steady,
        f"events/s (steady state: after the broker's warm-up, the median of "
        f"{len(segment_rates)} segments of {SEGMENT_EVENTS:,}; slowest "
        f"{min(segment_rates, default=steady):,.0f})",
        True,
    )
    results.add(
        "producer.events_per_s_whole_send",
        count / send_s,
        "events/s (the whole timed send: the producer's start and final flush included)",
        True,
    )
    results.add("producer.mb_per_s", megabytes / send_s, "MB/s (JSON payload)", True)
    results.add("producer.delivery_errors", 0, "count", False)
    results.add("producer.build_events_per_s", count / build_s, "events/s (simulate only)", True)
    results.add(
        "producer.serialize_events_per_s", count / serialize_s, "events/s (serialize only)", True
    )
    results.add("producer.send_seconds", send_s, "s", False)


def _warm_up(settings: Settings, events: list) -> list[float]:
    """``events`` sent to warm-up topics shaped as the real ones (a topic per source, the
    same partitions), which the landing job does not read, until the rate holds steady;
    returns each send's events per second."""
    real = pipeline.topic_namer(settings)
    warm_up_topic = lambda contract: real(contract) + WARM_UP_TOPIC_SUFFIX  # noqa: E731
    ensure_topics(settings.bootstrap_servers, [warm_up_topic(c) for c in CONTRACTS])
    rates: list[float] = []
    while len(rates) < WARM_UP_SENDS:
        report = produce(events, settings.bootstrap_servers, warm_up_topic)
        if not report.ok or report.total_acknowledged != len(events):
            raise BenchmarkFailed(f"delivery failed while warming the broker up: {report.errors}")
        rates.append(len(events) / report.seconds)
        if len(rates) >= 2 and abs(rates[-1] - rates[-2]) <= WARM_UP_STEADY * rates[-2]:
            break
    return rates


def _slowest_source_s(batches: list[dict], milliseconds: Callable[[dict], int]) -> float:
    """Seconds of the source whose batches took longest in all. The five sources'
    queries run side by side, so their batches overlap: the busy time is the slowest
    source's, not the sum."""
    per_source: dict[str, int] = {}
    for batch in batches:
        per_source[batch["source"]] = per_source.get(batch["source"], 0) + milliseconds(batch)
    return max(per_source.values(), default=0) / 1000


def land_in_own_process(settings: Settings) -> float:
    """`smartcity land` over the backlog in a process of its own, as the peer runs: both
    JVMs start cold and neither shares a Python process with the producer's work. Returns
    its seconds, process start included."""
    started = time.perf_counter()
    try:
        # Options spelled out, so that a user's SMARTCITY_LANDING_* settings do not
        # change what is measured (or make it run for ever).
        run_module(
            settings,
            [
                "smartcity",
                "land",
                "--trigger",
                AVAILABLE_NOW,
                "--max-offsets-per-trigger",
                str(MAX_OFFSETS_PER_TRIGGER),
            ],
            "the landing job",
        )
    except RuntimeError as error:
        raise BenchmarkFailed(str(error)) from error
    return time.perf_counter() - started


@dataclass(frozen=True)
class LandingRun:
    """One job's landing of the whole backlog: events per second over Spark's
    micro-batch time (the slowest source's), and with process and Spark start."""

    in_triggers: float
    with_start: float


def _land_ours(settings: Settings, expected: int) -> tuple[LandingRun, list[dict], float]:
    seconds = land_in_own_process(settings)
    landed = sum(pipeline.landed_rows(settings).values())
    dead = sum(pipeline.dead_lettered_rows(settings).values())
    if landed != expected or dead != 0:
        raise BenchmarkFailed(f"landed {landed:,} and dead-lettered {dead:,} of {expected:,}")
    batches = batch_lines(settings.metrics_dir / "landing.jsonl")
    # Spark's own time per micro-batch, as the peer is measured: trigger bookkeeping too.
    trigger_s = _slowest_source_s(
        batches, lambda b: b["phases_ms"].get("spark_triggerExecution", 0)
    )
    if not trigger_s:
        raise BenchmarkFailed("the landing job reported no micro-batch time")
    return LandingRun(landed / trigger_s, landed / seconds), batches, seconds


def _land_peer(settings: Settings, expected: int) -> LandingRun:
    peer, seconds = _timed(lambda: run_peer(settings, Path(settings.data_dir) / "peer"))
    if peer.rows != expected:
        raise BenchmarkFailed(f"the peer read {peer.rows:,} of {expected:,} events")
    if not peer.busy_seconds:
        raise BenchmarkFailed("the peer reported no micro-batch time")
    return LandingRun(peer.rows / peer.busy_seconds, peer.rows / seconds)


def _warm_readers(settings: Settings) -> ReadersWarmed:
    import pyspark

    from streaming.jvm_build import landing_jar

    spark_jars = sorted(Path(pyspark.__file__).parent.joinpath("jars").glob("*.jar"))
    jars = [
        *spark_jars,
        *ensure_jars(SPARK_KAFKA, settings.cache_dir),
        landing_jar(settings.cache_dir),
    ]
    topics = [settings.topic(contract.source) for contract in CONTRACTS]
    return warm_readers(settings.bootstrap_servers, topics, jars)


def _rounds_text(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _landing(
    settings: Settings,
    broker: LocalKafkaBroker,
    options: BenchOptions,
    results: Results,
    say: Callable,
) -> None:
    """The backlog landed by the landing job and, with ``--peer``, by the peer, in
    ``--rounds`` rounds that alternate which job goes first: a single cold run moves by
    10-15 % from one to the next, so the figures are the rounds' medians. The first
    round's lake is the one the later parts use; the others are deleted."""
    if options.peer:
        warmed = _warm_readers(settings)
        say(
            f"landing: page cache and broker warmed for both jobs ({warmed.jar_bytes / 1e6:,.0f} "
            f"MB of jars read, {warmed.records:,} records fetched, {warmed.seconds:.1f} s)"
        )
    ours_runs: list[LandingRun] = []
    peer_runs: list[LandingRun] = []
    first_batches: list[dict] = []
    first_seconds = 0.0
    for number in range(1, options.rounds + 1):
        here = (
            settings
            if number == 1
            else _settings(settings.data_dir / "rounds" / f"{number}", broker)
        )
        order = ("ours", "peer") if number % 2 else ("peer", "ours")
        for job in order if options.peer else ("ours",):
            say(
                f"landing, round {number} of {options.rounds}: "
                + (
                    "Kafka -> validated Parquet, availableNow over the backlog"
                    if job == "ours"
                    else "the peer, the tutorial-shaped job (from_json, no validation)"
                )
            )
            if job == "ours":
                run, batches, seconds = _land_ours(here, options.events)
                ours_runs.append(run)
                if number == 1:
                    first_batches, first_seconds = batches, seconds
            else:
                peer_runs.append(_land_peer(here, options.events))
        if number > 1:
            shutil.rmtree(here.data_dir, ignore_errors=True)
    rounds = f"median of {options.rounds} rounds" if options.rounds > 1 else "one round"
    ours = statistics.median(r.in_triggers for r in ours_runs)
    results.add(
        "landing.events_per_s",
        statistics.median(r.with_start for r in ours_runs),
        f"events/s (incl. process and Spark start; {rounds})",
        True,
    )
    busy_s = _slowest_source_s(first_batches, lambda b: b["duration_ms"])
    results.add(
        "landing.events_per_s_in_batches",
        options.events / busy_s if busy_s else None,
        "events/s (micro-batch time only; round 1)",
        True,
    )
    results.add(
        "landing.events_per_s_in_triggers",
        ours,
        f"events/s (Spark's micro-batch time, as the peer's; {rounds}: "
        f"{_rounds_text([r.in_triggers / 1000 for r in ours_runs])} thousand)",
        True,
    )
    results.add("landing.seconds", first_seconds, "s (round 1, incl. process start)", False)
    add_phases(results, "landing.phase", first_batches)
    results.add("landing.batches", len(first_batches), "micro-batches (round 1)", None)
    if not peer_runs:
        return
    results.add(
        "peer.events_per_s",
        statistics.median(r.with_start for r in peer_runs),
        f"events/s (incl. process and Spark start; {rounds})",
        True,
    )
    results.add(
        "peer.events_per_s_in_triggers",
        statistics.median(r.in_triggers for r in peer_runs),
        f"events/s (Spark's micro-batch time; {rounds}: "
        f"{_rounds_text([r.in_triggers / 1000 for r in peer_runs])} thousand)",
        True,
    )
    ratios = [o.in_triggers / p.in_triggers for o, p in zip(ours_runs, peer_runs, strict=True)]
    results.add(
        "landing.vs_peer",
        statistics.median(ratios),
        f"x the peer, micro-batch time, full validation ({rounds}: {_rounds_text(ratios)})",
        True,
    )
    # The goal holds in every round, not only in the median.
    results.add("landing.vs_peer_worst_round", min(ratios), "x the peer, the lowest round", True)
    results.add(
        "landing.vs_peer_incl_start",
        statistics.median(
            o.with_start / p.with_start for o, p in zip(ours_runs, peer_runs, strict=True)
        ),
        f"x the peer, incl. process and Spark start ({rounds})",
        True,
    )


def _partition_figures(settings: Settings, prefix: str, results: Results) -> None:
    catalog = lake_catalog(settings.lake_uri)
    found = [
        hour
        for c in CONTRACTS
        for hour in hours(catalog.load_table((settings.iceberg_namespace, c.source)), c.source)
    ]
    rows = [r for hour in found for r in hour.rows_per_file]
    sizes = [int(f.file_size_in_bytes) for hour in found for f in hour.files]
    results.add(f"{prefix}.partitions", len(found), "partitions", None)
    results.add(f"{prefix}.files_per_partition", len(rows) / max(len(found), 1), "files", False)
    results.add(f"{prefix}.rows_per_file", sum(rows) / max(len(rows), 1), "rows (mean)", True)
    results.add(f"{prefix}.mb_per_file", sum(sizes) / 1e6 / max(len(rows), 1), "MB (mean)", True)


def _files(settings: Settings, results: Results, say: Callable) -> None:
    say("files: per partition before and after compaction")
    _partition_figures(settings, "files.landed", results)
    catalog = lake_catalog(settings.lake_uri)

    def compact_all() -> list[CompactionResult]:
        return [
            result
            for c in CONTRACTS
            for result in compact(
                lambda c=c: catalog.load_table((settings.iceberg_namespace, c.source)),
                c.source,
                grace=timedelta(0),
            )
        ]

    compacted, seconds = _timed(compact_all)
    _partition_figures(settings, "files.compacted", results)
    results.add("files.compaction_seconds", seconds, "s", False)
    results.add("files.partitions_compacted", len(compacted), "partitions", None)


# Increments of `--increment` new events each, landed and run one after the other: the
# incremental figure is the median of their runs, as one run varies by a second or so.
INCREMENTS = 3
# The incremental facts: with no new rows, a run of them is dbt's fixed cost per run.
FACTS_ONLY = ("run", "--select", "fct_camera_sightings", "fct_dead_letters")


def _dbt(
    settings: Settings,
    simulation: SimulationOptions,
    options: BenchOptions,
    results: Results,
    say: Callable,
) -> None:
    """The full and the incremental run in one dbt process, as `smartcity dbt --every`
    runs them: what a fresh process adds is measured on its own."""
    with InProcessDbt(settings) as dbt:

        def timed_dbt(*arguments: str) -> float:
            ok, error, seconds = dbt.invoke(["--quiet", *arguments])
            if not ok:
                raise BenchmarkFailed(f"`dbt {' '.join(arguments)}` failed: {error}")
            return seconds

        say("dbt: full build of the models")
        timed_dbt("seed")  # reference data, and dbt's imports: not part of the measured cost
        full_s = timed_dbt("run")
        extra = max(int(options.events * options.increment), 1)
        newest = datetime.fromisoformat(results.conditions["newest_event_at"])
        incremental_runs = []
        for number in range(1, INCREMENTS + 1):
            say(
                f"dbt: {extra:,} more events ({options.increment:.0%}), landed, then an "
                f"incremental run ({number} of {INCREMENTS})"
            )
            # New events after the lake's newest, as a live city's are.
            later = replace(
                simulation, events=extra, seed=simulation.seed + number, start_at=newest
            )
            events = list(simulate(later))
            report = produce(events, settings.bootstrap_servers, pipeline.topic_namer(settings))
            if not report.ok:
                raise BenchmarkFailed(f"delivery failed in the increment: {report.errors}")
            newest = events[-1][1]["event_at"]
            pipeline.land(settings)
            incremental_runs.append(timed_dbt("run"))
        timed_dbt(*FACTS_ONLY)  # takes in the increment, so the next run finds no new rows
        fixed_s = timed_dbt(*FACTS_ONLY)
    _, fresh_fixed_s = _timed(lambda: pipeline.run_dbt(settings, *FACTS_ONLY))
    landed = sum(pipeline.landed_rows(settings).values())
    if landed != options.events + INCREMENTS * extra:
        raise BenchmarkFailed(
            f"landed {landed:,} of {options.events + INCREMENTS * extra:,} after the increments"
        )
    incremental_s = statistics.median(incremental_runs)
    results.add("dbt.full_run_seconds", full_s, "s (one dbt process)", False)
    results.add(
        "dbt.incremental_run_seconds",
        incremental_s,
        f"s (the same process; median of {', '.join(f'{r:.2f}' for r in incremental_runs)})",
        False,
    )
    results.add("dbt.incremental_share_of_full", 100 * incremental_s / full_s, "%", False)
    results.add(
        "dbt.fixed_seconds", fixed_s, "s (a run with no new rows: dbt's fixed cost per run)", False
    )
    results.add(
        "dbt.incremental_share_of_full_net",
        100 * max(incremental_s - fixed_s, 0) / max(full_s - fixed_s, 1e-9),
        "% (both less dbt's fixed cost)",
        False,
    )
    results.add(
        "dbt.process_start_seconds",
        max(fresh_fixed_s - fixed_s, 0),
        "s (what a fresh dbt process adds to every run)",
        False,
    )
