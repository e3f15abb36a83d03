"""The local DuckDB warehouse as the CLI, the bench and the tests read it.

dbt builds each layer in a schema of its own (macros/generate_schema_name.sql):
``main_marts``, ``main_staging`` and so on, with ``main`` the `local` target's schema.
A connection opened here searches those schemas, so a model is named as dbt names it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from smartcity.dbt.duckdb_lake import load_iceberg

# The `local` target's schema in profiles.yml (DuckDB's default schema).
TARGET_SCHEMA = "main"
# In the order a bare name is looked up; a model's name is unique across them.
LAYERS = ("marts", "staging", "intermediate", "reference", "snapshots")


def layer_schema(layer: str, target_schema: str = TARGET_SCHEMA) -> str:
    """The schema dbt builds ``layer`` in, for a target whose schema is ``target_schema``."""
    return f"{target_schema}_{layer}"


def connect(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the database at ``path`` with every layer's schema on the search path, and
    the iceberg extension loaded, which the views over the lake's tables need."""
    connection = duckdb.connect(str(path), read_only=read_only)
    load_iceberg(connection)
    wanted = [layer_schema(layer) for layer in LAYERS]
    # DuckDB refuses a search path naming a schema that does not exist yet (nothing
    # built in that layer), so only the present ones are searched.
    present = {
        name
        for (name,) in connection.execute(
            "select schema_name from information_schema.schemata "
            "where catalog_name = current_database()"
        ).fetchall()
    }
    path_schemas = [name for name in wanted if name in present] + [TARGET_SCHEMA]
    connection.execute(f"set search_path = '{','.join(path_schemas)}'")
    return connection
