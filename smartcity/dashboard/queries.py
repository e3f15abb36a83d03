"""One query against the marts: open, resolve the marts' names, read, close.

Queries name the marts as ``{fct_trips}`` placeholders; the relation each stands for is
looked up in the same short-lived connection that runs the query.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from smartcity.dashboard import relations
from smartcity.dashboard.database import LOCK_TIMEOUT_S, read_only


def placeholders(sql: str) -> tuple[str, ...]:
    """The mart names a query's ``{name}`` placeholders refer to."""
    return tuple(sorted({field for _, field, _, _ in string.Formatter().parse(sql) if field}))


def fetch(
    database: Path,
    sql: str,
    parameters: Sequence[object] = (),
    timeout_s: float = LOCK_TIMEOUT_S,
) -> pd.DataFrame:
    """The result of ``sql`` as a DataFrame, its ``{mart}`` placeholders resolved."""
    with read_only(database, timeout_s) as connection:
        names = relations.resolve(connection, placeholders(sql))
        return connection.execute(sql.format_map(names), list(parameters)).df()
