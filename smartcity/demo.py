"""`smartcity demo`: the whole pipeline once, on this machine, from an empty state."""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from foundation.contracts import CONTRACTS
from foundation.lake_tables import DEAD_LETTERS, RAW_TABLES
from ingestion.simulators.malformed import MalformedRecords
from ingestion.simulators.world import SimulationOptions
from smartcity import pipeline
from smartcity.console import Steps, say
from smartcity.dbt import preflight
from smartcity.jars import KAFKA_BROKER, SPARK_KAFKA, cache_directory, ensure_jars
from smartcity.local_stack.kafka_broker import BrokerError, LocalKafkaBroker, port_is_open
from smartcity.settings import PROJECT_ROOT, Settings


@dataclass(frozen=True)
class DemoOptions:
    simulation: SimulationOptions
    rate_per_s: float = 0.0
    # Share of malformed records sent beside the valid events, for the dead letters.
    malformed_share: float = 0.0
    # Remove existing state wherever it is, without asking.
    reset: bool = False


DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


def _relative(path: object) -> str:
    text = str(path)
    root = str(PROJECT_ROOT) + "/"
    return text[len(root) :] if text.startswith(root) else text


def _show_dbt_progress(line: str) -> None:
    # Models, seeds and the closing tally; the test lines are in target/run_results.json.
    if " OK " in line or " ERROR " in line or " FAIL " in line or "Done." in line:
        say("  " + line.split("  ", 1)[-1].strip())


def _show_event_time(earliest: datetime, latest: datetime) -> None:
    days = (latest.date() - earliest.date()).days + 1
    say(
        f"  event time: {earliest:%Y-%m-%d %H:%M} to {latest:%Y-%m-%d %H:%M} UTC, "
        f"{(latest - earliest) / timedelta(hours=1):.1f} hours over {days} day(s)"
    )


def _show_dead_letters(malformed_sent: Counter[str], dead_letters: dict[str, int]) -> None:
    """Dead letters per reason beside the malformed records sent for that reason: they
    agree unless valid events were refused too (say, events too old for the lake)."""
    if not dead_letters and not malformed_sent:
        return
    say(f"  {'dead letters by reason':<32}{'malformed sent':>16}{'dead letters':>14}")
    for reason in sorted(set(dead_letters) | set(malformed_sent)):
        say(f"    {reason:<30}{malformed_sent[reason]:>16,}{dead_letters.get(reason, 0):>14,}")


def _state(settings: Settings) -> list[Path]:
    """What the demo removes to start from nothing: the broker's log, the checkpoints, the
    lake and the database (an object-store lake is never touched)."""
    places = [settings.kafka_dir, settings.duckdb_path]
    places += [Path(p) for p in (settings.checkpoint_uri, settings.lake_uri) if "://" not in p]
    return places


def _is_the_demos_own(place: Path) -> bool:
    return place.is_relative_to(DEFAULT_DATA_DIR)


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _state_to_remove(settings: Settings, reset: bool) -> list[Path]:
    """The demo reconciles one run end to end, so it starts from nothing every time. What
    lies in the default data folder is its own; anything the user pointed it at elsewhere
    is removed only when they say so (a question, or --reset)."""
    present = [place for place in _state(settings) if place.exists()]
    theirs = [place for place in present if not _is_the_demos_own(place)]
    if theirs and not reset:
        listed = ", ".join(str(place) for place in theirs)
        if not _confirm(f"The demo starts from nothing and would remove {listed}. Remove?"):
            raise DemoRefused(
                f"not removing {listed}: the demo starts from an empty state; run it with "
                "--reset to remove them, or point SMARTCITY_DATA_DIR at an empty folder"
            )
    return present


def _remove(places: list[Path]) -> None:
    for place in places:
        if place.is_dir():
            shutil.rmtree(place)
        else:
            place.unlink(missing_ok=True)


class DemoRefused(RuntimeError):
    """The demo would have removed state the user had not agreed to lose."""


def run_demo(settings: Settings, options: DemoOptions) -> int:
    started = time.monotonic()
    preflight.require_writable(settings.data_dir, "SMARTCITY_DATA_DIR")
    preflight.require_writable(settings.cache_dir, "SMARTCITY_CACHE_DIR")
    stale = _state_to_remove(settings, options.reset)
    steps = Steps(total=6)

    steps.start("Kafka broker and Spark connector jars")
    for jar_set in (KAFKA_BROKER, SPARK_KAFKA):
        cached = cache_directory(jar_set, settings.cache_dir).is_dir()
        if not cached:
            say(
                f"  fetching {jar_set.name} jars once (cached in {_relative(settings.cache_dir)}) ..."
            )
        jars = ensure_jars(jar_set, settings.cache_dir)
        say(f"  {jar_set.name}: {len(jars)} jars, checksums verified")

    broker = LocalKafkaBroker(settings.kafka_dir, settings.cache_dir, port=settings.kafka_port)
    steps.start(f"Starting a single-node Kafka broker (KRaft) on {broker.bootstrap_servers}")
    for port in (broker.port, broker.controller_port):
        if port_is_open(broker.host, port):
            # Checked before the reset below, which would wipe a running broker's data.
            raise BrokerError(
                f"Port {port} is in use (is `smartcity kafka start` or another demo running?): "
                "stop it, or run the demo on another port with SMARTCITY_KAFKA_PORT."
            )
    _remove(stale)
    with broker:
        # The demo talks to the broker it started, whatever KAFKA_BOOTSTRAP_SERVERS says.
        settings = settings.with_overrides(bootstrap_servers=broker.bootstrap_servers)
        say(f"  broker log: {_relative(broker.log_file)}")
        steps.start("Creating one topic per source")
        for topic in pipeline.create_topics(settings):
            say(f"  {topic}")

        sim = options.simulation
        steps.start(
            f"Simulating {sim.events:,} city events from {sim.start_at:%Y-%m-%d %H:%M} UTC "
            f"(seed {sim.seed}) and producing them"
        )
        malformed = MalformedRecords(options.malformed_share, sim.seed)
        if options.malformed_share:
            say(
                f"  with malformed records beside them, {options.malformed_share:.1%} of the "
                "events, for the dead letters"
            )
        report = pipeline.produce_simulation(
            settings,
            sim,
            rate_per_s=options.rate_per_s,
            on_progress=lambda sent: say(f"  {sent:,} sent"),
            malformed=malformed,
        )
        if not report.ok:
            say(
                f"  delivery failed: {report.failed}, unflushed {report.unflushed}: {report.errors}"
            )
            return 1
        say(
            f"  {report.total_acknowledged:,} acknowledged in {report.seconds:.1f} s "
            f"({report.total_acknowledged / max(report.seconds, 1e-9):,.0f} events/s), "
            f"{malformed.sent.total():,} of them malformed"
        )

        steps.start("Landing Kafka -> raw Parquet with Spark Structured Streaming (availableNow)")
        totals = pipeline.land(
            settings,
            on_progress=lambda t: say(
                f"  {t['input_rows']:,} records read: {t['landed_rows']:,} landed, "
                f"{t['dead_lettered_rows']:,} dead-lettered ({t['batches']} batches)"
            ),
        )
        say(
            f"  {totals['input_rows']:,} records read in {totals['batches']} batches: "
            f"{totals['landed_rows']:,} landed, {totals['dead_lettered_rows']:,} dead-lettered"
        )

    steps.start("Building the dbt project on DuckDB (dbt build)")
    pipeline.run_dbt(settings, "build", on_line=_show_dbt_progress)

    landed = pipeline.landed_rows(settings)
    dead = pipeline.dead_lettered_rows(settings)
    span = pipeline.event_time_range(settings)
    staged = pipeline.staged_rows(settings)
    marts = pipeline.warehouse_rows(settings, pipeline.MARTS)
    say("\nSummary")
    say(f"  {'source':<20}{'produced':>10}{'landed':>10}{'dead letters':>14}{'staged':>10}")
    for contract in CONTRACTS:
        produced = report.acknowledged.get(settings.topic(contract.source), 0)
        say(
            f"  {contract.source:<20}{produced:>10,}{landed[contract.source]:>10,}"
            f"{dead[contract.source]:>14,}{staged[contract.source]:>10,}"
        )
    total_produced = report.total_acknowledged
    total_accounted = sum(landed.values()) + sum(dead.values())
    say(
        f"  {'total':<20}{total_produced:>10,}{sum(landed.values()):>10,}"
        f"{sum(dead.values()):>14,}{sum(staged.values()):>10,}"
    )
    for mart, rows in marts.items():
        say(f"  mart {mart}: {rows:,} rows")
    if span:
        _show_event_time(*span)
    _show_dead_letters(malformed.sent, pipeline.dead_letters_by_reason(settings))
    reconciled = total_produced == total_accounted
    say(
        "  reconciliation: produced = landed + dead-lettered "
        + ("holds" if reconciled else f"FAILS ({total_produced:,} != {total_accounted:,})")
    )
    say("\nWhere things are")
    say(
        f"  lake (raw Iceberg):  {_relative(settings.lake_uri)}/raw/<source>/"
        f"{RAW_TABLES[0].partition_glob()}/"
    )
    say(
        f"  Iceberg catalog:     {_relative(settings.lake_uri)}/iceberg_catalog.db (SQLite; "
        "pyiceberg, Trino and DuckDB read it)"
    )
    say(
        f"  dead letters:        {_relative(settings.lake_uri)}/{DEAD_LETTERS.folder}/"
        f"{DEAD_LETTERS.partition_glob()}/"
    )
    say(f"  DuckDB database:     {_relative(settings.duckdb_path)}")
    say("\nNext")
    say(
        "  make docs                                                 # dbt docs and lineage in a browser"
    )
    say(
        f"  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{_relative(settings.duckdb_path)}')"
        ".sql('from main_marts.fct_district_hourly_traffic limit 10'))\""
    )
    say(
        "  make dashboard                                            # the marts in a browser, :8501"
    )
    say("  make test                                                 # every test suite")
    say(f"\nDone in {time.monotonic() - started:.0f} s; the broker has been stopped.")
    return 0 if reconciled else 1
