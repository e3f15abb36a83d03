"""Copy the lake's raw and dead-letter tables into PostgreSQL, for the second engine.

The tables and their PostgreSQL types come from foundation/lake_tables.py, and the rows are
read through DuckDB exactly as the `local` target reads them; each load replaces the
schema's tables whole, so a load can be repeated.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import psycopg2
from psycopg2 import sql
from psycopg2.extras import execute_values

from foundation.lake_tables import ENGINE_TYPES, LAKE_TABLES, LakeTable
from smartcity.dbt.duckdb_lake import create_lake_views
from smartcity.settings import PostgresSettings

BATCH_ROWS = 5_000
# The reader's schema of views over the lake's tables (in its own in-memory database).
LAKE_VIEWS = "lake"


class PostgresUnreachable(RuntimeError):
    """The PostgreSQL server named by the settings does not answer."""


def connect(settings: PostgresSettings) -> psycopg2.extensions.connection:
    try:
        return psycopg2.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password,
            dbname=settings.database,
            connect_timeout=10,
        )
    except psycopg2.OperationalError as error:
        raise PostgresUnreachable(
            f"PostgreSQL is not reachable at {settings.host}:{settings.port} as "
            f"{settings.user}/{settings.database}: set SMARTCITY_POSTGRES_HOST, _PORT, _USER, "
            f"_PASSWORD and _DATABASE. ({str(error).strip()})"
        ) from error


def load_lake(
    lake_uri: str,
    connect: Callable[[], psycopg2.extensions.connection],
    schema: str = "smartcity_raw",
    on_table: Callable[[str, int], None] | None = None,
    namespace: str | None = None,
) -> dict[str, int]:
    """Load every lake table, each at its current snapshot (read by DuckDB, as the
    DuckDB target reads them; ``namespace`` is the tables' catalog namespace, by default
    ``schema``); return rows loaded per table."""
    loaded: dict[str, int] = {}
    reader = duckdb.connect()
    connection = connect()
    try:
        create_lake_views(reader, lake_uri, namespace or schema, LAKE_VIEWS)
        with connection, connection.cursor() as cursor:
            cursor.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            for table in LAKE_TABLES:
                loaded[table.name] = _load_table(cursor, reader, table, schema)
                if on_table:
                    on_table(table.name, loaded[table.name])
    finally:
        connection.close()
        reader.close()
    return loaded


def _load_table(cursor, reader: duckdb.DuckDBPyConnection, table: LakeTable, schema: str) -> int:
    target = sql.Identifier(schema, table.name)
    names = table.column_names()
    definitions = sql.SQL(", ").join(
        sql.SQL("{} {}").format(
            sql.Identifier(column.name), sql.SQL(ENGINE_TYPES[column.type].postgres)
        )
        for column in table.all_columns
    )
    # cascade: the views dbt built on the last load go too; the next build remakes them.
    cursor.execute(sql.SQL("drop table if exists {} cascade").format(target))
    cursor.execute(sql.SQL("create table {} ({})").format(target, definitions))
    insert = (
        sql.SQL("insert into {} ({}) values %s")
        .format(target, sql.SQL(", ").join(map(sql.Identifier, names)))
        .as_string(cursor)
    )
    selected = ", ".join(f'"{name}"' for name in names)
    result = reader.execute(f"select {selected} from {LAKE_VIEWS}.{table.name}")
    count = 0
    while rows := result.fetchmany(BATCH_ROWS):
        execute_values(cursor, insert, rows, page_size=BATCH_ROWS)
        count += len(rows)
    return count
