"""A Hyper extract of the local marts, written with Tableau's own Hyper API: one table per
mart in one .hyper file, which Tableau opens offline (docs/bi-tools.md).

The marts are read from the DuckDB warehouse the `local` target builds, as they are there
(its catalog gives the tables, columns and types), so the extract holds what the
dashboard shows. The Hyper API writes through a hyperd process of its own, started and
stopped here, with its log in a temporary folder rather than the working directory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from tableauhyperapi import (
    NULLABLE,
    Connection,
    CreateMode,
    HyperProcess,
    Inserter,
    SqlType,
    TableDefinition,
    TableName,
    Telemetry,
)

from smartcity.bi.marts import ValueKind, value_kind
from smartcity.dbt import warehouse

# Tableau's name for the schema of an extract's tables.
SCHEMA = "Extract"
# Rows fetched from DuckDB and handed to the inserter at a time.
BATCH_ROWS = 10_000
# Integers of every width as Hyper's 8-byte integer: no value can overflow it.
HYPER_TYPE = {
    ValueKind.STRING: SqlType.text,
    ValueKind.INTEGER: SqlType.big_int,
    ValueKind.REAL: SqlType.double,
    ValueKind.DATE: SqlType.date,
    ValueKind.DATETIME: SqlType.timestamp,
    ValueKind.BOOLEAN: SqlType.bool,
}


class WarehouseMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class ExtractedTable:
    name: str
    rows: int


def mart_columns(connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """Each mart of the warehouse (table or view) with its columns and DuckDB types."""
    rows = connection.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_catalog = current_database() "
        "order by table_name, ordinal_position",
        [warehouse.layer_schema("marts")],
    ).fetchall()
    marts: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        marts.setdefault(table, []).append((column, data_type))
    return marts


def write_extract(
    database: Path,
    out: Path,
    on_table: Callable[[ExtractedTable], None] = lambda _: None,
) -> list[ExtractedTable]:
    """Write every mart of the DuckDB ``database`` to the Hyper file ``out`` (replaced
    whole, and only once complete); what was written, table by table."""
    if not database.is_file():
        raise WarehouseMissing(
            f"no DuckDB warehouse at {database}: run `smartcity demo` or `dbt build` first, "
            "or point SMARTCITY_DUCKDB_PATH at the database file"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    with (
        warehouse.connect(database) as source,
        tempfile.TemporaryDirectory(prefix="smartcity-hyperd-") as logs,
    ):
        marts = mart_columns(source)
        if not marts:
            raise WarehouseMissing(
                f"the DuckDB warehouse at {database} has no marts: run `dbt build` first"
            )
        try:
            written = _write(source, marts, partial, Path(logs), on_table)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, out)
    return written


def _write(
    source: duckdb.DuckDBPyConnection,
    marts: dict[str, list[tuple[str, str]]],
    path: Path,
    logs: Path,
    on_table: Callable[[ExtractedTable], None],
) -> list[ExtractedTable]:
    written = []
    with (
        HyperProcess(
            telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
            parameters={"log_dir": str(logs)},
        ) as hyper,
        Connection(hyper.endpoint, str(path), CreateMode.CREATE_AND_REPLACE) as target,
    ):
        target.catalog.create_schema(SCHEMA)
        for name, columns in marts.items():
            table = ExtractedTable(name, _copy_mart(source, target, name, columns))
            on_table(table)
            written.append(table)
    return written


def _copy_mart(
    source: duckdb.DuckDBPyConnection,
    target: Connection,
    name: str,
    columns: list[tuple[str, str]],
) -> int:
    definition = TableDefinition(
        TableName(SCHEMA, name),
        [
            TableDefinition.Column(
                column,
                HYPER_TYPE[value_kind(data_type, f"column {column} of {name}")](),
                NULLABLE,
            )
            for column, data_type in columns
        ],
    )
    target.catalog.create_table(definition)
    names = ", ".join(f'"{column}"' for column, _ in columns)
    cursor = source.execute(f'select {names} from "{warehouse.layer_schema("marts")}"."{name}"')
    rows = 0
    with Inserter(target, definition) as inserter:
        while batch := cursor.fetchmany(BATCH_ROWS):
            inserter.add_rows(batch)
            rows += len(batch)
        inserter.execute()
    return rows
