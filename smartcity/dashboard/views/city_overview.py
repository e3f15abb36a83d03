"""City overview: the latest day's headline figures as tiles, and how they move."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import streamlit as st

from smartcity.dashboard import charts, formats
from smartcity.dashboard.ui import figures

KPIS_SQL = "select * from {fct_city_daily_kpis} order by kpi_date"

# Traffic of the latest day across all districts, hour by hour: the daily trend has a
# single point until the lake holds a second day.
HOURLY_SQL = """
select
    event_hour_at,
    sum(gps_fixes) as gps_fixes,
    sum(avg_speed_kmh * gps_fixes) / nullif(sum(gps_fixes), 0) as avg_speed_kmh
from {fct_district_hourly_traffic}
where cast(event_hour_at as date) = ?
group by event_hour_at
order by event_hour_at
"""


@dataclass(frozen=True)
class Tile:
    column: str
    label: str
    show: Callable[[object], str]
    # How Streamlit colours the delta: a rise is good news ("normal"), bad news
    # ("inverse"), or neither ("off", for the weather).
    delta_color: Literal["normal", "inverse", "off"] = "normal"


SECTIONS: dict[str, tuple[Tile, ...]] = {
    "Mobility": (
        Tile("vehicles_active", "Vehicles active", formats.count),
        Tile("gps_fixes", "GPS fixes", formats.count),
        Tile("avg_speed_kmh", "Speed (km/h)", formats.decimal),
        Tile("trips_started", "Trips started", formats.count),
        Tile("trip_distance_km", "Trip distance (km)", formats.decimal),
        Tile("camera_sightings", "Camera sightings", formats.count),
    ),
    "Emergency services": (
        Tile("incidents_reported", "Incidents reported", formats.count, "inverse"),
        Tile("incidents_resolved", "Incidents resolved", formats.count),
        Tile("avg_response_seconds", "Mean response (min)", formats.minutes, "inverse"),
        Tile("response_within_target_pct", "Responses within target (%)", formats.decimal),
    ),
    "Weather and data quality": (
        Tile("avg_temperature_c", "Mean temperature (°C)", formats.decimal, "off"),
        Tile("precipitation_mm", "Precipitation (mm)", formats.decimal, "off"),
        Tile("dead_letters", "Records refused", formats.count, "inverse"),
    ),
}


def _delta(tile: Tile, latest: pd.Series, previous: pd.Series | None) -> str | None:
    """The change since the previous day as the tile shows it; None when unknown."""
    if previous is None or pd.isna(latest[tile.column]) or pd.isna(previous[tile.column]):
        return None
    shown = tile.show(float(latest[tile.column]) - float(previous[tile.column]))
    # Streamlit reads a delta's direction from its leading minus sign; a change that
    # rounds to nothing gets no sign, and no arrow or colour.
    if shown.lstrip("-").strip("0.,") == "":
        return shown.lstrip("-")
    return shown if shown.startswith("-") else f"+{shown}"


def _changed(delta: str | None) -> bool:
    return delta is not None and delta[0] in "+-"


def _tiles(latest: pd.Series, previous: pd.Series | None) -> None:
    for section, tiles in SECTIONS.items():
        st.subheader(section)
        for column, tile in zip(st.columns(len(tiles)), tiles, strict=True):
            delta = _delta(tile, latest, previous)
            column.metric(
                tile.label,
                tile.show(latest[tile.column]),
                delta=delta,
                # No change is neither good nor bad news, whatever the measure.
                delta_color=tile.delta_color if _changed(delta) else "off",
                delta_arrow="auto" if _changed(delta) else "off",
                border=True,
            )


def _daily_trend(kpis: pd.DataFrame) -> None:
    tiles = {tile.label: tile.column for tiles in SECTIONS.values() for tile in tiles}
    label = st.selectbox("Daily trend of", list(tiles), index=1)
    column = tiles[label]
    chart = charts.line(kpis[["kpi_date", column]], "kpi_date:T", f"{column}:Q", title=label)
    st.altair_chart(chart, width="stretch")


def _default_day(kpis: pd.DataFrame) -> int:
    """The row of the latest day with traffic, else of the latest day.

    Dead letters are dated by the day they landed, the other figures by the day the
    events happened: after a late replay the newest day can hold refusals only.
    """
    with_traffic = kpis.index[kpis["gps_fixes"].fillna(0) > 0]
    return int(kpis.index.get_loc(with_traffic[-1])) if len(with_traffic) else len(kpis) - 1


def render() -> None:
    st.title("City overview")
    kpis = figures(KPIS_SQL)
    if kpis is None:
        return
    position = _default_day(kpis)
    days = [pd.Timestamp(value).date() for value in kpis["kpi_date"]]
    picker, note = st.columns([1, 3], vertical_alignment="bottom")
    day = picker.selectbox(
        "Day (UTC)", days, index=position, format_func=lambda value: f"{value:%a %d %b %Y}"
    )
    position = days.index(day)
    latest = kpis.iloc[position]
    previous = kpis.iloc[position - 1] if position > 0 else None
    note.caption(
        f"{len(kpis)} day(s) in fct_city_daily_kpis; deltas compare with the previous one. "
        "Refused records count on the day they landed, the rest on the day they happened."
    )
    _tiles(latest, previous)
    left, right = st.columns(2)
    with left:
        _daily_trend(kpis)
    with right:
        hourly = figures(
            HOURLY_SQL, (day,), empty=f"No traffic in fct_district_hourly_traffic on {day}."
        )
        if hourly is not None:
            chart = charts.line(
                hourly, "event_hour_at:T", "gps_fixes:Q", title=f"GPS fixes per hour, {day}"
            )
            st.altair_chart(chart, width="stretch")
