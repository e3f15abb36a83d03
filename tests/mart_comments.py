"""The descriptions persist_docs wrote into a DuckDB warehouse's marts, as the tests of
every engine compare them."""

from __future__ import annotations

from pathlib import Path

from smartcity.dbt import warehouse


def mart_comments(
    database: Path, with_views: bool = True
) -> tuple[dict[str, str | None], dict[tuple[str, str], str | None]]:
    """Each mart's comment by name, and each of their columns' by (mart, column); the
    views among the marts left out when ``with_views`` is false."""
    views = (
        "union all select view_name, comment from duckdb_views() where schema_name = 'main_marts'"
        if with_views
        else ""
    )
    with warehouse.connect(database) as connection:
        relations = dict(
            connection.execute(
                "select table_name, comment from duckdb_tables() "
                f"where schema_name = 'main_marts' {views}"
            ).fetchall()
        )
        columns = {
            (relation, column): comment
            for relation, column, comment in connection.execute(
                "select table_name, column_name, comment from duckdb_columns() "
                "where schema_name = 'main_marts'"
            ).fetchall()
            if relation in relations
        }
    return relations, columns
