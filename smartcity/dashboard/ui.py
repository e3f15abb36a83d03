"""What a page shows instead of figures it cannot have: a message, never a traceback.

A missing database or one that dbt keeps locked defeats every query of the page, so the
page stops after saying so once. A missing or empty mart only costs the section that
reads it, so the page goes on with the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from smartcity.dashboard import data, queries
from smartcity.dashboard.database import RERUN_HINT, DatabaseBusy, DatabaseMissing
from smartcity.dashboard.relations import MartMissing


def figures(
    sql: str, parameters: Sequence[object] = (), empty: str | None = None
) -> pd.DataFrame | None:
    """The query's rows, or None after telling the reader why there are none.

    ``empty`` replaces the default message for no rows, for marts where none is news.
    """
    try:
        frame = data.load(sql, parameters)
    except DatabaseBusy as busy:
        st.warning(str(busy), icon=":material/hourglass_top:")
        st.stop()
    except DatabaseMissing as missing:
        st.info(str(missing), icon=":material/database:")
        st.stop()
    except MartMissing as missing:
        st.info(str(missing), icon=":material/table:")
        return None
    if frame.empty:
        marts = ", ".join(f"`{name}`" for name in queries.placeholders(sql))
        st.info(empty or f"{marts} has no rows yet: {RERUN_HINT}.", icon=":material/table:")
        return None
    return frame
