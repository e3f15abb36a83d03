"""Where each mart lives, found by name in the database's catalogue.

dbt builds each layer in a schema of its own (``main_marts``, ``main_reference``, ...,
named by macros/generate_schema_name.sql after the target's schema). Looking each
relation up by name, preferring a schema that ends in ``marts``, keeps the dashboard
working whatever the target's schema is, without a setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import duckdb

from smartcity.dashboard.database import RERUN_HINT, DashboardDataError


class MartMissing(DashboardDataError):
    def __init__(self, names: Iterable[str]) -> None:
        listed = ", ".join(f"`{name}`" for name in sorted(names))
        super().__init__(f"The database has no {listed} yet: {RERUN_HINT}.")
        self.names = tuple(sorted(names))


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _preference(schema: str) -> tuple[int, str]:
    # Should a mart exist twice (a half-done move between schemas), the one in a marts
    # schema is the one dbt builds now; otherwise the choice is merely stable.
    return (0 if schema.endswith("marts") else 1, schema)


def resolve(connection: duckdb.DuckDBPyConnection, names: Iterable[str]) -> Mapping[str, str]:
    """Each name mapped to its quoted ``schema.table``; MartMissing names the absent."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = connection.execute(
        "select table_name, table_schema from information_schema.tables "
        "where table_catalog = current_database() and table_name in "
        f"({', '.join('?' for _ in wanted)})",
        wanted,
    ).fetchall()
    schemas: dict[str, list[str]] = {}
    for table, schema in rows:
        schemas.setdefault(table, []).append(schema)
    missing = [name for name in wanted if name not in schemas]
    if missing:
        raise MartMissing(missing)
    return {name: f"{quote(min(schemas[name], key=_preference))}.{quote(name)}" for name in wanted}
