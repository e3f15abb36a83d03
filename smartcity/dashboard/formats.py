"""How figures read on the tiles: one place, so the tests can hold the pages to it."""

from __future__ import annotations

import math

MISSING = "n/a"


def _absent(value: object) -> bool:
    # NULL arrives from DuckDB through pandas as None, NaN or pd.NA.
    if value is None:
        return True
    try:
        return bool(math.isnan(float(value)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def count(value: object) -> str:
    """A whole number with thousands separators: ``12,794``."""
    return MISSING if _absent(value) else f"{round(float(value)):,}"  # type: ignore[arg-type]


def decimal(value: object, digits: int = 1) -> str:
    """A measure rounded for reading: ``32.4``."""
    return MISSING if _absent(value) else f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def minutes(seconds: object) -> str:
    """A duration in seconds, read in minutes: ``7.3``."""
    return MISSING if _absent(seconds) else decimal(float(seconds) / 60)  # type: ignore[arg-type]
