"""`smartcity dbt`, `dbt-packages`, `dbt-sources` and `load-postgres`: the dbt side."""

from __future__ import annotations

import signal
import threading
from types import SimpleNamespace

import click

from smartcity import pipeline
from smartcity.cli.options import command
from smartcity.console import fail, say
from smartcity.settings import PROJECT_ROOT, Settings


def dbt(args: SimpleNamespace, settings: Settings) -> int:
    if args.every is not None and args.on_landing:
        fail("--every and --on-landing are two schedules: choose one.")
        return 2
    if args.every is None and not args.on_landing:
        pipeline.run_dbt(settings, *args.arguments, on_line=say)
        return 0
    from smartcity.dbt.schedule import run_every, run_on_landing

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    report = lambda run: say(run.line())  # noqa: E731
    if args.on_landing:
        run_on_landing(settings, args.arguments, report, stop)
    else:
        run_every(settings, args.every, args.arguments, report, stop)
    return 0


def dbt_packages(_: SimpleNamespace, __: Settings) -> int:
    from smartcity.dbt.packages import PackagesUnavailable, install_packages

    try:
        say(install_packages())
    except PackagesUnavailable as error:
        fail(str(error))
        return 1
    return 0


def dbt_sources(args: SimpleNamespace, _: Settings) -> int:
    from smartcity.dbt import sources as dbt_sources

    if args.write:
        for path in dbt_sources.write():
            say(f"wrote {path.relative_to(PROJECT_ROOT)}")
        return 0
    stale = dbt_sources.stale_files()
    for path in stale:
        say(f"out of date: {path.relative_to(PROJECT_ROOT)} (run `smartcity dbt-sources --write`)")
    return 1 if stale else 0


def load_postgres(_: SimpleNamespace, settings: Settings) -> int:
    from smartcity.dbt.postgres_loader import connect, load_lake

    loaded = load_lake(
        settings.lake_uri,
        lambda: connect(settings.postgres),
        schema=settings.raw_schema,
        on_table=lambda name, rows: say(f"{settings.raw_schema}.{name}: {rows:,} rows"),
        namespace=settings.iceberg_namespace,
    )
    say(f"loaded {sum(loaded.values()):,} rows into {len(loaded)} tables")
    return 0


COMMANDS = (
    command(
        "dbt",
        "run dbt on this project with the configured lake and database",
        "Run any dbt command (build, test, docs generate, docs serve, ...) with the profiles "
        "in profiles.yml and the lake and DuckDB paths of the environment, e.g. `smartcity "
        "dbt build --select marts`. With --every, run it on that cadence from one process "
        "until stopped (SIGTERM ends it after the run in progress, Ctrl-C at once), e.g. "
        "`smartcity dbt --every 20 run --select marts`; with --on-landing, run it at once "
        "and then whenever the lake's tables have new commits (the catalog is asked every "
        "second), e.g. `smartcity dbt --on-landing run --select marts`.",
        dbt,
        (
            click.Option(
                ["--every"],
                type=float,
                metavar="SECONDS",
                help="run dbt every SECONDS seconds in one process (dbt starts once), until "
                "stopped",
            ),
            click.Option(
                ["--on-landing"],
                is_flag=True,
                help="run dbt in one process whenever the lake's tables have new commits, until "
                "stopped",
            ),
            # Everything from the first word that is not one of the options above is dbt's.
            click.Argument(
                ["arguments"], nargs=-1, type=click.UNPROCESSED, metavar="[DBT_ARGUMENTS]..."
            ),
        ),
        context_settings={"allow_interspersed_args": False},
    ),
    command(
        "dbt-packages",
        "install the dbt packages of packages.yml (the hub, else the offline mirror)",
        "Run `dbt deps` for the versions pinned in package-lock.yml; where the dbt package "
        "hub cannot be reached, unpack the same versions from the offline mirror "
        "(../shared/dbt-packages, or SMARTCITY_DBT_PACKAGES_MIRROR) after checking the "
        "SHA-256 its README lists. The set-up runs this.",
        dbt_packages,
    ),
    command(
        "load-postgres",
        "copy the lake's raw and dead-letter tables into PostgreSQL for the postgres target",
        "Read every dbt source table from the lake (as the local target does) and replace its "
        "copy in the SMARTCITY_RAW_SCHEMA schema of the PostgreSQL server named by "
        "SMARTCITY_POSTGRES_*; then `smartcity dbt build --target postgres`.",
        load_postgres,
        needs_project=False,
    ),
    command(
        "dbt-sources",
        "check or write the dbt files generated from the contracts and the variables",
        "The dbt source definitions, the staging models' columns and tests are generated "
        "from foundation/lake_tables.py and the event contracts; the profiles' defaults "
        "from foundation/environment.py. Without --write, list the committed files that "
        "differ from what they would generate (exit 1 if any).",
        dbt_sources,
        (click.Option(["--write"], is_flag=True, help="write the generated files"),),
    ),
)
