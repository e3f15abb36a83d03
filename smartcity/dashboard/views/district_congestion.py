"""Congestion by district and hour: where and when traffic slows below free flow."""

from __future__ import annotations

import streamlit as st

from smartcity.dashboard import charts, formats
from smartcity.dashboard.ui import figures

TRAFFIC_SQL = """
select
    coalesce(d.district_name, t.district_id) as district,
    t.district_id,
    t.event_hour_at,
    t.vehicles_seen,
    t.gps_fixes,
    t.stationary_fixes,
    t.avg_speed_kmh,
    t.free_flow_speed_kmh,
    t.congestion_index
from {fct_district_hourly_traffic} as t
left join {dim_districts} as d on d.district_id = t.district_id
order by t.event_hour_at, district
"""


def render() -> None:
    st.title("Congestion by district and hour")
    st.caption(
        "Congestion index: 1 minus mean speed over the district's free-flow speed, "
        "floored at 0 (0 flows freely, 1 stands still). From fct_district_hourly_traffic."
    )
    traffic = figures(TRAFFIC_SQL)
    if traffic is None:
        return
    worst = traffic.loc[traffic["congestion_index"].idxmax()]
    tiles = st.columns(4)
    tiles[0].metric("District-hours", formats.count(len(traffic)), border=True)
    tiles[1].metric(
        "Mean congestion index", formats.decimal(traffic["congestion_index"].mean(), 2), border=True
    )
    tiles[2].metric(
        "Worst district-hour",
        formats.decimal(worst["congestion_index"], 2),
        border=True,
        help=f"{worst['district']} at {worst['event_hour_at']:%Y-%m-%d %H:00} UTC",
    )
    tiles[3].metric("Worst district", str(worst["district"]), border=True)
    st.altair_chart(
        charts.heatmap(
            traffic,
            "yearmonthdatehours(event_hour_at):O",
            "district:N",
            "congestion_index:Q",
            title="Congestion index per district and hour (UTC)",
        ),
        width="stretch",
    )
    per_district = (
        traffic.groupby("district", as_index=False)
        .agg(congestion_index=("congestion_index", "mean"), gps_fixes=("gps_fixes", "sum"))
        .round({"congestion_index": 3})
    )
    st.altair_chart(
        charts.bars(
            per_district, "district:N", "congestion_index:Q", title="Mean congestion per district"
        ),
        width="stretch",
    )
    st.dataframe(traffic.drop(columns=["district_id"]), hide_index=True)
