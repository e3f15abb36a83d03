"""Smoke tests of the local Trino server: the hive catalog over a partitioned Parquet
folder written by another engine, what EXPLAIN (TYPE IO) says about partitions, and
the iceberg catalog's writes."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from smartcity.local_stack.trino_server import TrinoUnavailable, fetch_trino, find_java
from tests.local_trino import LocalTrino

SCHEMA = "local_trino_smoke"

# (event_id, event_at, payload, note): two dates, a few hours, one hour with two rows.
# Payloads are arbitrary bytes, most of them not UTF-8, as dead letters keep them.
ROWS = [
    ("e1", datetime(2026, 1, 2, 21, 5, 0, 125000), b"\xff\xfe\x00abc", "plain"),
    ("e2", datetime(2026, 1, 2, 23, 59, 59, 999000), b"", "ünïcödé ✓"),
    ("e3", datetime(2026, 1, 3, 0, 0, 0), b"\xc3\x28", ""),
    ("e4", datetime(2026, 1, 3, 20, 30, 0, 500000), b"\x80" * 300, "quote ' and \\"),
    ("e5", datetime(2026, 1, 3, 20, 45, 0), b'{"ok": true}', "json"),
    # Microseconds 400 short of the next hour: read at millisecond precision it rounds
    # up into an hour its partition does not hold.
    ("e6", datetime(2026, 1, 3, 22, 59, 59, 999600), b"\x00", "edge"),
]


def _partition(event_at: datetime) -> tuple[date, int]:
    return event_at.date(), event_at.hour


@pytest.fixture(scope="module")
def gps_fixes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROWS as Hive-partitioned Parquet written by DuckDB, as Spark lays out the lake:
    event_date=.../event_hour=.../*.parquet, the partition columns only in the paths."""
    folder = tmp_path_factory.mktemp("lake") / "gps_fixes"
    connection = duckdb.connect()
    connection.execute(
        "create table fixes (event_id varchar, event_at timestamp, payload blob, note varchar, "
        "event_date date, event_hour integer)"
    )
    connection.executemany(
        "insert into fixes values (?, ?, ?, ?, ?, ?)",
        [(*row, *_partition(row[1])) for row in ROWS],
    )
    connection.execute(
        f"copy fixes to '{folder}' (format parquet, partition_by (event_date, event_hour))"
    )
    return folder


@pytest.fixture(scope="module")
def hive_table(trino_server: LocalTrino, gps_fixes: Path) -> str:
    table = f"hive.{SCHEMA}.gps_fixes"
    trino_server.execute(f"create schema if not exists hive.{SCHEMA}")
    trino_server.execute(
        f"""create table {table} (
            event_id varchar, event_at timestamp, payload varbinary, note varchar,
            event_date date, event_hour integer
        ) with (
            format = 'PARQUET',
            external_location = '{trino_server.location(gps_fixes)}',
            partitioned_by = ARRAY['event_date', 'event_hour']
        )"""
    )
    # An external table starts with no partitions; this registers the folders found.
    trino_server.execute(
        f"call hive.system.sync_partition_metadata('{SCHEMA}', 'gps_fixes', 'FULL')"
    )
    return table


@pytest.mark.trino
def test_server_listens_on_loopback_with_both_catalogs(trino_server: LocalTrino) -> None:
    assert trino_server.url.startswith("http://127.0.0.1:")
    catalogs = {row[0] for row in trino_server.execute("show catalogs")}
    assert {"hive", "iceberg"} <= catalogs


@pytest.mark.trino
def test_hive_external_table_reads_every_column_of_every_row(
    trino_server: LocalTrino, hive_table: str
) -> None:
    assert trino_server.execute(f"select count(*) from {hive_table}") == [[len(ROWS)]]
    partitions = trino_server.execute(f'select count(*) from hive.{SCHEMA}."gps_fixes$partitions"')
    assert partitions == [[len({_partition(row[1]) for row in ROWS})]]

    # Hive tables read timestamps at millisecond precision by default (as Athena does);
    # the session property reads the lake's microseconds exactly.
    exact = trino_server.execute(
        f"select event_id, event_at, payload, note, event_date, event_hour from {hive_table} "
        "order by event_id",
        session={"hive.timestamp_precision": "MICROSECONDS"},
    )
    assert exact == [[*row, *_partition(row[1])] for row in ROWS]


@pytest.mark.trino
def test_hive_timestamps_are_rounded_to_milliseconds_by_default(
    trino_server: LocalTrino, hive_table: str
) -> None:
    rows = trino_server.execute(
        f"select typeof(event_at), event_at, event_hour, hour(event_at) from {hive_table} "
        "where event_id = 'e6'"
    )
    # Rounded, not truncated: .999600 becomes the next second, and here the next hour.
    assert rows == [["timestamp(3)", datetime(2026, 1, 3, 23, 0, 0), 22, 23]]


def _io_partition_values(server: LocalTrino, query: str) -> dict[str, list[str]] | None:
    """Per partition column, the values EXPLAIN (TYPE IO) says the query reads; None
    when the plan reads no table at all."""
    ((plan_json,),) = server.execute(f"explain (type io, format json) {query}")
    inputs = json.loads(plan_json)["inputTableColumnInfos"]
    if not inputs:
        return None
    (table,) = inputs
    values: dict[str, list[str]] = {}
    for column in table["constraint"]["columnConstraints"]:
        ranges = column["domain"]["ranges"]
        # A partition column's domain lists single values, one per matched value.
        assert all(r["low"].get("value") == r["high"].get("value") for r in ranges), column
        values[column["columnName"]] = [r["low"]["value"] for r in ranges]
    return values


@pytest.mark.trino
def test_explain_io_lists_the_partition_values_a_query_reads(
    trino_server: LocalTrino, hive_table: str
) -> None:
    select = f"select event_id from {hive_table}"
    # The hour predicate is a range, but the plan reports the hours of the partitions
    # that exist and match it: 2026-01-03 has hours 0, 20 and 22.
    assert _io_partition_values(
        trino_server, f"{select} where event_date = date '2026-01-03' and event_hour >= 20"
    ) == {"event_hour": ["20", "22"], "event_date": ["2026-01-03"]}
    # Per column, not per partition: (01-02, 21) and (01-03, 0) give two values for each
    # column, which would also cover (01-02, 0) and (01-03, 21).
    assert _io_partition_values(
        trino_server,
        f"{select} where (event_date = date '2026-01-02' and event_hour = 21) "
        "or (event_date = date '2026-01-03' and event_hour = 0)",
    ) == {"event_hour": ["0", "21"], "event_date": ["2026-01-02", "2026-01-03"]}
    # A query that no partition matches reads no table at all.
    assert _io_partition_values(trino_server, f"{select} where event_hour > 23") is None


@pytest.mark.trino
def test_iceberg_table_takes_inserts_and_a_merge(trino_server: LocalTrino) -> None:
    table = f"iceberg.{SCHEMA}.vehicle_counts"
    trino_server.execute(f"create schema if not exists iceberg.{SCHEMA}")
    trino_server.execute(
        f"create table {table} (vehicle_id varchar, fixes bigint, last_at timestamp(6)) "
        "with (partitioning = ARRAY['vehicle_id'])"
    )
    trino_server.execute(
        f"insert into {table} values "
        "('v1', 1, timestamp '2026-01-02 00:00:00.123456'), "
        "('v2', 2, timestamp '2026-01-02 01:00:00'), "
        "('v3', 3, timestamp '2026-01-02 02:00:00')"
    )
    trino_server.execute(
        f"""merge into {table} as t
        using (values ('v2', 5), ('v3', null), ('v4', 7)) as s (vehicle_id, fixes)
        on t.vehicle_id = s.vehicle_id
        when matched and s.fixes is null then delete
        when matched then update set fixes = t.fixes + s.fixes
        when not matched then insert (vehicle_id, fixes) values (s.vehicle_id, s.fixes)"""
    )
    assert trino_server.execute(f"select * from {table} order by vehicle_id") == [
        ["v1", 1, datetime(2026, 1, 2, 0, 0, 0, 123456)],
        ["v2", 7, datetime(2026, 1, 2, 1, 0, 0)],
        ["v4", 7, None],
    ]


def test_too_old_a_java_is_refused_and_recorded_for_the_skip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_java = tmp_path / "java"
    old_java.write_text("#!/bin/sh\necho 'openjdk version \"17.0.15\" 2025-04-15' >&2\n")
    old_java.chmod(0o755)
    monkeypatch.setenv("SMARTCITY_TRINO_JAVA", str(old_java))
    with pytest.raises(TrinoUnavailable, match="is Java 17; Trino needs Java 24"):
        find_java()
    with pytest.raises(TrinoUnavailable) as failure:
        fetch_trino(tmp_path / "cache")
    recorded = (tmp_path / "cache" / "trino" / "UNAVAILABLE").read_text().strip()
    assert recorded == str(failure.value)
    assert "\n" not in recorded and "smartcity trino fetch" in recorded
