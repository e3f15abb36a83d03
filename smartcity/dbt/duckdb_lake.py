"""DuckDB over the lake's Iceberg tables: a view per table, at its current snapshot.

DuckDB cannot open Iceberg's JDBC catalog, but it reads a table from its metadata file
(``iceberg_scan``) once its iceberg extension is loaded. The extension is loaded from its
wheel (``duckdb-extension-iceberg``, with ``duckdb-extension-avro`` for the manifests),
so nothing is downloaded at run time. pyiceberg finds each table's current metadata file
in the lake's catalog (the SQLite file, or Glue), and :func:`create_lake_views` makes a
view per table over it. A table that has not been landed yet, or a lake without a catalog
at all, is an empty view with the table's declared columns: nothing is created in the
lake by reading it.

dbt's DuckDB target makes the views each time it opens its database
(``smartcity/dbt/lake_plugin.py``), so one dbt command reads one snapshot of each table.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import duckdb
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

from foundation.lake_tables import ENGINE_TYPES, LAKE_TABLES, Column, LakeTable
from streaming.iceberg_catalogs import LOCAL_CATALOG_FILE, is_local, lake_catalog, local_path

# The avro extension first: the iceberg extension reads Iceberg's Avro manifests with it.
EXTENSION_PACKAGES = ("duckdb_extension_avro", "duckdb_extension_iceberg")


class LakeReadError(RuntimeError):
    """DuckDB cannot read the lake as asked."""


def extension_file(package: str) -> Path:
    """The extension a wheel ships for the running DuckDB version."""
    spec = importlib.util.find_spec(package)
    name = package.removeprefix("duckdb_extension_")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
        if path.exists():
            return path
    raise LakeReadError(
        f"DuckDB {duckdb.__version__} has no {name} extension installed: the package "
        f"{package.replace('_', '-')}=={duckdb.__version__} provides it (make setup installs "
        "the pinned set)."
    )


def load_iceberg(connection: duckdb.DuckDBPyConnection) -> None:
    for package in EXTENSION_PACKAGES:
        connection.load_extension(str(extension_file(package)))


@dataclass(frozen=True)
class TableState:
    """Where a lake table's current metadata is, and the columns its schema has."""

    metadata_location: str
    columns: frozenset[str]


def current_tables(lake_uri: str, namespace: str) -> dict[str, TableState | None]:
    """Each lake table's current state; None for a table not created yet."""
    found: dict[str, TableState | None] = {table.name: None for table in LAKE_TABLES}
    if is_local(lake_uri) and not (local_path(lake_uri) / LOCAL_CATALOG_FILE).exists():
        return found  # nothing landed: no catalog to open, and none to create
    catalog = lake_catalog(lake_uri)
    for table in LAKE_TABLES:
        try:
            loaded = catalog.load_table((namespace, table.name))
        except (NoSuchTableError, NoSuchNamespaceError):
            continue
        columns = frozenset(field.name for field in loaded.schema().fields)
        found[table.name] = TableState(loaded.metadata_location, columns)
    return found


def _null_of(column: Column) -> str:
    return f"cast(null as {ENGINE_TYPES[column.type].duckdb}) as {column.name}"


def _select(table: LakeTable, state: TableState | None) -> str:
    """The declared columns in order, from the table's current snapshot. A column the
    table does not have yet (a contract's new field, before the landing job has started
    with it and added the column) reads as null, as Iceberg reads it for older rows."""
    if state is None:
        typed = ", ".join(_null_of(c) for c in table.all_columns)
        return f"select {typed} limit 0"
    columns = ", ".join(
        c.name if c.name in state.columns else _null_of(c) for c in table.all_columns
    )
    return f"select {columns} from {_scan(table, state.metadata_location)}"


def _scan(table: LakeTable, location: str) -> str:
    if not location.startswith("file:"):
        raise LakeReadError(
            f"{table.name}: DuckDB reads the local lake only; {location} is on an object "
            "store. Use the athena or redshift target for a lake on S3."
        )
    quoted = location.replace("'", "''")
    return f"iceberg_scan('{quoted}')"


def create_lake_views(
    connection: duckdb.DuckDBPyConnection, lake_uri: str, namespace: str, schema: str
) -> None:
    """A view ``schema.<table>`` per lake table, with its declared columns in order."""
    load_iceberg(connection)
    tables = current_tables(lake_uri, namespace)
    connection.execute(f'create schema if not exists "{schema}"')
    for table in LAKE_TABLES:
        connection.execute(
            f'create or replace view "{schema}"."{table.name}" as '
            f"{_select(table, tables[table.name])}"
        )
