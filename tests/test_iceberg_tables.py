"""The lake's Iceberg tables (streaming/iceberg_tables.py): derived from the lake schema,
partitioned by the rule declared there, readable with the files the landing job adds."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.schema import Schema
from pyiceberg.types import IntegerType, LongType, NestedField, StringType
from pyspark.sql.pandas.types import to_arrow_schema

from foundation.lake_tables import DEAD_LETTERS, LAKE_TABLES, RAW_TABLES, LakeTable
from smartcity.dbt.duckdb_lake import create_lake_views
from streaming.iceberg_batches import commit_batch
from streaming.iceberg_catalogs import glue_catalog, local_catalog, table_commits
from streaming.iceberg_tables import (
    SchemaChangeRefused,
    ensure_tables,
    evolve,
    file_columns,
    iceberg_schema,
)
from streaming.schemas import table_schema

NAMESPACE = "raw"


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return (tmp_path / "lake").resolve()


@pytest.fixture
def catalog(lake: Path) -> Catalog:
    return local_catalog(lake)


def plain_arrow_schema(table: LakeTable) -> pa.Schema:
    """What the landing job's Spark writer puts in a file of ``table``: the project's
    Spark schema (streaming/schemas.py) as Arrow, without Iceberg field ids."""
    return to_arrow_schema(table_schema(table))


def test_every_lake_table_is_created_once_where_the_lake_layout_puts_it(
    catalog: Catalog, lake: Path
) -> None:
    tables = ensure_tables(catalog, NAMESPACE, f"file://{lake}")
    assert sorted(tables) == sorted(t.name for t in LAKE_TABLES)
    for table in LAKE_TABLES:
        iceberg = tables[table.name]
        assert iceberg.location() == f"file://{lake}/{table.folder}"
        assert [f.name for f in iceberg.schema().fields] == [c.name for c in file_columns(table)]
    again = ensure_tables(catalog, NAMESPACE, f"file://{lake}")
    assert {n: t.metadata_location for n, t in again.items()} == {
        n: t.metadata_location for n, t in tables.items()
    }


def test_raw_files_land_in_the_hour_of_their_events_and_read_back_unchanged(
    catalog: Catalog, lake: Path
) -> None:
    ensure_tables(catalog, NAMESPACE, f"file://{lake}")
    # The one source with a list column.
    [table] = [t for t in RAW_TABLES if t.name == "emergency_updates"]
    schema = plain_arrow_schema(table)
    at = datetime(2026, 12, 6, 9, 15)
    row = {}
    for field in schema:
        if pa.types.is_timestamp(field.type):
            row[field.name] = at
        elif pa.types.is_date(field.type):
            row[field.name] = at.date()
        elif pa.types.is_list(field.type):
            row[field.name] = ["ambulance-1", "fire-2"]
        elif pa.types.is_string(field.type):
            row[field.name] = f"{field.name}-value"
        elif pa.types.is_floating(field.type):
            row[field.name] = 1.5
        elif pa.types.is_integer(field.type):
            row[field.name] = 7
        else:
            raise AssertionError(f"no sample for {field}")
    folder = lake / table.folder / "data"
    folder.mkdir(parents=True)
    path = folder / "batch-0.parquet"
    pq.write_table(pa.Table.from_pylist([row], schema=schema), path)
    load = lambda: catalog.load_table((NAMESPACE, table.name))  # noqa: E731
    assert commit_batch(load, table.name, "query", 0, [f"file://{path}"])
    read = load().scan().to_arrow()
    assert read.to_pylist() == [row]
    partitions = load().inspect.files().column("partition").to_pylist()
    assert partitions == [
        {"event_at_hour": int((at - datetime(1970, 1, 1)).total_seconds() // 3600)}
    ]


def test_dead_letters_are_partitioned_by_source_and_day(catalog: Catalog, lake: Path) -> None:
    ensure_tables(catalog, NAMESPACE, f"file://{lake}")
    schema = plain_arrow_schema(DEAD_LETTERS)
    refused_at = datetime(2026, 12, 6, 23, 59)
    row = {f.name: None for f in schema} | {
        "reason_code": "not_json",
        "raw_value_bytes": b"\xff\x00{",
        "dead_lettered_at": refused_at,
        "source": "weather_readings",
    }
    path = lake / DEAD_LETTERS.folder / "data" / "batch-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([row], schema=schema), path)
    load = lambda: catalog.load_table((NAMESPACE, DEAD_LETTERS.name))  # noqa: E731
    assert commit_batch(load, "weather_readings", "query", 0, [f"file://{path}"])
    assert load().scan().to_arrow().to_pylist() == [row]
    [partition] = load().inspect.files().column("partition").to_pylist()
    assert partition == {
        "source": "weather_readings",
        "dead_lettered_at_day": date(2026, 12, 6),
    }


def test_a_file_whose_events_span_two_hours_is_refused(catalog: Catalog, lake: Path) -> None:
    ensure_tables(catalog, NAMESPACE, f"file://{lake}")
    table = RAW_TABLES[0]
    schema = plain_arrow_schema(table)
    rows = [
        {f.name: None for f in schema} | {"event_at": datetime(2026, 12, 6, hour, 30)}
        for hour in (9, 10)
    ]
    path = lake / table.folder / "data" / "two-hours.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    load = lambda: catalog.load_table((NAMESPACE, table.name))  # noqa: E731
    with pytest.raises(ValueError, match="partition"):
        commit_batch(load, table.name, "query", 0, [f"file://{path}"])
    assert load().current_snapshot() is None


def test_each_commit_changes_what_the_catalog_lists_for_its_table_only(
    catalog: Catalog, lake: Path
) -> None:
    """`smartcity dbt --on-landing` compares these answers to see that something landed."""
    unlanded = lake.parent / "nothing-landed-yet"
    assert table_commits(str(unlanded), NAMESPACE) == {}  # no catalog file, and none made
    assert not unlanded.exists()
    assert table_commits(str(lake), NAMESPACE) == {}  # a catalog without the tables
    tables = ensure_tables(catalog, NAMESPACE, f"file://{lake}")
    before = table_commits(str(lake), NAMESPACE)
    assert before == {name: table.metadata_location for name, table in tables.items()}
    [table] = [t for t in RAW_TABLES if t.name == "weather_readings"]
    path = lake / table.folder / "data" / "batch-0.parquet"
    path.parent.mkdir(parents=True)
    row = {f.name: None for f in plain_arrow_schema(table)} | {"event_id": "w0"}
    row["event_at"] = datetime(2026, 12, 6, 9, 0)
    pq.write_table(pa.Table.from_pylist([row], schema=plain_arrow_schema(table)), path)
    load = lambda: catalog.load_table((NAMESPACE, table.name))  # noqa: E731
    assert commit_batch(load, table.name, "query", 0, [f"file://{path}"])
    after = table_commits(f"file://{lake}", NAMESPACE)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"weather_readings"}
    assert after["weather_readings"] == load().metadata_location


def test_trino_reads_the_lake_through_its_own_catalog(trino_server) -> None:
    """Trino's Iceberg connector on the same SQLite catalog file (its ``lake`` catalog):
    the rows pyiceberg committed, the hour partition, the exact bytes of a dead letter."""
    lake = trino_server.iceberg_lake_dir
    namespace = "raw_read_by_trino"
    ensure_tables(local_catalog(lake), namespace, f"file://{lake}/{namespace}")
    [table] = [t for t in RAW_TABLES if t.name == "emergency_updates"]
    schema = plain_arrow_schema(table)
    at = datetime(2026, 12, 6, 9, 15)
    rows = [
        {f.name: None for f in schema}
        | {"event_id": f"e{n}", "event_at": at, "units": ["ambulance-1", f"fire-{n}"]}
        for n in range(3)
    ]
    path = lake / namespace / table.folder / "data" / "batch-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    load = lambda: local_catalog(lake).load_table((namespace, table.name))  # noqa: E731
    assert commit_batch(load, table.name, "query", 0, [f"file://{path}"])

    relation = f'lake.{namespace}."{table.name}"'
    assert trino_server.execute(
        f"select event_id, event_at, cardinality(units) from {relation} order by 1"
    ) == [[f"e{n}", at, 2] for n in range(3)]
    hour = int((at - datetime(1970, 1, 1)).total_seconds() // 3600)
    assert trino_server.execute(
        f'select partition.event_at_hour, record_count from lake.{namespace}."{table.name}$partitions"'
    ) == [[hour, 3]]


GLUE_DATABASE = "iceberg_tables_test"


def test_on_aws_the_tables_live_in_glue_and_their_files_in_s3(aws_env: str) -> None:
    """The same tables and commit through Glue and S3, served by moto over HTTP: what
    Athena and Redshift Spectrum find in Glue is an Iceberg table with its metadata. A
    database of its own: the session's moto server is shared with the S3 landing test."""
    s3, glue = boto3.client("s3"), boto3.client("glue")
    s3.create_bucket(Bucket="iceberg-lake")
    catalog = glue_catalog("us-east-1")
    tables = ensure_tables(catalog, GLUE_DATABASE, "s3://iceberg-lake/lake")
    assert tables["gps_fixes"].location() == "s3://iceberg-lake/lake/raw/gps_fixes"
    [table] = [t for t in RAW_TABLES if t.name == "gps_fixes"]
    schema = plain_arrow_schema(table)
    rows = [
        {f.name: None for f in schema}
        | {"event_id": f"e{n}", "event_at": datetime(2026, 12, 6, 9, n)}
        for n in range(5)
    ]
    buffer = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer)
    key = "lake/raw/gps_fixes/data/batch-0.parquet"
    s3.put_object(Bucket="iceberg-lake", Key=key, Body=buffer.getvalue().to_pybytes())
    load = lambda: catalog.load_table((GLUE_DATABASE, "gps_fixes"))  # noqa: E731
    assert commit_batch(load, "gps_fixes", "query", 0, [f"s3://iceberg-lake/{key}"])
    assert not commit_batch(load, "gps_fixes", "query", 0, [f"s3://iceberg-lake/{key}"])
    assert sorted(load().scan().to_arrow().column("event_id").to_pylist()) == [
        f"e{n}" for n in range(5)
    ]
    entry = glue.get_table(DatabaseName=GLUE_DATABASE, Name="gps_fixes")["Table"]
    assert entry["Parameters"]["table_type"].upper() == "ICEBERG"
    assert entry["Parameters"]["metadata_location"] == load().metadata_location
    # What `smartcity dbt --on-landing` asks Glue every second.
    commits = table_commits("s3://iceberg-lake/lake", GLUE_DATABASE)
    assert commits["gps_fixes"] == load().metadata_location
    assert sorted(commits) == sorted(t.name for t in LAKE_TABLES)
    assert table_commits("s3://iceberg-lake/lake", "no_such_database") == {}


def older_contract(table: LakeTable, without: str) -> Schema:
    """The table's schema as an earlier contract declared it: without one field."""
    return Schema(*(f for f in iceberg_schema(table).fields if f.name != without))


def table_of_an_older_contract(
    catalog: Catalog, lake: Path, name: str, without: str
) -> tuple[LakeTable, Path]:
    """The table as an earlier contract made it, without one field, holding one file of
    one row (event_id "before")."""
    [table] = [t for t in RAW_TABLES if t.name == name]
    catalog.create_namespace(NAMESPACE)
    old = catalog.create_table(
        (NAMESPACE, table.name),
        schema=older_contract(table, without),
        location=f"file://{lake}/{table.folder}",
    )
    arrow = plain_arrow_schema(table)
    arrow = arrow.remove(arrow.get_field_index(without))
    path = lake / table.folder / "old.parquet"
    pq.write_table(pa.Table.from_pylist([{"event_id": "before"}], schema=arrow), path)
    old.add_files([f"file://{path}"])
    return table, path


# A field added to a contract: one made up, and the GPS contract's version 2 field.
ADDED_FIELDS = [("weather_readings", "humidity_pct"), ("gps_fixes", "heading_deg")]


@pytest.mark.parametrize(("name", "added"), ADDED_FIELDS)
def test_a_field_added_to_a_contract_becomes_a_column_that_old_rows_read_as_null(
    catalog: Catalog, lake: Path, name: str, added: str
) -> None:
    table, path = table_of_an_older_contract(catalog, lake, name, added)

    tables = ensure_tables(catalog, NAMESPACE, f"file://{lake}")

    evolved = tables[table.name]
    assert [f.name for f in evolved.schema().fields] == [c.name for c in file_columns(table)]
    assert evolved.scan().to_arrow().to_pylist()[0][added] is None
    # A table made before the maintained properties gets them.
    assert evolved.properties["write.metadata.delete-after-commit.enabled"] == "true"
    # No file was rewritten: the table still lists the one it had.
    assert evolved.inspect.files().column("file_path").to_pylist() == [f"file://{path}"]
    connection = duckdb.connect()
    create_lake_views(connection, str(lake), NAMESPACE, "raw")
    assert connection.execute(f"select event_id, {added} from raw.{table.name}").fetchall() == [
        ("before", None)
    ]


def test_duckdb_reads_a_table_the_landing_job_has_not_evolved_yet(
    catalog: Catalog, lake: Path
) -> None:
    """Until the landing job starts with a contract's new field, the table lacks the
    column; DuckDB's view still has it, null, so staging reads either table."""
    table, _ = table_of_an_older_contract(catalog, lake, "gps_fixes", "heading_deg")
    connection = duckdb.connect()
    create_lake_views(connection, str(lake), NAMESPACE, "raw")
    columns = [row[0] for row in connection.execute(f"describe raw.{table.name}").fetchall()]
    assert columns == [c.name for c in table.all_columns]
    assert connection.execute(f"select event_id, heading_deg from raw.{table.name}").fetchall() == [
        ("before", None)
    ]


def test_a_number_may_widen(catalog: Catalog, lake: Path) -> None:
    [table] = [t for t in RAW_TABLES if t.name == "gps_fixes"]
    declared = iceberg_schema(table)
    narrower = Schema(
        *(
            NestedField(f.field_id, f.name, IntegerType(), required=False)
            if f.name == "kafka_offset"
            else f
            for f in declared.fields
        )
    )
    catalog.create_namespace(NAMESPACE)
    catalog.create_table((NAMESPACE, table.name), schema=narrower)
    assert evolve(catalog.load_table((NAMESPACE, table.name)), declared) == [
        "widened kafka_offset to long"
    ]
    assert catalog.load_table((NAMESPACE, table.name)).schema().find_type("kafka_offset") == (
        LongType()
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("retyped", r"speed_kmh would change from string to double"),
        ("removed", r"retired_field is no longer declared"),
    ],
)
def test_a_change_iceberg_cannot_apply_in_place_is_refused_in_one_line(
    catalog: Catalog, lake: Path, change: str, message: str
) -> None:
    [table] = [t for t in RAW_TABLES if t.name == "vehicle_telemetry"]
    declared = iceberg_schema(table)
    fields = list(declared.fields)
    if change == "retyped":
        fields = [
            NestedField(f.field_id, f.name, StringType(), required=False)
            if f.name == "speed_kmh"
            else f
            for f in fields
        ]
    else:
        fields.append(NestedField(999, "retired_field", StringType(), required=False))
    catalog.create_namespace(NAMESPACE)
    catalog.create_table((NAMESPACE, table.name), schema=Schema(*fields))
    before = catalog.load_table((NAMESPACE, table.name)).metadata_location
    with pytest.raises(SchemaChangeRefused, match=message) as refused:
        ensure_tables(catalog, NAMESPACE, f"file://{lake}")
    assert "\n" not in str(refused.value)
    assert "may add an optional field or widen a number" in str(refused.value)
    assert catalog.load_table((NAMESPACE, table.name)).metadata_location == before


def test_the_landing_job_stops_before_consuming_on_a_refused_change(
    catalog: Catalog, lake: Path
) -> None:
    from streaming.job import LakeTables, LandingFailed, LandingOptions

    [table] = [t for t in RAW_TABLES if t.name == "gps_fixes"]
    fields = [*iceberg_schema(table).fields]
    fields.append(NestedField(999, "retired_field", StringType(), required=False))
    catalog.create_namespace(NAMESPACE)
    catalog.create_table((NAMESPACE, table.name), schema=Schema(*fields))
    options = LandingOptions(
        lake_uri=str(lake),
        checkpoint_uri=str(lake.parent / "checkpoints"),
        bootstrap_servers="127.0.0.1:9",  # never reached: nothing is consumed
        namespace=NAMESPACE,
    )
    with pytest.raises(
        LandingFailed, match=r"retired_field is no longer declared.*Nothing was consumed"
    ):
        LakeTables.open(options)


def test_old_metadata_files_are_deleted_as_commits_go(catalog: Catalog, lake: Path) -> None:
    tables = ensure_tables(catalog, NAMESPACE, f"file://{lake}")
    load = lambda: catalog.load_table((NAMESPACE, "gps_fixes"))  # noqa: E731
    for batch_id in range(105):  # a batch without valid rows still commits its id
        assert commit_batch(load, "gps_fixes", "query", batch_id, [])
    folder = lake / "raw" / "gps_fixes" / "metadata"
    kept = sorted(folder.glob("*.metadata.json"))
    assert len(kept) == 101  # the newest 100 before the current one, and it
    assert load().metadata_location == f"file://{kept[-1]}"
    assert tables["gps_fixes"].metadata_location not in {f"file://{p}" for p in kept}
