"""The Hyper extract on a small DuckDB warehouse made here: every type the marts use,
nulls, a view mart, read back with Tableau's Hyper API; the hyperd process it starts is
gone when it returns; and a warehouse it cannot extract leaves the old file alone. The
extract of a real build is checked in tests/e2e/test_bi_extract.py."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from tableauhyperapi import Connection, HyperProcess, Telemetry

from smartcity.bi.hyper_extract import SCHEMA, ExtractedTable, WarehouseMissing, write_extract
from smartcity.bi.marts import UnknownColumnType

ROWS = [
    ("d1", 1, 2**40, 12.5, date(2026, 5, 4), datetime(2026, 5, 4, 6, 55, 1, 123456), True),
    ("d2", None, None, None, None, None, None),
]


def hyperd_children() -> list[int]:
    """The hyperd processes this test process started and that still run."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            program = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:  # ended meanwhile
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if Path(program.decode()).name == "hyperd" and parent == os.getpid():
            found.append(int(entry.name))
    return found


def make_warehouse(path: Path, extra_column: str = "") -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema main_marts")
        connection.execute(
            "create table main_marts.every_type (name varchar, small integer, big bigint, "
            f"amount double, day date, moment timestamp, flag boolean{extra_column})"
        )
        for row in ROWS:
            values = row + ((None,) if extra_column else ())
            connection.execute(
                f"insert into main_marts.every_type values ({', '.join('?' * len(values))})",
                list(values),
            )
        connection.execute(
            "create view main_marts.named_only as select name from main_marts.every_type"
        )
        # Not a mart: the extract leaves other layers out.
        connection.execute("create schema main_staging")
        connection.execute("create table main_staging.stg_thing as select 1 as id")


def read_back(path: Path) -> dict[str, list[list[object]]]:
    """Every table of the extract, its rows in order; hyperd logs beside the file."""
    with (
        HyperProcess(
            Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_dir": str(path.parent)}
        ) as hyper,
        Connection(hyper.endpoint, str(path)) as connection,
    ):
        return {
            table.name.unescaped: connection.execute_list_query(f"select * from {table} order by 1")
            for table in connection.catalog.get_table_names(SCHEMA)
        }


def test_every_mart_is_a_table_of_the_extract_with_its_values(tmp_path: Path) -> None:
    make_warehouse(tmp_path / "city.duckdb")
    running: list[list[int]] = []

    def seen(_: ExtractedTable) -> None:
        running.append(hyperd_children())

    written = write_extract(tmp_path / "city.duckdb", tmp_path / "out" / "marts.hyper", seen)
    assert written == [ExtractedTable("every_type", 2), ExtractedTable("named_only", 2)]
    # hyperd ran while the tables were written, and was stopped before it returned.
    assert [len(pids) for pids in running] == [1, 1]
    assert hyperd_children() == []
    # Its log went to a temporary folder, not beside the extract nor the working directory.
    assert sorted(os.listdir(tmp_path / "out")) == ["marts.hyper"]
    assert not Path("hyperd.log").exists()

    tables = read_back(tmp_path / "out" / "marts.hyper")
    assert set(tables) == {"every_type", "named_only"}
    first, second = tables["every_type"]
    name, small, big, amount, day, moment, flag = first
    assert (name, small, big, amount, flag) == ("d1", 1, 2**40, 12.5, True)
    assert day.to_date() == date(2026, 5, 4)  # type: ignore[attr-defined]
    assert moment.to_datetime() == datetime(2026, 5, 4, 6, 55, 1, 123456)  # type: ignore[attr-defined]
    assert second == ["d2", None, None, None, None, None, None]
    assert tables["named_only"] == [["d1"], ["d2"]]


def test_a_column_it_cannot_type_names_itself_and_keeps_the_previous_extract(
    tmp_path: Path,
) -> None:
    make_warehouse(tmp_path / "city.duckdb", extra_column=", tags varchar[]")
    out = tmp_path / "marts.hyper"
    out.write_bytes(b"the previous extract")
    with pytest.raises(UnknownColumnType, match="column tags of every_type has the type"):
        write_extract(tmp_path / "city.duckdb", out)
    assert out.read_bytes() == b"the previous extract"
    assert sorted(os.listdir(tmp_path)) == ["city.duckdb", "marts.hyper"]
    assert hyperd_children() == []


def test_without_a_warehouse_it_says_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(WarehouseMissing, match="run `smartcity demo` or `dbt build` first"):
        write_extract(tmp_path / "missing.duckdb", tmp_path / "marts.hyper")
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with pytest.raises(WarehouseMissing, match="has no marts"):
        write_extract(tmp_path / "empty.duckdb", tmp_path / "marts.hyper")
