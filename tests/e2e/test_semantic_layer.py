"""The semantic layer over the session's built lake: each saved query, run by MetricFlow
on DuckDB, equals the mart figures it stands for, and the dashboard's tiles show them.

The marts round their averages (2 decimals for a speed, 1 for a response time) and the
tiles round again for reading; a metric is exact. So counts must be equal, and a mean
or share within what the roundings can move it: half a unit of each rounding's last
decimal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from metricflow.engine.metricflow_engine import MetricFlowEngine

from smartcity.dashboard import formats, queries
from tests import semantic_layer
from tests.e2e.test_dashboard import run_view
from tests.test_dbt_layout import parse

# Each saved query's figures computed from the marts, in the saved query's column names.
MART_FIGURES = {
    "city_overview_daily": """
        select
            kpi_date as metric_time__day,
            vehicles_active, gps_fixes, avg_speed_kmh, trips_started, trip_distance_km,
            camera_sightings, incidents_reported, incidents_resolved, avg_response_seconds,
            response_within_target_pct, dead_letters
        from {fct_city_daily_kpis}
    """,
    "district_congestion": """
        select
            count(*) as district_hours,
            avg(congestion_index) as congestion_index,
            max(congestion_index) as worst_congestion_index
        from {fct_district_hourly_traffic}
    """,
    "congestion_by_district_hour": """
        select
            districts.district_name as district__district_name,
            traffic.event_hour_at as metric_time__hour,
            traffic.congestion_index
        from {fct_district_hourly_traffic} as traffic
        inner join {dim_districts} as districts on traffic.district_id = districts.district_id
    """,
    "fleet_and_trips": """
        select
            count(*) as trips_started,
            count(distinct vehicle_id) as vehicles_with_trips,
            sum(distance_km) as trip_distance_km,
            avg(distance_km) as avg_trip_distance_km,
            avg(duration_seconds) as avg_trip_duration_seconds
        from {fct_trips}
    """,
    "emergency_response": """
        select
            count(*) as incidents_reported,
            count(response_seconds) as responses,
            avg(response_seconds) as avg_response_seconds,
            100 * avg(case when met_response_target then 1.0 when not met_response_target
                then 0.0 end) as response_within_target_pct
        from {fct_emergency_incidents}
    """,
    "data_quality": """
        with gps as (
            select
                (select count(*) from {fct_dead_letters} where source_name = 'gps_fixes')
                    as refused,
                (select sum(gps_fixes) from {fct_city_daily_kpis}) as landed
        )
        select
            (select count(*) from {fct_dead_letters}) as dead_letters,
            refused / (refused + landed) as gps_dead_letter_rate
        from gps
    """,
}
# The rows' key columns, where a saved query has more than one row.
KEYS = {
    "city_overview_daily": ["metric_time__day"],
    "congestion_by_district_hour": ["district__district_name", "metric_time__hour"],
}
# Decimals a mart rounds a figure to (macros/round_double.sql); the rest are exact.
MART_DECIMALS = {
    "avg_speed_kmh": 2,
    "trip_distance_km": 3,
    "avg_response_seconds": 1,
    "response_within_target_pct": 1,
    "congestion_index": 3,
    "worst_congestion_index": 3,
}


def half_unit(decimals: int) -> float:
    return 0.5 * 10**-decimals


@pytest.fixture(scope="module")
def mf(landed_lake: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricFlowEngine]:
    """MetricFlow's engine over the session's DuckDB warehouse, with the semantic
    manifest of a `dbt parse` (its relations are the marts of any DuckDB file named
    smartcity.duckdb, as the lake's is)."""
    database = landed_lake["settings"].duckdb_path
    assert database.name == "smartcity.duckdb"
    target = tmp_path_factory.mktemp("semantic-parse")
    parse(target)
    manifest = semantic_layer.load_manifest(semantic_layer.semantic_manifest_json(target))
    with semantic_layer.duckdb_engine(manifest, database) as engine:
        yield engine


@pytest.fixture(scope="module")
def results(mf: MetricFlowEngine) -> dict[str, pd.DataFrame]:
    return {name: semantic_layer.saved_query(mf, name) for name in MART_FIGURES}


def day_of(value: object) -> date | None:
    """A day as a date; None for no day (pandas reads a null timestamp as NaT)."""
    if pd.isna(value):  # type: ignore[call-overload]
        return None
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def key_value(column: str, value: object) -> object:
    """A key as both sides can agree on it: a day as a date, an hour as a timestamp."""
    if column.endswith("__day"):
        return day_of(value)
    if column.endswith("__hour"):
        return pd.Timestamp(value)  # type: ignore[arg-type]
    return value


def keyed(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, dict[str, object]]:
    """Each row's figures under its key (one row, under (), where there is no key)."""
    rows = {}
    for record in frame.to_dict("records"):
        key = tuple(key_value(column, record[column]) for column in keys)
        rows[key] = {name: value for name, value in record.items() if name not in keys}
    return rows


def absent(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def disagreements(expected: dict[str, object], actual: dict[str, object], where: str) -> list[str]:
    found = []
    for column, mart in expected.items():
        metric = actual.get(column)
        if absent(mart) or absent(metric):
            if not (absent(mart) and absent(metric)):
                found.append(f"{where} {column}: mart {mart}, metric {metric}")
            continue
        allowed = half_unit(MART_DECIMALS[column]) if column in MART_DECIMALS else 0.0
        if abs(float(metric) - float(mart)) > allowed + 1e-9 * abs(float(mart)):  # type: ignore[arg-type]
            found.append(f"{where} {column}: mart {mart}, metric {metric}")
    return found


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(MART_FIGURES))
def test_each_saved_query_equals_the_marts_figures(
    name: str, results: dict[str, pd.DataFrame], landed_lake: dict
) -> None:
    database = landed_lake["settings"].duckdb_path
    expected_frame = queries.fetch(database, MART_FIGURES[name])
    actual_frame = results[name]
    assert set(actual_frame.columns) == set(expected_frame.columns)
    keys = KEYS.get(name, [])
    expected = keyed(expected_frame, keys)
    actual = keyed(actual_frame, keys)
    assert expected, f"the marts hold nothing for {name}: the lake has no data"
    if name == "city_overview_daily":
        # An incident whose report was refused has no report day: the mart leaves it
        # out of every day, MetricFlow counts it under no day.
        actual.pop((None,), None)
        # A day the mart holds for its weather alone has no metric of this query.
        for day in expected.keys() - actual.keys():
            actual[day] = {}
    assert actual.keys() == expected.keys()
    problems = [
        problem
        for key, figures in expected.items()
        for problem in disagreements(figures, actual[key], f"{name} {key}")
    ]
    assert problems == []


@dataclass(frozen=True)
class Tile:
    """A dashboard tile and the saved query figure it shows."""

    label: str
    saved_query: str
    metric: str
    kind: str  # "count", "decimal" or "minutes"
    digits: int = 1


def shown_figure(text: str) -> float:
    return float(text.replace(",", ""))


def tile_problem(tile: Tile, shown: str, value: object) -> str | None:
    if absent(value):
        return None if shown == formats.MISSING else f"{tile.label}: shows {shown}, metric none"
    if tile.kind == "count":
        expected = formats.count(value)
        return None if shown == expected else f"{tile.label}: shows {shown}, metric {expected}"
    exact = float(value) / 60 if tile.kind == "minutes" else float(value)  # type: ignore[arg-type]
    mart_rounding = half_unit(MART_DECIMALS.get(tile.metric, 12))
    if tile.kind == "minutes":
        mart_rounding /= 60
    allowed = half_unit(tile.digits) + mart_rounding + 1e-9
    off = abs(shown_figure(shown) - exact)
    return None if off <= allowed else f"{tile.label}: shows {shown}, metric {exact}"


TILES: dict[str, tuple[Tile, ...]] = {
    "city_overview": (
        Tile("Vehicles active", "city_overview_daily", "vehicles_active", "count"),
        Tile("GPS fixes", "city_overview_daily", "gps_fixes", "count"),
        Tile("Speed (km/h)", "city_overview_daily", "avg_speed_kmh", "decimal"),
        Tile("Trips started", "city_overview_daily", "trips_started", "count"),
        Tile("Trip distance (km)", "city_overview_daily", "trip_distance_km", "decimal"),
        Tile("Camera sightings", "city_overview_daily", "camera_sightings", "count"),
        Tile("Incidents reported", "city_overview_daily", "incidents_reported", "count"),
        Tile("Incidents resolved", "city_overview_daily", "incidents_resolved", "count"),
        Tile("Mean response (min)", "city_overview_daily", "avg_response_seconds", "minutes"),
        Tile(
            "Responses within target (%)",
            "city_overview_daily",
            "response_within_target_pct",
            "decimal",
        ),
        Tile("Records refused", "city_overview_daily", "dead_letters", "count"),
    ),
    "district_congestion": (
        Tile("District-hours", "district_congestion", "district_hours", "count"),
        Tile("Mean congestion index", "district_congestion", "congestion_index", "decimal", 2),
        Tile("Worst district-hour", "district_congestion", "worst_congestion_index", "decimal", 2),
    ),
    "fleet_and_trips": (
        Tile("Trips", "fleet_and_trips", "trips_started", "count"),
        Tile("Vehicles", "fleet_and_trips", "vehicles_with_trips", "count"),
        Tile("Distance (km)", "fleet_and_trips", "trip_distance_km", "decimal"),
        Tile("Average trip (km)", "fleet_and_trips", "avg_trip_distance_km", "decimal"),
        Tile("Average trip (min)", "fleet_and_trips", "avg_trip_duration_seconds", "minutes"),
    ),
    "emergency_response": (
        Tile("Incidents", "emergency_response", "incidents_reported", "count"),
        Tile("Responded", "emergency_response", "responses", "count"),
        Tile("Average response (min)", "emergency_response", "avg_response_seconds", "minutes"),
        Tile("Within target (%)", "emergency_response", "response_within_target_pct", "decimal"),
    ),
    "data_quality": (Tile("Records refused", "data_quality", "dead_letters", "count"),),
}


def figures_on_the_page(slug: str, results: dict[str, pd.DataFrame]) -> Callable[[Tile], object]:
    """Where each tile's figure is in the saved queries' results: the city overview opens
    on the latest day with GPS fixes (views/city_overview.py), the others show totals."""

    def figure(tile: Tile) -> object:
        frame = results[tile.saved_query]
        if slug == "city_overview":
            with_traffic = frame[frame["gps_fixes"] > 0].dropna(subset=["metric_time__day"])
            frame = with_traffic.sort_values("metric_time__day").tail(1)
        (value,) = frame[tile.metric].tolist()
        return value

    return figure


@pytest.mark.e2e
@pytest.mark.parametrize("slug", list(TILES))
def test_the_dashboards_tiles_show_the_saved_queries_figures(
    slug: str,
    results: dict[str, pd.DataFrame],
    landed_lake: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database: Path = landed_lake["settings"].duckdb_path
    app = run_view(slug, database, monkeypatch)
    assert not app.exception
    shown = {metric.label: metric.value for metric in app.metric}
    figure = figures_on_the_page(slug, results)
    problems = [
        problem
        for tile in TILES[slug]
        if (problem := tile_problem(tile, shown[tile.label], figure(tile))) is not None
    ]
    assert problems == []
