"""`smartcity bi`: the files BI tools open (docs/bi-tools.md)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import click

from smartcity.cli.options import command
from smartcity.console import say
from smartcity.settings import PROJECT_ROOT, Settings

TABLEAU = "tableau"
HYPER = "hyper"


def default_out(what: str, settings: Settings) -> Path:
    folder = settings.data_dir / "bi"
    return folder / "tableau" if what == TABLEAU else folder / "smartcity_marts.hyper"


def tableau(out: Path, manifest: Path) -> int:
    from smartcity.bi.athena_endpoint import AthenaEndpoint
    from smartcity.bi.marts import load_manifest, read_marts
    from smartcity.bi.tableau_datasource import write_datasources

    endpoint = AthenaEndpoint.from_env(os.environ)
    marts = read_marts(load_manifest(manifest))
    for path in write_datasources(marts, endpoint, out):
        say(f"wrote {path}")
    say(
        f"Athena {endpoint.server}, workgroup {endpoint.work_group}, database "
        f"{endpoint.schema}: copy athena.properties to My Tableau Repository/Datasources, "
        "then open a .tds"
    )
    return 0


def hyper(out: Path, settings: Settings) -> int:
    try:
        from smartcity.bi.hyper_extract import write_extract
    except ImportError as error:  # installed without the extra
        raise RuntimeError(
            f"the Hyper extract needs Tableau's Hyper API ({error.name} is missing): "
            "pip install 'smartcity[bi]', or run `make setup`"
        ) from None
    tables = write_extract(
        settings.duckdb_path,
        out,
        on_table=lambda table: say(f"{table.name}: {table.rows:,} rows"),
    )
    say(f"wrote {out} ({len(tables)} marts from {settings.duckdb_path})")
    return 0


def bi(args: SimpleNamespace, settings: Settings) -> int:
    out = Path(args.out) if args.out else default_out(args.what, settings)
    if args.what == TABLEAU:
        return tableau(out, Path(args.manifest))
    return hyper(out, settings)


COMMANDS = (
    command(
        "bi",
        "write the files Tableau opens: data sources on Athena, or a Hyper extract",
        "`smartcity bi tableau` writes a Tableau data source (.tds) per mart, on Athena "
        "through the athena target's settings (AWS_REGION, SMARTCITY_ATHENA_STAGING_DIR, "
        "_WORK_GROUP, _SCHEMA), with the columns, types and descriptions of dbt's manifest, "
        "and the driver's athena.properties naming the workgroup. `smartcity bi hyper` "
        "writes every mart of the DuckDB warehouse into one Hyper extract for offline use. "
        "See docs/bi-tools.md, also for Looker Studio.",
        bi,
        (
            click.Argument(["what"], type=click.Choice([TABLEAU, HYPER])),
            click.Option(
                ["--out"],
                metavar="PATH",
                help="where: a folder for tableau (default <data>/bi/tableau), a file for hyper "
                "(default <data>/bi/smartcity_marts.hyper)",
            ),
            click.Option(
                ["--manifest"],
                default=str(PROJECT_ROOT / "target" / "manifest.json"),
                metavar="PATH",
                help="dbt's manifest.json that tableau reads the marts from",
            ),
        ),
    ),
)
