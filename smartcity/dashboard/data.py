"""The pages' way to the marts: ``queries.fetch`` behind Streamlit's cache.

Every widget change reruns a page script, and several readers may watch one page: a
short cache spares DuckDB the same queries while staying fresh enough to follow dbt's
runs. The database path is part of the key, so two databases never share results.
Errors are not cached by Streamlit, so a busy or missing database is asked again on the
next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from smartcity.dashboard import queries
from smartcity.settings import Settings

CACHE_TTL_S = 15


def database_path() -> Path:
    # Read per run, not at import: the launcher passes it in the environment.
    return Settings.from_env().duckdb_path


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _cached(database: str, sql: str, parameters: tuple[object, ...]) -> pd.DataFrame:
    return queries.fetch(Path(database), sql, parameters)


def load(sql: str, parameters: Sequence[object] = ()) -> pd.DataFrame:
    return _cached(str(database_path()), sql, tuple(parameters))
