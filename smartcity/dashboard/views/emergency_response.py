"""Emergency response: response times per incident type against the type's target."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from smartcity.dashboard import charts, formats
from smartcity.dashboard.ui import figures

# Response = reported to on scene. Incidents still waiting for a unit have no response
# time and no verdict, so they count as incidents but not in the averages or the share.
INCIDENTS_SQL = """
select
    incident_id,
    incident_type,
    incident_category,
    district_id,
    severity,
    incident_status,
    reported_at,
    response_seconds,
    target_response_minutes,
    met_response_target
from {fct_emergency_incidents}
order by reported_at, incident_id
"""


def _per_type(incidents: pd.DataFrame) -> pd.DataFrame:
    answered = incidents.assign(
        response_minutes=incidents["response_seconds"] / 60,
        met=incidents["met_response_target"].astype("float"),
    )
    return (
        answered.groupby("incident_type", as_index=False)
        .agg(
            incidents=("incident_id", "count"),
            responded=("response_seconds", "count"),
            median_response_minutes=("response_minutes", "median"),
            target_response_minutes=("target_response_minutes", "max"),
            within_target_pct=("met", "mean"),
        )
        .assign(within_target_pct=lambda frame: frame["within_target_pct"] * 100)
        .round({"median_response_minutes": 1, "within_target_pct": 1})
    )


def render() -> None:
    st.title("Emergency response against targets")
    st.caption(
        "Response time: from the report to the first unit on scene, against the target of "
        "the incident's type (seed incident_types). From fct_emergency_incidents."
    )
    incidents = figures(INCIDENTS_SQL)
    if incidents is None:
        return
    verdicts = incidents["met_response_target"].dropna().astype(bool)
    tiles = st.columns(4)
    tiles[0].metric("Incidents", formats.count(len(incidents)), border=True)
    tiles[1].metric(
        "Responded", formats.count(incidents["response_seconds"].notna().sum()), border=True
    )
    tiles[2].metric(
        "Average response (min)",
        formats.minutes(incidents["response_seconds"].mean()),
        border=True,
    )
    tiles[3].metric(
        "Within target (%)",
        formats.decimal(verdicts.mean() * 100 if len(verdicts) else None),
        border=True,
    )
    per_type = _per_type(incidents)
    st.altair_chart(
        charts.with_target(
            charts.bars(
                per_type,
                "incident_type:N",
                "median_response_minutes:Q",
                title="Median response per incident type; the tick is the target",
                y_title="minutes",
            ),
            per_type,
            "incident_type:N",
            "target_response_minutes:Q",
            y_title="minutes",
        ),
        width="stretch",
    )
    st.dataframe(per_type, hide_index=True)
    st.subheader("Incidents")
    st.dataframe(incidents, hide_index=True)
