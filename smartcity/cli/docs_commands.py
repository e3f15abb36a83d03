"""`smartcity docs`: the dbt docs and the column-level lineage, served together."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import click

from smartcity import pipeline
from smartcity.cli.options import command
from smartcity.console import say
from smartcity.dbt import docs_site, lineage_report
from smartcity.settings import PROJECT_ROOT, Settings

PORT = 8080
ANOTHER_PORT = "choose another with PORT=<port> (make docs) or --port <port> (smartcity docs)"


def _report_on(report: lineage_report.LineageReport) -> None:
    if report.models_with_columns == 0:
        say(
            "note: the catalog lists no model's columns, so the column lineage is empty: "
            "build the models first (`make demo`, or `smartcity dbt build`)"
        )
    if report.problems:
        say(
            f"note: colibri could not follow {len(report.problems)} model(s) or column(s), "
            f"left without lineage; the first: {report.problems[0]}"
        )


def _generate_dbt_docs(settings: Settings, target: Path) -> None:
    """`dbt docs generate`, on SQL compiled as for a full refresh: an incremental model's
    SQL is then its whole definition, not the next run's delta (which, once the models
    hold data, reads the lake's raw tables by landing time and hides the lineage), so
    the docs and the lineage are the same whatever the database holds."""
    where = ("--target-path", str(target))
    pipeline.run_dbt(settings, "compile", "--full-refresh", *where, on_line=say)
    # Without compiling again: the manifest keeps the SQL compiled above.
    pipeline.run_dbt(settings, "docs", "generate", "--no-compile", *where, on_line=say)


def docs(args: SimpleNamespace, settings: Settings) -> int:
    target = PROJECT_ROOT / args.target_path  # as dbt reads a relative --target-path
    # Claimed before generating (some seconds), so that a taken port is said at once.
    server = None if args.no_serve else docs_site.bind(target, args.host, args.port, ANOTHER_PORT)
    try:
        _generate_dbt_docs(settings, target)
        report = lineage_report.write(target, target / docs_site.LINEAGE)
        _report_on(report)
        say(f"column lineage written to {report.page}")
        if server is None:
            return 0
        docs_url, lineage_url = docs_site.urls(args.host, args.port)
        say(f"dbt docs on {docs_url} and column lineage on {lineage_url} (Ctrl-C stops them)")
        server.serve_forever()
    finally:
        if server is not None:
            server.server_close()
    return 0


COMMANDS = (
    command(
        "docs",
        "generate the dbt docs and the column-level lineage, and serve them",
        "Run `dbt docs generate` (on the DuckDB database of the environment, built by "
        "`make demo` or `smartcity dbt build`; incremental models compiled as for a full "
        "refresh, so the docs do not depend on what the database holds), write the "
        "column-level lineage report "
        "(dbt-colibri) into its lineage/ folder, and serve the target folder: the dbt docs "
        "at / and the lineage at /lineage/. A taken port fails at once, before generating.",
        docs,
        (
            click.Option(["--port"], default=PORT, type=int, help="port to serve on"),
            click.Option(["--host"], default="127.0.0.1", help="address to bind"),
            click.Option(
                ["--target-path"],
                default="target",
                type=click.Path(path_type=Path),
                help="dbt's target folder to generate into and serve, relative to the project",
            ),
            click.Option(
                ["--no-serve"],
                is_flag=True,
                help="generate only, e.g. to publish the target folder as a static site",
            ),
        ),
    ),
)
