"""The whole pipeline against a real broker, real Spark and real DuckDB."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.table import Table

from foundation.contracts import CONTRACTS, GPS_FIXES
from foundation.lake_tables import DEAD_LETTERS, ENGINE_TYPES, LAKE_TABLES
from ingestion.simulators.city import build_city
from smartcity import pipeline
from smartcity.cli import lake_commands
from smartcity.dbt import warehouse
from smartcity.dbt.duckdb_lake import create_lake_views
from smartcity.dbt.postgres_loader import connect, load_lake
from streaming.iceberg_catalogs import lake_catalog
from streaming.maintenance import hours
from tests.city_districts import district_of
from tests.dbt_runs import run_dbt
from tests.e2e.landed_lake import EXPECTED_DEAD_LETTERS, EXPECTED_HOSTILE, HOSTILE_BYTES, START
from tests.timestamp_precision import mart_timestamp_columns

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(landed_lake: dict) -> dict:
    return landed_lake


def test_every_produced_event_was_acknowledged(run: dict) -> None:
    report = run["report"]
    assert report.ok
    expected = Counter(run["settings"].topic(c.source) for c, _ in run["events"] + run["resent"])
    assert report.acknowledged == expected


def test_produced_equals_landed_plus_dead_lettered_per_source(run: dict) -> None:
    settings = run["settings"]
    produced = Counter(c.source for c, _ in run["events"] + run["resent"])
    landed = pipeline.landed_rows(settings)
    dead = pipeline.dead_lettered_rows(settings)
    assert landed == {c.source: produced[c.source] for c in CONTRACTS}
    assert dead == {
        c.source: sum(EXPECTED_DEAD_LETTERS.get(c.source, {}).values()) for c in CONTRACTS
    }


def test_landed_event_ids_are_exactly_the_produced_ones(run: dict) -> None:
    lake = run["settings"].lake_uri
    for contract in CONTRACTS:
        rows = duckdb.execute(
            f"select event_id from read_parquet('{lake}/raw/{contract.source}/*/*/*.parquet')"
        ).fetchall()
        landed = Counter(row[0] for row in rows)
        produced = Counter(e["event_id"] for c, e in run["events"] + run["resent"] if c is contract)
        assert landed == produced, contract.source


def test_dead_letters_carry_reason_payload_and_kafka_coordinates(run: dict) -> None:
    lake = run["settings"].lake_uri
    for source, expected in EXPECTED_DEAD_LETTERS.items():
        rows = duckdb.execute(
            f"select reason_code, reason_message, raw_value, kafka_topic, kafka_offset "
            f"from read_parquet('{lake}/dead_letters/source={source}/*/*.parquet')"
        ).fetchall()
        assert Counter(row[0] for row in rows) == expected, source
        assert {row[3] for row in rows} == {f"e2e.{source}"}
        assert all(row[1] and row[4] is not None for row in rows)
    gps_payloads = duckdb.execute(
        f"select raw_value from read_parquet('{lake}/dead_letters/source=gps_fixes/*/*.parquet')"
    ).fetchall()
    assert ("not json at all",) in gps_payloads


def hostile_rows(rows: list[tuple]) -> dict[bytes, tuple]:
    """(key bytes, value bytes, key text, value text, message) by key, for the records of
    HOSTILE_BYTES; every column of every dead letter was selected to get here."""
    found = {}
    for key_bytes, value_bytes, key, value, message in rows:
        assert message and "\x00" not in message, "every dead letter says why, as text"
        if key_bytes is not None and bytes(key_bytes) in HOSTILE_BYTES:
            found[bytes(key_bytes)] = (bytes(key_bytes), bytes(value_bytes), key, value)
    return found


HOSTILE_QUERY = (
    "select raw_key_bytes, raw_value_bytes, raw_key, raw_value, reason_message "
    "from (select * from {schema}stg_smartcity__dead_letters) as every_column"
)


def test_a_dead_letter_of_any_bytes_is_read_back_exactly_on_duckdb(run: dict) -> None:
    with warehouse.connect(run["settings"].duckdb_path) as connection:
        rows = connection.execute(HOSTILE_QUERY.format(schema="")).fetchall()
    assert hostile_rows(rows) == EXPECTED_HOSTILE


def test_the_lake_has_exactly_the_columns_and_types_of_its_schema(run: dict) -> None:
    """What Spark wrote, read as a plain reader reads it, is what foundation/lake_tables.py says."""
    lake = run["settings"].lake_uri
    for table in LAKE_TABLES:
        folders = "/*" * len(table.partition_keys)
        described = duckdb.execute(
            f"describe select * from read_parquet('{lake}/{table.folder}{folders}/*.parquet', "
            "hive_partitioning = false)"
        ).fetchall()
        landed = [(row[0], row[1].lower()) for row in described]
        stored = [(c.name, ENGINE_TYPES[c.type].duckdb) for c in table.all_columns]
        assert landed == stored, table.name
        partition_folders = {
            tuple(
                part.split("=")[0]
                for part in path.relative_to(Path(lake) / table.folder).parts[:-1]
            )
            for path in Path(lake, table.folder).rglob("*.parquet")
        }
        assert partition_folders == {tuple(c.name for c in table.partition_keys)}, table.name


def test_timestamps_are_microseconds_from_the_raw_parquet_to_the_marts(
    run: dict, on_postgres: dict
) -> None:
    """One precision end to end, the lake's: Parquet's TIMESTAMP(MICROS) without a zone
    in every raw data file, and microsecond columns in every mart on DuckDB and on
    PostgreSQL (Trino's, Athena's engine: tests/e2e/test_trino.py; Redshift's TIMESTAMP
    is microseconds by definition, which no test here can run)."""
    settings = run["settings"]
    catalog = lake_catalog(settings.lake_uri)
    for table in LAKE_TABLES:
        iceberg = catalog.load_table((settings.iceberg_namespace, table.name))
        files = iceberg.inspect.files().column("file_path").to_pylist()
        assert files, table.name
        for path in files:
            schema = pq.read_schema(path.removeprefix("file://"))
            stamps = {f.name: f.type for f in schema if pa.types.is_timestamp(f.type)}
            assert stamps, (table.name, path)
            assert {str(t) for t in stamps.values()} == {"timestamp[us]"}, (table.name, stamps)
    marts = mart_timestamp_columns()
    assert len(marts) >= 5
    wanted = [(model, column) for model, columns in marts.items() for column in columns]
    with warehouse.connect(settings.duckdb_path) as connection:
        on_duckdb = {
            (model, column): kind
            for model, column, kind in connection.execute(
                "select table_name, column_name, data_type from information_schema.columns"
            ).fetchall()
        }
    assert {key: on_duckdb.get(key) for key in wanted} == dict.fromkeys(wanted, "TIMESTAMP")
    on_postgres_columns = {
        (model, column): (kind, precision)
        for model, column, kind, precision in postgres_rows(
            on_postgres,
            "select table_name, column_name, data_type, datetime_precision "
            "from information_schema.columns where table_schema = 'analytics_marts'",
        )
    }
    assert {key: on_postgres_columns.get(key) for key in wanted} == dict.fromkeys(
        wanted, ("timestamp without time zone", 6)
    )


def test_the_tables_folders_hold_their_iceberg_files_and_nothing_else(run: dict) -> None:
    settings = run["settings"]
    catalog = lake_catalog(settings.lake_uri)
    lake = Path(settings.lake_uri).resolve()
    for table in LAKE_TABLES:
        iceberg = catalog.load_table((settings.iceberg_namespace, table.name))
        committed = set(iceberg.inspect.files().column("file_path").to_pylist())
        folder = lake / table.folder
        on_disk = {
            f"file://{path}"
            for path in folder.rglob("*")
            if path.is_file() and path.relative_to(folder).parts[0] != "metadata"
        }
        assert committed and on_disk == committed, table.name
        read = iceberg.scan().to_arrow()
        assert (
            read.num_rows
            == duckdb.execute(
                f"select count(*) from read_parquet('{folder}/**/*.parquet')"
            ).fetchone()[0]
        ), table.name  # type: ignore[index]


def test_partitions_follow_event_time(run: dict) -> None:
    lake = run["settings"].lake_uri
    mismatched = duckdb.execute(
        f"select count(*) from read_parquet('{lake}/raw/*/*/*/*.parquet', "
        f"hive_partitioning = true, union_by_name = true) "
        f"where event_date != cast(event_at as date) or event_hour != hour(event_at)"
    ).fetchone()
    assert mismatched == (0,)
    hours = {(e["event_at"].date().isoformat(), e["event_at"].hour) for _, e in run["events"]}
    found = {
        (folder.parent.name.split("=")[1], int(folder.name.split("=")[1]))
        for folder in Path(lake).glob("raw/gps_fixes/event_date=*/event_hour=*")
    }
    assert found == hours and len(found) == 2


def test_staging_removes_duplicates_and_keeps_every_event(run: dict) -> None:
    staged = pipeline.staged_rows(run["settings"])
    unique = Counter(c.source for c, _ in run["events"])
    assert staged == {c.source: unique[c.source] for c in CONTRACTS}


def test_both_gps_contract_versions_land_and_staging_exposes_the_new_field(run: dict) -> None:
    sent = Counter(
        (event["schema_version"], event.get("heading_deg") is not None)
        for contract, event in run["events"]
        if contract is GPS_FIXES
    )
    with warehouse.connect(run["settings"].duckdb_path) as connection:
        staged = connection.execute(
            "select schema_version, heading_deg is not null, count(*) "
            "from stg_smartcity__gps_fixes group by 1, 2"
        ).fetchall()
    assert {(version, has): count for version, has, count in staged} == sent
    assert set(sent) == {(1, False), (2, True)}


def test_a_second_landing_run_adds_nothing(run: dict) -> None:
    before = pipeline.landed_rows(run["settings"])
    pipeline.land(run["settings"])
    assert pipeline.landed_rows(run["settings"]) == before


def test_mart_row_agrees_with_a_hand_computed_value(run: dict) -> None:
    city = build_city()
    fixes: dict[tuple[str, datetime], list[dict]] = defaultdict(list)
    temperatures: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for contract, event in run["events"]:
        hour = event["event_at"].replace(minute=0, second=0, microsecond=0, tzinfo=None)
        district = (
            district_of(city, event["latitude"], event["longitude"])
            if "latitude" in event
            else None
        )
        if contract.source == "gps_fixes":
            fixes[(district.district_id, hour)].append(event)
        elif contract.source == "weather_readings":
            temperatures[(district.district_id, hour)].append(event["temperature_c"])
    busiest = max(fixes, key=lambda key: len(fixes[key]))
    expected_vehicles = len({e["vehicle_id"] for e in fixes[busiest]})
    expected_speed = sum(e["speed_over_ground_kmh"] for e in fixes[busiest]) / len(fixes[busiest])
    expected_temperature = sum(temperatures[busiest]) / len(temperatures[busiest])
    with warehouse.connect(run["settings"].duckdb_path) as connection:
        row = connection.execute(
            "select vehicles_seen, gps_fixes, avg_speed_kmh, avg_temperature_c "
            "from fct_district_hourly_traffic join fct_district_hourly_weather "
            "using (district_hour_id) where fct_district_hourly_traffic.district_id = ? "
            "and fct_district_hourly_traffic.event_hour_at = ?",
            [busiest[0], busiest[1]],
        ).fetchone()
        total_fixes = connection.execute(
            "select sum(gps_fixes) from fct_district_hourly_traffic"
        ).fetchone()
    assert row is not None
    assert row[0] == expected_vehicles
    assert row[1] == len(fixes[busiest])
    # The marts round means to two decimals.
    assert row[2] == pytest.approx(expected_speed, abs=0.005 + 1e-9)
    assert row[3] == pytest.approx(expected_temperature, abs=0.005 + 1e-9)
    # Every unique fix is counted once across the mart, duplicates included nowhere.
    assert total_fixes == (sum(len(v) for v in fixes.values()),)
    assert busiest[1] >= START.replace(tzinfo=None) - timedelta(hours=1)


def test_a_new_checkpoint_over_a_lake_with_landed_batches_is_refused(run: dict) -> None:
    settings = run["settings"]
    elsewhere = replace(settings, checkpoint_uri=str(Path(settings.data_dir) / "new-checkpoints"))
    with pytest.raises(RuntimeError, match=r"checkpoint .* is new"):
        pipeline.land(elsewhere)
    assert pipeline.landed_rows(settings) == pipeline.landed_rows(elsewhere)


def test_the_landing_totals_report_every_record_read(run: dict) -> None:
    totals = run["totals"]
    dead = sum(sum(codes.values()) for codes in EXPECTED_DEAD_LETTERS.values())
    assert totals["landed_rows"] == len(run["events"]) + len(run["resent"])
    assert totals["dead_lettered_rows"] == dead
    assert totals["input_rows"] == totals["landed_rows"] + dead


def expected_daily_kpis(run: dict) -> dict[object, dict[str, object]]:
    """Some of the daily KPIs, computed here from the produced events, not by dbt."""
    days: dict[object, dict[str, object]] = defaultdict(
        lambda: {
            "vehicles": set(),
            "gps_fixes": 0,
            "camera_sightings": 0,
            "incidents": 0,
            "temperatures": [],
            "dead_letters": 0,
        }
    )
    for contract, event in run["events"]:
        day = days[event["event_at"].date()]
        if contract.source == "gps_fixes":
            day["vehicles"].add(event["vehicle_id"])
            day["gps_fixes"] += 1
        elif contract.source == "camera_sightings":
            day["camera_sightings"] += 1
        elif contract.source == "emergency_updates" and event["status"] == "reported":
            day["incidents"] += 1
        elif contract.source == "weather_readings":
            day["temperatures"].append(event["temperature_c"])
    # Dead letters count on the day they were refused, which the landing job recorded.
    lake = run["settings"].lake_uri
    for (refused_at,) in duckdb.execute(
        f"select dead_lettered_at from read_parquet('{lake}/dead_letters/*/*/*.parquet')"
    ).fetchall():
        days[refused_at.date()]["dead_letters"] += 1
    return {
        date: {
            "vehicles_active": len(day["vehicles"]),
            "gps_fixes": day["gps_fixes"],
            "camera_sightings": day["camera_sightings"],
            "incidents_reported": day["incidents"],
            "avg_temperature_c": (
                round(sum(day["temperatures"]) / len(day["temperatures"]), 2)
                if day["temperatures"]
                else None
            ),
            "dead_letters": day["dead_letters"],
        }
        for date, day in days.items()
    }


KPI_QUERY = (
    "select kpi_date, vehicles_active, gps_fixes, camera_sightings, incidents_reported, "
    "avg_temperature_c, dead_letters from {schema}fct_city_daily_kpis"
)


def kpis_by_day(rows: list[tuple]) -> dict[object, dict[str, object]]:
    names = (
        "vehicles_active",
        "gps_fixes",
        "camera_sightings",
        "incidents_reported",
        "avg_temperature_c",
        "dead_letters",
    )
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in rows}


def test_daily_kpis_on_duckdb_reconcile_with_the_events(run: dict) -> None:
    with warehouse.connect(run["settings"].duckdb_path) as connection:
        rows = connection.execute(KPI_QUERY.format(schema="")).fetchall()
    assert kpis_by_day(rows) == expected_daily_kpis(run)


@pytest.fixture(scope="module")
def on_postgres(run: dict, postgres_server) -> dict:
    """The same lake loaded into PostgreSQL and the whole project built and tested there."""
    settings = replace(run["settings"], postgres=postgres_server.settings)
    loaded = load_lake(settings.lake_uri, lambda: connect(settings.postgres))
    postgres_execute(
        settings,
        f"do $$ begin create role {BI_READER} login; "
        "exception when duplicate_object then null; end $$",
    )
    output = run_dbt(settings, "build", "--target", "postgres", "--vars", BI_VARS)
    return {"settings": settings, "loaded": loaded, "output": output}


# A BI user, granted the marts and the reference seeds by the project's grants config.
BI_READER = "smartcity_bi"
BI_VARS = f"{{bi_readers: {{postgres: [{BI_READER}]}}}}"
REFERENCE_SEEDS = ("districts", "vehicle_types", "incident_types", "camera_registry")


def postgres_execute(settings, statement: str) -> None:
    connection = connect(settings.postgres)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def readable_by_bi(settings, schema: str, table: str) -> bool:
    bi = replace(settings.postgres, user=BI_READER)
    connection = connect(bi)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"select count(*) from {schema}.{table}")
            return True
    except Exception as error:  # psycopg2's InsufficientPrivilege, said as such
        assert "permission denied" in str(error), error
        return False
    finally:
        connection.close()


def relations_of(settings, schema: str) -> list[str]:
    connection = connect(settings.postgres)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (schema,),
            )
            return sorted(row[0] for row in cursor.fetchall())
    finally:
        connection.close()


def test_bi_reads_every_mart_and_reference_seed_and_nothing_else_after_two_builds(
    on_postgres: dict,
) -> None:
    settings = on_postgres["settings"]
    marts = relations_of(settings, "analytics_marts")
    assert "fct_city_daily_kpis" in marts and "dim_vehicles" in marts
    for build in (1, 2):
        if build == 2:
            # The table marts and the seeds built again: a table is rebuilt beside the
            # live one and swapped in by renames, and the grants must follow the new
            # relation, not the dropped one (incremental marts change in place).
            run_dbt(
                settings,
                "build",
                "--target",
                "postgres",
                "--select",
                "marts,config.materialized:table",
                "resource_type:seed",
                "--vars",
                BI_VARS,
            )
        assert [m for m in marts if not readable_by_bi(settings, "analytics_marts", m)] == []
        assert [
            s for s in REFERENCE_SEEDS if not readable_by_bi(settings, "analytics_reference", s)
        ] == []
        for schema in ("analytics_staging", "analytics_intermediate", "analytics_snapshots"):
            relations = relations_of(settings, schema)
            assert relations, schema
            assert [r for r in relations if readable_by_bi(settings, schema, r)] == []


def test_the_marts_descriptions_are_in_postgres_as_on_duckdb(run: dict, on_postgres: dict) -> None:
    # persist_docs: the comments BI users see on PostgreSQL (and Redshift, its family)
    # are the models' descriptions, the same text DuckDB holds.
    with warehouse.connect(run["settings"].duckdb_path) as duck:
        expected = {
            (table, column): comment
            for table, column, comment in duck.execute(
                "select table_name, null, comment from duckdb_tables() "
                "where schema_name = 'main_marts' union all "
                "select view_name, null, comment from duckdb_views() "
                "where schema_name = 'main_marts' union all "
                "select table_name, column_name, comment from duckdb_columns() "
                "where schema_name = 'main_marts'"
            ).fetchall()
        }
    connection = connect(on_postgres["settings"].postgres)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select c.relname, null, obj_description(c.oid, 'pg_class') "
                "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = 'analytics_marts' and c.relkind in ('r', 'v') "
                "union all "
                "select c.relname, a.attname, col_description(c.oid, a.attnum) "
                "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 "
                "and not a.attisdropped "
                "where n.nspname = 'analytics_marts' and c.relkind in ('r', 'v')"
            )
            found = {(table, column): comment for table, column, comment in cursor.fetchall()}
    finally:
        connection.close()
    assert found == expected
    assert all(found.values()), [key for key, comment in found.items() if not comment]


def test_the_loader_copies_every_landed_row_into_postgres(run: dict, on_postgres: dict) -> None:
    landed = pipeline.landed_rows(run["settings"])
    dead = pipeline.dead_lettered_rows(run["settings"])
    expected = {source: rows for source, rows in landed.items()}
    expected[DEAD_LETTERS.name] = sum(dead.values())
    assert on_postgres["loaded"] == expected


def test_the_whole_project_builds_and_passes_its_tests_on_postgres(on_postgres: dict) -> None:
    summary = [line for line in on_postgres["output"].splitlines() if "Done. PASS=" in line]
    assert summary, on_postgres["output"][-2000:]
    assert "ERROR=0" in summary[-1] and "WARN=0" in summary[-1]
    passed = int(summary[-1].split("PASS=")[1].split()[0])
    assert passed > 200  # models, seeds, snapshot, unit and data tests all ran


def postgres_rows(on_postgres: dict, query: str) -> list[tuple]:
    connection = connect(on_postgres["settings"].postgres)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()
    finally:
        connection.close()


def test_daily_kpis_on_postgres_reconcile_with_the_events(run: dict, on_postgres: dict) -> None:
    rows = postgres_rows(on_postgres, KPI_QUERY.format(schema="analytics_marts."))
    assert kpis_by_day(rows) == expected_daily_kpis(run)


def test_a_dead_letter_of_any_bytes_is_read_back_exactly_on_postgres(on_postgres: dict) -> None:
    rows = postgres_rows(on_postgres, HOSTILE_QUERY.format(schema="analytics_staging."))
    assert hostile_rows(rows) == EXPECTED_HOSTILE


def same_row(got: tuple, want: tuple) -> bool:
    """Equal, but for the last bits of computed doubles, which two engines may differ in."""
    return len(got) == len(want) and all(
        g == pytest.approx(w, rel=1e-12) if isinstance(w, float) else g == w
        for g, w in zip(got, want, strict=True)
    )


def test_duckdb_and_postgres_build_the_same_marts(run: dict, on_postgres: dict) -> None:
    connection = connect(on_postgres["settings"].postgres)
    marts = (
        "fct_trips",
        "fct_emergency_incidents",
        "fct_district_hourly_traffic",
        "fct_district_hourly_weather",
        "fct_camera_sightings",
        "fct_city_daily_kpis",
        "fct_dead_letters",
        "dim_vehicles",
        "dim_cameras",
    )
    try:
        with warehouse.connect(run["settings"].duckdb_path) as local:
            for mart in marts:
                expected = sorted(map(tuple, local.execute(f"select * from {mart}").fetchall()))
                with connection.cursor() as cursor:
                    cursor.execute(f"select * from analytics_marts.{mart}")
                    found = sorted(map(tuple, cursor.fetchall()))
                assert len(found) == len(expected), mart
                mismatched = [
                    (got, want)
                    for got, want in zip(found, expected, strict=True)
                    if not same_row(got, want)
                ]
                assert mismatched == [], mart
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("mart", "key", "landed"),
    [
        ("fct_camera_sightings", "sighting_id", "event_at"),
        ("fct_dead_letters", "dead_letter_id", "dead_lettered_at"),
    ],
)
def test_an_incremental_run_appends_what_is_missing_exactly_once(
    run: dict, mart: str, key: str, landed: str
) -> None:
    settings = run["settings"]
    everything = f"select {key} from {mart} order by {key}"
    with warehouse.connect(settings.duckdb_path, read_only=False) as connection:
        before = connection.execute(everything).fetchall()
        # As if the last run had seen only part of the newest batch.
        connection.execute(
            f"delete from {mart} where {key} in "
            f"(select {key} from {mart} order by {landed} desc, {key} limit 3)"
        )
    run_dbt(settings, "run", "--select", mart)
    run_dbt(settings, "run", "--select", mart)  # a second run adds nothing
    with warehouse.connect(settings.duckdb_path) as connection:
        after = connection.execute(everything).fetchall()
    assert len(before) > 3
    assert after == before


def test_an_incremental_incidents_run_pivots_again_the_incidents_updated_since(
    run: dict,
) -> None:
    settings = run["settings"]
    incidents = "select * from fct_emergency_incidents order by incident_id"
    with warehouse.connect(settings.duckdb_path, read_only=False) as connection:
        before = connection.execute(incidents).fetchall()
        # one to drop, others to spoil (checked before anything is changed: the other
        # suites compare with this mart)
        assert len(before) >= 2
        newest = connection.execute(
            "select incident_id from fct_emergency_incidents "
            "order by coalesce(resolved_at, on_scene_at, dispatched_at, reported_at) desc "
            "limit 1"
        ).fetchone()[0]
        # Spoil every incident and drop the one updated last.
        connection.execute("update fct_emergency_incidents set assigned_units_count = -1")
        connection.execute(f"delete from fct_emergency_incidents where incident_id = '{newest}'")
    # Every update landed within the landing margin of the newest (one landing run):
    # every incident is pivoted again, from its updates alone.
    run_dbt(settings, "run", "--select", "fct_emergency_incidents")
    with warehouse.connect(settings.duckdb_path) as connection:
        assert connection.execute(incidents).fetchall() == before


def test_loading_postgres_again_replaces_the_tables(run: dict, on_postgres: dict) -> None:
    settings = on_postgres["settings"]
    # dbt's views now depend on the raw tables; a second load must still go through.
    again = load_lake(settings.lake_uri, lambda: connect(settings.postgres))
    assert again == on_postgres["loaded"]


def test_docs_generate_and_every_built_column_is_documented(run: dict, tmp_path: Path) -> None:
    run_dbt(run["settings"], "docs", "generate", "--target-path", str(tmp_path))
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    problems = {}
    for key, table in catalog["nodes"].items():
        built = {name.lower() for name in table["columns"]}
        documented = {
            name
            for name, column in manifest["nodes"][key]["columns"].items()
            if column["description"].strip()
        }
        if built != documented:
            problems[key] = {"undocumented": built - documented, "stale": documented - built}
    assert problems == {}
    assert len(catalog["nodes"]) >= 25


def test_source_freshness_passes_on_a_lake_that_just_landed(run: dict) -> None:
    output = run_dbt(run["settings"], "source", "freshness")
    verdicts = Counter(
        line.split(" freshness of ")[0].split()[-1]
        for line in output.splitlines()
        if " freshness of smartcity." in line and "START" not in line
    )
    # Five raw tables have freshness; the dead-letter tables have none, on purpose.
    assert verdicts == {"PASS": 5}, output[-2000:]


def test_the_vehicle_snapshot_keeps_history_when_a_vehicle_changes(
    run: dict, tmp_path: Path
) -> None:
    """SCD2: a change in what a vehicle is closes its row and opens a new one."""
    settings = replace(run["settings"], duckdb_path=tmp_path / "snapshot.duckdb")
    # Cautious: not the tests that also need fct_trips, which this database lacks.
    run_dbt(settings, "build", "--select", "+dim_vehicles", "--indirect-selection", "cautious")
    run_dbt(settings, "snapshot")
    with warehouse.connect(settings.duckdb_path, read_only=False) as connection:
        vehicles = connection.execute("select count(*) from dim_vehicles").fetchone()[0]
        # The registry says one vehicle is now another model.
        connection.execute(
            "update dim_vehicles set vehicle_model = 'Rebuilt' "
            "where vehicle_id = (select min(vehicle_id) from dim_vehicles)"
        )
    run_dbt(settings, "snapshot")
    with warehouse.connect(settings.duckdb_path) as connection:
        rows = connection.execute(
            "select vehicle_id, vehicle_model, dbt_valid_to is null "
            "from main_snapshots.vehicles_snapshot order by vehicle_id, dbt_valid_from"
        ).fetchall()
    changed = [row for row in rows if row[0] == rows[0][0]]
    assert len(rows) == vehicles + 1
    assert [row[2] for row in changed] == [False, True]
    assert changed[-1][1] == "Rebuilt" and changed[0][1] != "Rebuilt"


def test_compaction_leaves_one_file_per_closed_hour_and_every_row(run: dict) -> None:
    """`smartcity compact` on the landed lake (last: it rewrites the lake): every closed
    hour becomes one file, the tables keep every row, staging reads the same, and the
    folders hold the tables' files and nothing else."""
    settings = run["settings"]
    catalog = lake_catalog(settings.lake_uri)

    def table(name: str) -> Table:
        return catalog.load_table((settings.iceberg_namespace, name))

    rows_before = {c.source: table(c.source).scan().to_arrow().num_rows for c in CONTRACTS}
    landed_before, staged_before = pipeline.landed_rows(settings), pipeline.staged_rows(settings)
    files_before = sum(len(table(c.source).inspect.files()) for c in CONTRACTS)
    arguments = SimpleNamespace(grace_minutes=0, keep_superseded_minutes=0, dry_run=False)

    assert lake_commands.compact(arguments, settings) == 0

    now = datetime.now(UTC)
    for contract in CONTRACTS:
        closed = [
            hour
            for hour in hours(table(contract.source), contract.source)
            if hour.hour_start + timedelta(hours=1) <= now
        ]
        assert closed and all(len(hour.files) == 1 for hour in closed), contract.source
    assert sum(len(table(c.source).inspect.files()) for c in CONTRACTS) < files_before
    assert {c.source: table(c.source).scan().to_arrow().num_rows for c in CONTRACTS} == rows_before
    assert pipeline.landed_rows(settings) == landed_before
    # DuckDB's views over the tables read the snapshot of the last dbt command, whose
    # files are gone too; made again, as the next dbt command makes them, they read the
    # compacted files.
    with warehouse.connect(settings.duckdb_path, read_only=False) as connection:
        create_lake_views(
            connection, settings.lake_uri, settings.iceberg_namespace, settings.raw_schema
        )
    assert pipeline.staged_rows(settings) == staged_before
    # The replaced files are gone (no retention asked): a plain folder reader reads
    # each row once.
    lake = Path(settings.lake_uri).resolve()
    for contract in CONTRACTS:
        folder = lake / "raw" / contract.source
        on_disk = {f"file://{p}" for p in folder.rglob("*.parquet") if "metadata" not in p.parts}
        committed = table(contract.source).inspect.files().column("file_path").to_pylist()
        assert on_disk == set(committed), contract.source
