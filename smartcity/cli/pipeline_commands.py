"""`smartcity demo`, `produce` and `land`: the pipeline's own steps."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import click

from foundation.contracts import CONTRACTS
from ingestion.simulators.malformed import MalformedRecords
from ingestion.simulators.world import SimulationOptions
from smartcity import pipeline
from smartcity.cli.options import command, variable_option
from smartcity.console import fail, say
from smartcity.demo_defaults import (
    DEMO_EVENTS,
    DEMO_GPS_EVERY_S,
    DEMO_MALFORMED_SHARE,
    demo_start,
)
from smartcity.settings import Settings
from streaming.defaults import AVAILABLE_NOW

PRODUCE_EVENTS = 10_000


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _seconds(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"{value} is not a whole number of seconds, 1 or more")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(
            f"{text} is not a share from 0 to below 1 (0.005 is one record in two hundred)"
        )
    return value


def simulation_options(
    events: int,
    gps_every_s: int,
    malformed_share: float,
    start_default: str,
    events_cover: str = "",
) -> tuple[click.Option, ...]:
    return (
        click.Option(
            ["--events"],
            default=events,
            type=int,
            help="number of valid events to simulate across all sources" + events_cover,
        ),
        click.Option(
            ["--rate"],
            default=0.0,
            type=float,
            help="events per second to send; 0 sends as fast as the broker acknowledges",
        ),
        click.Option(
            ["--seed"],
            default=SimulationOptions.seed,
            type=int,
            help="random seed; the same seed and start time give the same events",
        ),
        click.Option(
            ["--vehicles"],
            default=SimulationOptions.vehicles,
            type=int,
            help="vehicles in the fleet",
        ),
        click.Option(
            ["--start-at"],
            type=_utc,
            metavar="TIME",
            help=f"event time of the first event, ISO 8601, UTC (default: {start_default})",
        ),
        click.Option(
            ["--gps-every"],
            default=gps_every_s,
            type=_seconds,
            metavar="SECONDS",
            help="seconds between two GPS fixes of a driving vehicle, its telemetry every other "
            "fix; fewer reports cover more hours in the same number of events",
        ),
        click.Option(
            ["--malformed-share"],
            default=malformed_share,
            type=_share,
            metavar="SHARE",
            help="share of malformed records sent beside the valid events (each refused by the "
            "landing job into the dead letters, for one of several reasons); 0 sends none",
        ),
    )


def _simulation(args: SimpleNamespace, default_start: datetime) -> SimulationOptions:
    return SimulationOptions(
        events=args.events,
        seed=args.seed,
        vehicles=args.vehicles,
        start_at=args.start_at or default_start,
        gps_every_s=args.gps_every,
    )


def demo_simulation(args: SimpleNamespace, now: datetime) -> SimulationOptions:
    """The simulation `smartcity demo` runs when started at ``now`` with ``args``."""
    return _simulation(args, demo_start(now))


def demo(args: SimpleNamespace, settings: Settings) -> int:
    from smartcity.demo import DemoOptions, run_demo

    options = DemoOptions(
        demo_simulation(args, datetime.now(UTC)),
        args.rate,
        malformed_share=args.malformed_share,
        reset=args.reset,
    )
    return run_demo(settings, options)


def produce(args: SimpleNamespace, settings: Settings) -> int:
    pipeline.create_topics(settings)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    simulation = _simulation(args, hour)
    malformed = MalformedRecords(args.malformed_share, simulation.seed)
    report = pipeline.produce_simulation(
        settings, simulation, args.rate, lambda n: say(f"{n:,} sent"), malformed
    )
    for topic, count in sorted(report.acknowledged.items()):
        say(f"{topic}: {count:,} acknowledged")
    if malformed.sent:
        say(f"malformed records among them: {malformed.sent.total():,}")
    if not report.ok:
        fail(f"delivery failed: {dict(report.failed)} unflushed={report.unflushed} {report.errors}")
        return 1
    return 0


def land(args: SimpleNamespace, settings: Settings) -> int:
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
    command(
        "demo",
        "run the whole pipeline once on this machine: broker, producer, Spark, dbt",
        "Start a local Kafka broker, simulate and produce events, land them with Spark, build "
        "the dbt project on DuckDB, print a summary and stop the broker. Starts from an empty "
        "state each time: the broker's log, checkpoints, lake and database under the default "
        "data folder are reset; state anywhere else (SMARTCITY_DATA_DIR, SMARTCITY_LAKE_URI, "
        "...) is removed only after you confirm, or with --reset.",
        demo,
        (
            *simulation_options(
                DEMO_EVENTS,
                DEMO_GPS_EVERY_S,
                DEMO_MALFORMED_SHARE,
                "22:00 UTC of the latest night that is over, so that the default run crosses "
                "midnight",
                events_cover="; the default covers about six hours with the default fleet and "
                "GPS interval",
            ),
            click.Option(
                ["--reset"],
                is_flag=True,
                help="remove the existing lake, checkpoints and database without asking, "
                "wherever they are",
            ),
        ),
    ),
    command(
        "produce",
        "simulate city events and send them to Kafka",
        "Simulate city events and send them to a running broker, one topic per source.",
        produce,
        simulation_options(
            PRODUCE_EVENTS, SimulationOptions.gps_every_s, 0.0, "start of the current hour"
        ),
        needs_project=False,
    ),
    command(
        "land",
        "run the Spark job that lands Kafka topics as raw Parquet",
        "Kafka -> validated raw Parquet (and dead letters) in the lake. Checkpointed and "
        "idempotent per micro-batch: after a crash, run it again and it carries on without "
        "losing or repeating a row. SIGTERM or Ctrl-C stops it after the micro-batch in "
        "flight. Each micro-batch's counts (written before it is committed) and Spark's "
        "progress of it go to <data>/metrics/landing.jsonl.",
        land,
        (
            variable_option(
                "--trigger",
                variable="SMARTCITY_LANDING_TRIGGER",
                help=f"'{AVAILABLE_NOW}' drains the topics and stops; an interval such as "
                "'10 seconds' runs continuously, one micro-batch per interval, until stopped",
            ),
            click.Option(
                ["--source"],
                multiple=True,
                type=click.Choice([c.source for c in CONTRACTS]),
                help="land only this source (repeat for several; default: all five)",
            ),
            variable_option(
                "--max-offsets-per-trigger",
                variable="SMARTCITY_LANDING_MAX_OFFSETS",
                help="most Kafka records one micro-batch of one source takes",
            ),
        ),
        # The wheel holds the contracts and the jar locks: it lands without a checkout.
        needs_project=False,
    ),
)
