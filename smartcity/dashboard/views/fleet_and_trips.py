"""Fleet and trips: trips, distances and speeds per vehicle and vehicle type."""

from __future__ import annotations

import streamlit as st

from smartcity.dashboard import charts, formats
from smartcity.dashboard.ui import figures

TRIPS_SQL = """
select
    t.trip_id,
    t.vehicle_id,
    v.vehicle_make,
    v.vehicle_model,
    v.vehicle_class,
    v.fuel_type,
    t.started_at,
    t.ended_at,
    t.duration_seconds,
    t.distance_km,
    t.avg_speed_kmh,
    t.max_speed_kmh
from {fct_trips} as t
left join {dim_vehicles} as v on v.vehicle_id = t.vehicle_id
order by t.started_at, t.trip_id
"""

SIGHTINGS_SQL = """
select district_id, direction, count(*) as sightings
from {fct_camera_sightings}
group by district_id, direction
order by district_id, direction
"""


def _trips() -> None:
    trips = figures(TRIPS_SQL)
    if trips is None:
        return
    tiles = st.columns(5)
    tiles[0].metric("Trips", formats.count(len(trips)), border=True)
    tiles[1].metric("Vehicles", formats.count(trips["vehicle_id"].nunique()), border=True)
    tiles[2].metric("Distance (km)", formats.decimal(trips["distance_km"].sum()), border=True)
    tiles[3].metric("Average trip (km)", formats.decimal(trips["distance_km"].mean()), border=True)
    tiles[4].metric(
        "Average trip (min)", formats.minutes(trips["duration_seconds"].mean()), border=True
    )
    by_type = trips.fillna({"vehicle_class": "unknown", "fuel_type": "unknown"})
    by_type = by_type.groupby(["vehicle_class", "fuel_type"], as_index=False).agg(
        trips=("trip_id", "count"), distance_km=("distance_km", "sum")
    )
    per_vehicle = (
        trips.groupby(["vehicle_id", "vehicle_make", "vehicle_model"], as_index=False, dropna=False)
        .agg(
            trips=("trip_id", "count"),
            distance_km=("distance_km", "sum"),
            avg_speed_kmh=("avg_speed_kmh", "mean"),
        )
        .round({"distance_km": 2, "avg_speed_kmh": 1})
    )
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.bars(
                by_type,
                "vehicle_class:N",
                "distance_km:Q",
                color="fuel_type:N",
                title="Distance per vehicle class and fuel (km)",
            ),
            width="stretch",
        )
    with right:
        st.altair_chart(
            charts.bars(per_vehicle, "vehicle_id:N", "distance_km:Q", title="Distance per vehicle"),
            width="stretch",
        )
    st.subheader("Trips")
    st.dataframe(trips, hide_index=True)


def _sightings() -> None:
    st.subheader("Camera sightings")
    sightings = figures(SIGHTINGS_SQL)
    if sightings is None:
        return
    st.altair_chart(
        charts.bars(
            sightings,
            "district_id:N",
            "sightings:Q",
            color="direction:N",
            title="Sightings per district and direction",
        ),
        width="stretch",
    )


def render() -> None:
    st.title("Fleet and trips")
    st.caption("From fct_trips with dim_vehicles; camera sightings from fct_camera_sightings.")
    _trips()
    _sightings()
