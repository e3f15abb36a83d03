"""`smartcity demo`, `produce` and `land`: the pipeline's own steps."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from ingestion.contracts import CONTRACTS
from ingestion.simulators.world import SimulationOptions
from smartcity import pipeline
from smartcity.cli.options import Command, Option
from smartcity.console import fail, say
from smartcity.settings import Settings
from streaming.defaults import AVAILABLE_NOW, MAX_OFFSETS_PER_TRIGGER

DEMO_EVENTS = SimulationOptions.events
PRODUCE_EVENTS = 10_000


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def simulation_options(events: int) -> tuple[Option, ...]:
    return (
        Option(
            ("--events",),
            "number of events to simulate across all sources",
            default=events,
            type=int,
        ),
        Option(
            ("--rate",),
            "events per second to send; 0 sends as fast as the broker acknowledges",
            default=0.0,
            type=float,
        ),
        Option(
            ("--seed",),
            "random seed; the same seed and start time give the same events",
            default=SimulationOptions.seed,
            type=int,
        ),
        Option(
            ("--vehicles",), "vehicles in the fleet", default=SimulationOptions.vehicles, type=int
        ),
        Option(
            ("--start-at",),
            "event time of the first event, ISO 8601, UTC (default: start of the current hour)",
            type=_utc,
        ),
    )


def _simulation(args: argparse.Namespace) -> SimulationOptions:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return SimulationOptions(
        events=args.events, seed=args.seed, vehicles=args.vehicles, start_at=args.start_at or hour
    )


def demo(args: argparse.Namespace, settings: Settings) -> int:
    from smartcity.demo import DemoOptions, run_demo

    return run_demo(settings, DemoOptions(_simulation(args), args.rate, reset=args.reset))


def produce(args: argparse.Namespace, settings: Settings) -> int:
    pipeline.create_topics(settings)
    report = pipeline.produce_simulation(
        settings, _simulation(args), args.rate, lambda n: say(f"{n:,} sent")
    )
    for topic, count in sorted(report.acknowledged.items()):
        say(f"{topic}: {count:,} acknowledged")
    if not report.ok:
        fail(f"delivery failed: {dict(report.failed)} unflushed={report.unflushed} {report.errors}")
        return 1
    return 0


def land(args: argparse.Namespace, settings: Settings) -> int:
    totals = pipeline.land(
        settings,
        trigger=args.trigger,
        contracts=[c for c in CONTRACTS if not args.source or c.source in args.source],
        max_offsets_per_trigger=args.max_offsets_per_trigger,
        on_progress=lambda t: say(
            f"{t['input_rows']:,} read, {t['landed_rows']:,} landed, "
            f"{t['dead_lettered_rows']:,} dead-lettered"
        ),
    )
    say(
        f"this run: {totals['input_rows']:,} records in {totals['batches']} batches, "
        f"{totals['landed_rows']:,} landed, {totals['dead_lettered_rows']:,} dead-lettered"
    )
    return 0


COMMANDS = (
    Command(
        "demo",
        "run the whole pipeline once on this machine: broker, producer, Spark, dbt",
        "Start a local Kafka broker, simulate and produce events, land them with Spark, build "
        "the dbt project on DuckDB, print a summary and stop the broker. Starts from an empty "
        "state each time: the broker's log, checkpoints, lake and database under the default "
        "data folder are reset; state anywhere else (SMARTCITY_DATA_DIR, SMARTCITY_LAKE_URI, "
        "...) is removed only after you confirm, or with --reset.",
        demo,
        (
            *simulation_options(DEMO_EVENTS),
            Option(
                ("--reset",),
                "remove the existing lake, checkpoints and database without asking, "
                "wherever they are",
                action="store_true",
                default=False,
            ),
        ),
    ),
    Command(
        "produce",
        "simulate city events and send them to Kafka",
        "Simulate city events and send them to a running broker, one topic per source.",
        produce,
        simulation_options(PRODUCE_EVENTS),
        needs_project=False,
    ),
    Command(
        "land",
        "run the Spark job that lands Kafka topics as raw Parquet",
        "Kafka -> validated raw Parquet (and dead letters) in the lake. Checkpointed and "
        "idempotent per micro-batch: after a crash, run it again and it carries on without "
        "losing or repeating a row. SIGTERM or Ctrl-C stops it after the micro-batch in "
        "flight. Each micro-batch's counts (written before it is committed) and Spark's "
        "progress of it go to <data>/metrics/landing.jsonl.",
        land,
        (
            Option(
                ("--trigger",),
                f"'{AVAILABLE_NOW}' drains the topics and stops; an interval such as "
                "'10 seconds' runs continuously, one micro-batch per interval, until stopped",
                default=AVAILABLE_NOW,
                env="SMARTCITY_LANDING_TRIGGER",
            ),
            Option(
                ("--source",),
                "land only this source (repeat for several; default: all five)",
                action="append",
                choices=[c.source for c in CONTRACTS],
            ),
            Option(
                ("--max-offsets-per-trigger",),
                "most Kafka records one micro-batch of one source takes",
                default=MAX_OFFSETS_PER_TRIGGER,
                type=int,
                env="SMARTCITY_LANDING_MAX_OFFSETS",
            ),
        ),
    ),
)
