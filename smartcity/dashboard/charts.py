"""The few chart shapes the pages use, drawn with Altair (which Streamlit ships with).

Points are drawn on every line: a lake a few hours old has one day or one hour, and a
line through a single point would show nothing at all.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# Vega sizes a chart to its marks unless told: a layered chart would come out squat.
HEIGHT = 300


def line(
    frame: pd.DataFrame, x: str, y: str, color: str | None = None, title: str = ""
) -> alt.Chart:
    chart = alt.Chart(frame, title=title, height=HEIGHT).mark_line(point=True)
    encoding: dict[str, object] = {"x": alt.X(x), "y": alt.Y(y), "tooltip": list(frame.columns)}
    if color is not None:
        encoding["color"] = alt.Color(color)
    return chart.encode(**encoding)


def bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    color: str | None = None,
    title: str = "",
    y_title: str | None = None,
) -> alt.Chart:
    chart = alt.Chart(frame, title=title, height=HEIGHT).mark_bar()
    encoding: dict[str, object] = {
        # Slanted labels: district names and reason codes are too long to lie flat.
        "x": alt.X(x, axis=alt.Axis(labelAngle=-30)),
        "y": alt.Y(y) if y_title is None else alt.Y(y, title=y_title),
        "tooltip": list(frame.columns),
    }
    if color is not None:
        encoding["color"] = alt.Color(color)
    return chart.encode(**encoding)


def heatmap(frame: pd.DataFrame, x: str, y: str, value: str, title: str = "") -> alt.Chart:
    return (
        alt.Chart(frame, title=title, height=HEIGHT)
        .mark_rect()
        .encode(
            x=alt.X(x),
            y=alt.Y(y),
            color=alt.Color(value, scale=alt.Scale(scheme="orangered")),
            tooltip=list(frame.columns),
        )
    )


def with_target(
    chart: alt.Chart, frame: pd.DataFrame, x: str, target: str, y_title: str
) -> alt.LayerChart:
    """A bar chart with each bar's target drawn across it as a tick.

    Both layers take the same axis title, ``y_title``: Vega would otherwise join the two
    field names into one title longer than the chart is high. A layer's height is its own.
    """
    ticks = (
        alt.Chart(frame, height=HEIGHT)
        .mark_tick(color="black", thickness=3, size=40)
        .encode(
            x=alt.X(x, axis=alt.Axis(labelAngle=-30)),
            y=alt.Y(target, title=y_title),
            tooltip=list(frame.columns),
        )
    )
    return alt.layer(chart, ticks).properties(height=HEIGHT)
