"""Weather per district and hour: temperature, rain, wind and air quality."""

from __future__ import annotations

import streamlit as st

from smartcity.dashboard import charts, formats
from smartcity.dashboard.ui import figures

WEATHER_SQL = """
select
    coalesce(d.district_name, w.district_id) as district,
    w.event_hour_at,
    w.readings,
    w.avg_temperature_c,
    w.min_temperature_c,
    w.max_temperature_c,
    w.precipitation_mm,
    w.max_wind_speed_kmh,
    w.avg_humidity_pct,
    w.min_visibility_m,
    w.max_air_quality_index
from {fct_district_hourly_weather} as w
left join {dim_districts} as d on d.district_id = w.district_id
order by w.event_hour_at, district
"""


def render() -> None:
    st.title("Weather per district and hour")
    weather = figures(WEATHER_SQL)
    if weather is None:
        return
    latest_hour = weather["event_hour_at"].max()
    latest = weather[weather["event_hour_at"] == latest_hour]
    st.caption(
        f"Tiles: the latest hour, {latest_hour:%Y-%m-%d %H:00} UTC, over all districts "
        "(temperature and rain: the mean of the districts)."
    )
    tiles = st.columns(4)
    tiles[0].metric(
        "Mean temperature (°C)", formats.decimal(latest["avg_temperature_c"].mean()), border=True
    )
    tiles[1].metric(
        "Precipitation (mm)", formats.decimal(latest["precipitation_mm"].mean()), border=True
    )
    tiles[2].metric(
        "Strongest wind (km/h)", formats.decimal(latest["max_wind_speed_kmh"].max()), border=True
    )
    tiles[3].metric(
        "Worst air quality index", formats.count(latest["max_air_quality_index"].max()), border=True
    )
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.line(
                weather,
                "event_hour_at:T",
                "avg_temperature_c:Q",
                color="district:N",
                title="Average temperature (°C)",
            ),
            width="stretch",
        )
    with right:
        st.altair_chart(
            charts.heatmap(
                weather,
                "yearmonthdatehours(event_hour_at):O",
                "district:N",
                "precipitation_mm:Q",
                title="Precipitation (mm) per district and hour (UTC)",
            ),
            width="stretch",
        )
    st.dataframe(weather, hide_index=True)
