"""The `smartcity` command: one sub-command per job, each with --help."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import KafkaException

from ingestion.contracts import CONTRACTS, ContractViolation
from ingestion.simulators.world import SimulationOptions
from ingestion.topics import KafkaUnavailable
from smartcity import pipeline
from smartcity.console import fail, say
from smartcity.settings import ENVIRONMENT, PROJECT_ROOT, Settings


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _default_start() -> datetime:
    now = datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0)


def _add_simulation_options(parser: argparse.ArgumentParser, default_events: int) -> None:
    parser.add_argument(
        "--events",
        type=int,
        default=default_events,
        help=f"number of events to simulate across all sources (default {default_events:,})",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="events per second to send; 0 sends as fast as the broker acknowledges (default 0)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=42,
        help="random seed; the same seed and start time give the same events (default 42)",
    )
    parser.add_argument(
        "--vehicles", type=int, default=25, help="vehicles in the fleet (default 25)"
    )
    parser.add_argument(
        "--start-at",
        type=_utc,
        default=None,
        help="event time of the first event, ISO 8601, UTC (default: start of the current hour)",
    )


def _simulation(args: argparse.Namespace) -> SimulationOptions:
    return SimulationOptions(
        events=args.events,
        seed=args.seed,
        vehicles=args.vehicles,
        start_at=args.start_at or _default_start(),
    )


def build_parser() -> argparse.ArgumentParser:
    environment = "\n".join(f"  {name:<26}{text}" for name, text in ENVIRONMENT.items())
    parser = argparse.ArgumentParser(
        prog="smartcity",
        description="Smart City data platform: simulate, produce, land and model city sensor events.",
        epilog=f"Environment variables (all optional):\n{environment}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline once on this machine: broker, producer, Spark, dbt",
        description=(
            "Start a local Kafka broker, simulate and produce events, land them with Spark, "
            "build the dbt project on DuckDB, print a summary and stop the broker. Starts from "
            "an empty state each time (the broker's log, checkpoints, lake and database are reset)."
        ),
    )
    _add_simulation_options(demo, default_events=20_000)

    produce = commands.add_parser(
        "produce",
        help="simulate city events and send them to Kafka",
        description="Simulate city events and send them to a running broker, one topic per source.",
    )
    _add_simulation_options(produce, default_events=10_000)

    land = commands.add_parser(
        "land",
        help="run the Spark job that lands Kafka topics as raw Parquet",
        description=(
            "Kafka -> validated raw Parquet (and dead letters) in the lake. Checkpointed and "
            "idempotent per micro-batch: after a crash, run it again and it carries on "
            "without losing or repeating a row. SIGTERM or Ctrl-C stops it after the "
            "micro-batch in flight. Each micro-batch's counts (written before it is "
            "committed) and Spark's progress of it go to <data>/metrics/landing.jsonl."
        ),
    )
    land.add_argument(
        "--trigger",
        default="availableNow",
        help="'availableNow' drains the topics and stops (default); an interval such as "
        "'10 seconds' runs continuously, one micro-batch per interval, until stopped",
    )
    land.add_argument(
        "--source",
        action="append",
        choices=[c.source for c in CONTRACTS],
        help="land only this source (repeat for several; default: all five)",
    )
    land.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=500_000,
        help="most Kafka records one micro-batch of one source takes (default 500,000)",
    )

    catalog = commands.add_parser(
        "catalog",
        help="register the lake's datasets as tables in the AWS Glue Data Catalog",
        description=(
            "Create or update, idempotently, one Glue table per raw dataset and the "
            "dead-letter table of the s3:// lake in SMARTCITY_LAKE_URI, in the database "
            "SMARTCITY_GLUE_DATABASE, with Athena partition projection, and add the "
            "partitions present in the lake that Glue does not list yet (Redshift Spectrum "
            "reads only those): run it after landing, or on a schedule. Credentials, region "
            "and endpoint come from the standard AWS configuration (AWS_PROFILE, AWS_REGION, "
            "AWS_ENDPOINT_URL, ...)."
        ),
    )
    catalog.add_argument("action", choices=["register"], help="register or update the tables")
    catalog.add_argument(
        "--no-projection",
        action="store_true",
        help="turn Athena partition projection off: Athena then reads the registered "
        "partitions only, as Spectrum does",
    )

    compact = commands.add_parser(
        "compact",
        help="rewrite closed hours of the raw lake into one file per partition",
        description=(
            "Report files per partition and rows per file, then compact every closed hour "
            "(ended more than --grace-minutes ago) that has more than one file into one "
            "file, swapping the partition atomically. Safe to run beside the landing job."
        ),
    )
    compact.add_argument(
        "--grace-minutes",
        type=int,
        default=60,
        help="how long after its end an hour counts as closed (default 60)",
    )
    compact.add_argument(
        "--dry-run", action="store_true", help="only report files per partition and rows per file"
    )

    kafka = commands.add_parser(
        "kafka",
        help="run the local single-node Kafka broker in the foreground",
        description="Run a single-node KRaft broker on 127.0.0.1 until Ctrl-C.",
    )
    kafka.add_argument("action", choices=["start"], help="start the broker and keep it running")

    jars = commands.add_parser(
        "jars",
        help="fetch and verify the Kafka broker and Spark connector jars",
        description="Fetch the jars once with Maven into the cache and verify their SHA-256.",
    )
    jars.add_argument(
        "--with-s3",
        action="store_true",
        help="also the S3A connector and AWS SDK (about 700 MB), needed for an s3:// lake; "
        "fetched on first use otherwise",
    )
    jars.add_argument(
        "--update-lock",
        action="store_true",
        help="for maintainers: rewrite infra/jars/*/jars.sha256 after changing a version",
    )

    trino = commands.add_parser(
        "trino",
        help="fetch and verify the Trino server that the tests of the `trino` dbt target run",
        description=(
            "Fetch the Trino server tarball (about 820 MB) once with Maven into the cache, "
            "verify its SHA-256, unpack it, and find a Java 24+ runtime for it. When either "
            "cannot be had, say why and record it in <cache>/trino/UNAVAILABLE: the Trino "
            "tests then skip with that reason, until a later fetch succeeds."
        ),
    )
    trino.add_argument("action", choices=["fetch"], help="fetch, verify and unpack the server")
    trino.add_argument(
        "--update-lock",
        action="store_true",
        help="for maintainers: rewrite infra/jars/trino-server/jars.sha256 after changing a version",
    )

    dbt = commands.add_parser(
        "dbt",
        help="run dbt on this project with the configured lake and database",
        description=(
            "Run any dbt command (build, test, docs generate, docs serve, ...) with the "
            "profiles in profiles.yml and the lake and DuckDB paths of the environment, "
            "e.g. `smartcity dbt build --select marts`. With --every, run it on that "
            "cadence from one process until stopped (SIGTERM ends it after the run in "
            "progress, Ctrl-C at once), e.g. `smartcity dbt --every 20 run --select marts`."
        ),
    )
    dbt.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="run dbt every SECONDS seconds in one process (dbt starts once), until stopped",
    )
    dbt.add_argument("arguments", nargs=argparse.REMAINDER, help="arguments passed to dbt")

    commands.add_parser(
        "dbt-packages",
        help="install the dbt packages of packages.yml (the hub, else the offline mirror)",
        description=(
            "Run `dbt deps` for the versions pinned in package-lock.yml; where the dbt "
            "package hub cannot be reached, unpack the same versions from the offline mirror "
            "(../shared/dbt-packages, or SMARTCITY_DBT_PACKAGES_MIRROR) after checking the "
            "SHA-256 its README lists. The set-up runs this."
        ),
    )

    commands.add_parser(
        "load-postgres",
        help="copy the lake's raw and dead-letter tables into PostgreSQL for the postgres target",
        description=(
            "Read every dbt source table from the lake (as the local target does) and "
            "replace its copy in the SMARTCITY_RAW_SCHEMA schema of the PostgreSQL server "
            "named by SMARTCITY_POSTGRES_*; then `smartcity dbt build --target postgres`."
        ),
    )

    dbt_sources = commands.add_parser(
        "dbt-sources",
        help="check or write the dbt sources and staging tests generated from the contracts",
        description=(
            "The dbt source definitions and the staging models' columns and tests are "
            "generated from ingestion/schema.py and the event contracts. Without --write, "
            "list the committed files that differ from what they would generate (exit 1 "
            "if any)."
        ),
    )
    dbt_sources.add_argument("--write", action="store_true", help="write the generated files")
    return parser


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "demo":
        from smartcity.demo import DemoOptions, run_demo

        return run_demo(settings, DemoOptions(_simulation(args), rate_per_s=args.rate))
    if args.command == "produce":
        pipeline.create_topics(settings)
        report = pipeline.produce_simulation(
            settings, _simulation(args), args.rate, lambda n: say(f"{n:,} sent")
        )
        for topic, count in sorted(report.acknowledged.items()):
            say(f"{topic}: {count:,} acknowledged")
        if not report.ok:
            fail(
                f"delivery failed: {dict(report.failed)} unflushed={report.unflushed} {report.errors}"
            )
            return 1
        return 0
    if args.command == "land":
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
    if args.command == "catalog":
        from smartcity.aws import glue_client, s3_client
        from streaming.catalog import register

        report = register(
            glue_client(),
            settings.glue_database,
            settings.lake_uri,
            projection=not args.no_projection,
            s3_client=s3_client(settings),
        )
        say(
            f"Glue database {settings.glue_database}: {len(report.created)} tables created, "
            f"{len(report.updated)} updated, {report.partitions_added} partitions added"
        )
        return 0
    if args.command == "compact":
        from streaming.compaction import CompactionError, compact, partitions

        sources = [c.source for c in CONTRACTS]
        if settings.lake_on_s3:
            raise CompactionError(
                f"compaction works on a local lake; {settings.lake_uri} is on an object "
                "store, which cannot swap a partition atomically"
            )

        def report(title: str) -> None:
            say(title)
            for partition in partitions(Path(settings.lake_uri), sources):
                rows = partition.rows_per_file
                say(
                    f"  {partition.label:<55} {len(rows):>5} files  "
                    f"{min(rows, default=0):>9,} - {max(rows, default=0):,} rows per file"
                )

        report("Before:" if not args.dry_run else "Files per partition:")
        if args.dry_run:
            return 0
        results = compact(
            settings.lake_uri,
            Path(settings.checkpoint_uri),
            sources,
            grace=timedelta(minutes=args.grace_minutes),
        )
        for result in results:
            say(
                f"compacted {result.partition}: {result.files_before} files -> 1 ({result.rows:,} rows)"
            )
        report("After:")
        return 0
    if args.command == "kafka":
        from smartcity.kafka_broker import LocalKafkaBroker

        broker = LocalKafkaBroker(settings.kafka_dir, settings.cache_dir, port=settings.kafka_port)
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # sigtimedwait needs them blocked
        broker.start()
        say(
            f"Kafka is running on {broker.bootstrap_servers} (log: {broker.log_file}); Ctrl-C stops it."
        )
        try:
            while broker.running:
                if signal.sigtimedwait(stop_signals, 1.0) is not None:
                    return 0
            fail(f"The Kafka broker exited on its own; see {broker.log_file}.")
            return 1
        finally:
            broker.stop()
    if args.command == "jars":
        from smartcity.jars import KAFKA_BROKER, SPARK_KAFKA, SPARK_S3, ensure_jars

        for jar_set in (KAFKA_BROKER, SPARK_KAFKA, *([SPARK_S3] if args.with_s3 else [])):
            found = ensure_jars(jar_set, settings.cache_dir, update_lock=args.update_lock)
            say(f"{jar_set.name}: {len(found)} jars verified")
        return 0
    if args.command == "trino":
        from smartcity.local_trino import fetch_trino

        home, java = fetch_trino(settings.cache_dir, update_lock=args.update_lock)
        say(f"Trino server verified in {home}; it runs on {java}")
        return 0
    if args.command == "dbt" and args.every is not None:
        from smartcity.dbt_schedule import run_every

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        run_every(settings, args.every, args.arguments, lambda run: say(run.line()), stop)
        return 0
    if args.command == "dbt":
        pipeline.run_dbt(settings, *args.arguments, on_line=say)
        return 0
    if args.command == "dbt-packages":
        from smartcity.dbt_packages import PackagesUnavailable, install_packages

        try:
            say(install_packages())
        except PackagesUnavailable as error:
            fail(str(error))
            return 1
        return 0
    if args.command == "load-postgres":
        from smartcity.postgres_loader import connect, load_lake

        loaded = load_lake(
            settings.lake_uri,
            lambda: connect(settings.postgres),
            schema=settings.raw_schema,
            on_table=lambda name, rows: say(f"{settings.raw_schema}.{name}: {rows:,} rows"),
        )
        say(f"loaded {sum(loaded.values()):,} rows into {len(loaded)} tables")
        return 0
    if args.command == "dbt-sources":
        from smartcity import dbt_sources

        if args.write:
            for path in dbt_sources.write():
                say(f"wrote {path.relative_to(PROJECT_ROOT)}")
            return 0
        stale = dbt_sources.stale_files()
        for path in stale:
            say(
                f"out of date: {path.relative_to(PROJECT_ROOT)} (run `smartcity dbt-sources --write`)"
            )
        return 1 if stale else 0
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        return _run(args, settings)
    except KafkaUnavailable as error:
        fail(str(error))
        return 2
    except (KafkaException, ContractViolation) as error:
        fail(str(error))
        return 1
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    except RuntimeError as error:
        fail(str(error))
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
