"""Where each mart lives: the marts schema dbt builds them in (smartcity.dbt.warehouse), each
checked to be there so that a missing one is named rather than failing the query."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import duckdb

from smartcity.dashboard.database import RERUN_HINT, DashboardDataError
from smartcity.dbt import warehouse


class MartMissing(DashboardDataError):
    def __init__(self, names: Iterable[str]) -> None:
        listed = ", ".join(f"`{name}`" for name in sorted(names))
        super().__init__(f"The database has no {listed} yet: {RERUN_HINT}.")
        self.names = tuple(sorted(names))


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def resolve(connection: duckdb.DuckDBPyConnection, names: Iterable[str]) -> Mapping[str, str]:
    """Each name mapped to its quoted ``schema.table``; MartMissing names the absent."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    schema = warehouse.layer_schema("marts")
    rows = connection.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name in "
        f"({', '.join('?' for _ in wanted)})",
        [schema, *wanted],
    ).fetchall()
    present = {table for (table,) in rows}
    missing = [name for name in wanted if name not in present]
    if missing:
        raise MartMissing(missing)
    return {name: f"{quote(schema)}.{quote(name)}" for name in wanted}
