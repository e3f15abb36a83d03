"""`smartcity dashboard`: the local web app over the marts."""

from __future__ import annotations

from types import SimpleNamespace

import click

from smartcity.cli.options import command, variable_option
from smartcity.console import say
from smartcity.local_stack import ports
from smartcity.settings import Settings


def dashboard(args: SimpleNamespace, settings: Settings) -> int:
    try:
        from smartcity.dashboard.server import serve
    except ImportError as error:  # installed without the extra
        raise RuntimeError(
            f"the dashboard needs streamlit ({error.name} is missing): "
            "pip install 'smartcity[dashboard]', or run `make setup`"
        ) from None
    # Before the URL is announced: Streamlit, started after it, would say so too late.
    ports.check_free(
        args.host, args.port, "choose another with --port <port> (or SMARTCITY_DASHBOARD_PORT)"
    )
    say(f"Dashboard on http://{args.host}:{args.port}/city_overview (Ctrl-C stops it)")
    return serve(settings, args.port, host=args.host)


COMMANDS = (
    command(
        "dashboard",
        "serve the Streamlit dashboard over the marts in DuckDB",
        "One page per dbt exposure (city_overview, district_congestion, fleet_and_trips, "
        "emergency_response, district_weather, data_quality) over SMARTCITY_DUCKDB_PATH, read "
        "with a read-only connection per query so that dbt can build meanwhile. Ctrl-C stops "
        "it.",
        dashboard,
        (
            variable_option("--port", variable="SMARTCITY_DASHBOARD_PORT", help="port to serve on"),
            click.Option(["--host"], default="127.0.0.1", help="address to bind"),
        ),
        needs_project=False,
    ),
)
