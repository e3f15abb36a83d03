"""The pages, one per dbt exposure, under the URL paths the exposures link to.

The slugs are a contract: dbt's exposures point at ``http://127.0.0.1:<port>/<slug>``,
so renaming one breaks a link in the lineage graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from smartcity.dashboard.views import (
    city_overview,
    data_quality,
    district_congestion,
    district_weather,
    emergency_response,
    fleet_and_trips,
    home,
)


@dataclass(frozen=True)
class View:
    slug: str
    title: str
    icon: str
    summary: str
    render: Callable[[], None]


VIEWS: tuple[View, ...] = (
    View(
        "city_overview",
        "City overview",
        ":material/location_city:",
        "The latest day's city KPIs as tiles, and their trend.",
        city_overview.render,
    ),
    View(
        "district_congestion",
        "Congestion by district",
        ":material/traffic:",
        "Congestion index per district and hour.",
        district_congestion.render,
    ),
    View(
        "fleet_and_trips",
        "Fleet and trips",
        ":material/directions_car:",
        "Trips, distances and speeds per vehicle and vehicle type; camera sightings.",
        fleet_and_trips.render,
    ),
    View(
        "emergency_response",
        "Emergency response",
        ":material/emergency:",
        "Response times per incident type against their targets.",
        emergency_response.render,
    ),
    View(
        "district_weather",
        "Weather by district",
        ":material/partly_cloudy_day:",
        "Temperature, rain, wind and air quality per district and hour.",
        district_weather.render,
    ),
    View(
        "data_quality",
        "Landing data quality",
        ":material/rule:",
        "Records refused by the landing job, per source, reason and day.",
        data_quality.render,
    ),
)

HOME_SLUG = "home"


def pages() -> list[StreamlitPage]:
    """The navigation's pages: a home page at ``/``, then one page per view."""
    return [
        st.Page(
            home.render, title="Home", icon=":material/home:", url_path=HOME_SLUG, default=True
        ),
        *(
            st.Page(view.render, title=view.title, icon=view.icon, url_path=view.slug)
            for view in VIEWS
        ),
    ]
