"""Landing data quality: the records the landing job refused, per source, reason and day."""

from __future__ import annotations

import streamlit as st

from smartcity.dashboard import charts, formats
from smartcity.dashboard.database import RERUN_HINT
from smartcity.dashboard.ui import figures

PER_DAY_SQL = """
select dead_lettered_on, source_name, reason_code, count(*) as refused
from {fct_dead_letters}
group by dead_lettered_on, source_name, reason_code
order by dead_lettered_on, source_name, reason_code
"""

LATEST_SQL = """
select dead_lettered_at, source_name, reason_code, reason_message, kafka_topic,
       kafka_partition, kafka_offset
from {fct_dead_letters}
order by dead_lettered_at desc, kafka_topic, kafka_partition, kafka_offset desc
limit 200
"""

# No refused record is the good outcome after a run, not only the sign of none yet.
NONE_REFUSED = (
    "`fct_dead_letters` has no rows: the landing job refused no record, or nothing has "
    f"landed yet ({RERUN_HINT})."
)


def render() -> None:
    st.title("Landing data quality")
    st.caption(
        "Records the landing job refused into the dead letters instead of the lake, with "
        "the reason code of the check that failed. From fct_dead_letters."
    )
    refused = figures(PER_DAY_SQL, empty=NONE_REFUSED)
    if refused is None:
        return
    tiles = st.columns(4)
    tiles[0].metric("Records refused", formats.count(refused["refused"].sum()), border=True)
    tiles[1].metric("Sources", formats.count(refused["source_name"].nunique()), border=True)
    tiles[2].metric("Reasons", formats.count(refused["reason_code"].nunique()), border=True)
    tiles[3].metric("Days", formats.count(refused["dead_lettered_on"].nunique()), border=True)
    per_reason = refused.groupby(["source_name", "reason_code"], as_index=False)["refused"].sum()
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.bars(
                per_reason,
                "reason_code:N",
                "refused:Q",
                color="source_name:N",
                title="Refused records per reason and source",
            ),
            width="stretch",
        )
    with right:
        per_day = refused.groupby(["dead_lettered_on", "source_name"], as_index=False)[
            "refused"
        ].sum()
        st.altair_chart(
            charts.bars(
                per_day,
                "dead_lettered_on:T",
                "refused:Q",
                color="source_name:N",
                title="Refused records per day and source",
            ),
            width="stretch",
        )
    st.dataframe(refused, hide_index=True)
    st.subheader("Latest refused records")
    latest = figures(LATEST_SQL, empty=NONE_REFUSED)
    if latest is not None:
        st.dataframe(latest, hide_index=True)
