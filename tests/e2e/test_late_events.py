"""Late and future-dated events reach the marts at the next incremental run, on DuckDB
and on Trino.

A lake of its own, landed in three rounds by the real broker and the real landing job:
on-time events, then events 2 hours, 30 hours and 10 days late with one GPS fix dated 23
hours ahead (the contract allows 24), then on-time events again. After each round the
incremental run's marts must equal a full refresh's, row for row: a late event reaches
the hours and days it belongs to, and the future fix moves nothing for the hours around
it. The late simulations reuse the first one's vehicle and incident ids, so late
positions fall inside known vehicles' trips and late updates join known incidents.
"""

from __future__ import annotations

import math
import re
import shutil
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from foundation.contracts import GPS_FIXES
from ingestion.producer import produce
from ingestion.simulators.world import SimulationOptions, simulate
from smartcity import pipeline
from smartcity.dbt import warehouse
from tests.conftest import settings_for
from tests.dbt_runs import run_dbt
from tests.e2e.test_trino import model_differences
from tests.test_dbt_dialects import INCREMENTAL_MODELS
from tests.trino_scans import query_info, scans_of

pytestmark = [pytest.mark.e2e, pytest.mark.trino]

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
FIRST = SimulationOptions(events=1_500, seed=31, vehicles=6, start_at=NOW - timedelta(hours=2))
LATENESS = {
    "2 hours": timedelta(hours=2),
    "30 hours": timedelta(hours=30),
    "10 days": timedelta(days=10),
}
# Also in round two: the first round's vehicles again, 5 minutes after its start but
# elsewhere (two devices under one id): valid records that cannot all be true.
OVERLAPPING = timedelta(minutes=-5)
# Round three: fewer vehicles than the first, so that two of them get no new position.
LAST = SimulationOptions(events=600, seed=35, vehicles=4, start_at=NOW - timedelta(minutes=20))
FUTURE = timedelta(hours=23)
# Every incremental model, as the dialect checks list them.
INCREMENTAL = INCREMENTAL_MODELS
# Where the Trino side reads the lake (a catalog over this lake's own Iceberg catalog)
# and builds its models: apart from test_trino's.
TRINO_RAW_CATALOG, TRINO_SCHEMA = "late_lake", "late"


def late_events(lateness: timedelta, seed: int) -> list:
    options = SimulationOptions(
        events=300, seed=seed, vehicles=6, start_at=FIRST.start_at - lateness
    )
    return list(simulate(options))


def future_fix(events: list) -> list:
    """One valid GPS fix dated 23 hours ahead, under an id of its own."""
    contract, event = next((c, e) for c, e in events if c is GPS_FIXES)
    moved = dict(event)
    moved["event_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "smartcity-test/future-fix"))
    moved["event_at"] = datetime.now(UTC) + FUTURE
    return [(contract, moved)]


def rows_of(path: Path, model: str) -> list[tuple]:
    with warehouse.connect(path) as connection:
        rows = connection.execute(f"select * from {model}").fetchall()
    return sorted((tuple(_rounded(v) for v in row) for row in rows), key=repr)


def _rounded(value: object) -> object:
    """Floats to 12 significant digits: sums over the same rows in another order."""
    if isinstance(value, float) and value and math.isfinite(value):
        return float(f"{value:.12g}")
    return value


def duckdb_differences(incremental: Path, full: Path) -> dict[str, tuple[int, int]]:
    return {
        model: (len(got), len(want))
        for model in INCREMENTAL
        if (got := rows_of(incremental, model)) != (want := rows_of(full, model))
    }


def copy_of(database: Path, folder: Path) -> Path:
    """A copy of a DuckDB database under the same file name: its views name their
    tables by the database's name, which is the file's."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(database, folder / database.name))


def trino_environment(server) -> dict[str, str]:
    return {
        "SMARTCITY_TRINO_HOST": server.host,
        "SMARTCITY_TRINO_PORT": str(server.port),
        "SMARTCITY_TRINO_CATALOG": "iceberg",
        "SMARTCITY_TRINO_SCHEMA": TRINO_SCHEMA,
        "SMARTCITY_TRINO_RAW_CATALOG": TRINO_RAW_CATALOG,
    }


def trino_relation(layer: str, model: str) -> str:
    return f"iceberg.{warehouse.layer_schema(layer, TRINO_SCHEMA)}.{model}"


class LateLake:
    """The lake of this module, its DuckDB build and its Trino build, round by round."""

    def __init__(self, root: Path, broker, trino) -> None:
        self.settings = settings_for(root, broker, topic_prefix="late")
        self.trino = trino
        self.rounds: dict[str, object] = {}
        self.attached = False
        pipeline.create_topics(self.settings)

    def land(self, events: list) -> None:
        report = produce(
            events, self.settings.bootstrap_servers, pipeline.topic_namer(self.settings)
        )
        assert report.ok, report
        pipeline.land(self.settings)
        if not self.attached:
            # Once the lake's catalog file exists; Trino reads every later commit itself.
            self.trino.attach_lake(TRINO_RAW_CATALOG, Path(self.settings.lake_uri))
            self.attached = True

    def run(self, command: str = "run", on_trino: bool = True) -> None:
        """dbt ``command`` on DuckDB and, unless told otherwise, on Trino."""
        run_dbt(self.settings, command)
        if on_trino:
            run_dbt(
                self.settings,
                command,
                "--target",
                "trino",
                environment=trino_environment(self.trino),
            )

    def full_refresh(self, folder: Path) -> Path:
        """A full refresh of the same lake in a database of its own: a copy of the
        build whose incremental models are all rebuilt from scratch. Between them and
        the lake there are only views and the seeds' tables (the same definitions and
        files in both), so they are rebuilt from what a first build would read."""
        path = copy_of(self.settings.duckdb_path, folder)
        settings = replace(self.settings, duckdb_path=path)
        output = run_dbt(
            settings, "run", "--full-refresh", "--select", "config.materialized:incremental"
        )
        rebuilt = {m for m in INCREMENTAL if re.search(rf"OK created .*\.{m} ", output)}
        assert rebuilt == set(INCREMENTAL), output[-3000:]
        return path

    def snapshot(self, label: str, root: Path, on_trino: bool = True) -> None:
        """The builds as they stand, and a full refresh to compare them with."""
        full = self.full_refresh(root / f"{label}-full")
        self.rounds[label] = {
            "duckdb": duckdb_differences(self.settings.duckdb_path, full),
            "full": full,
        }
        if on_trino:
            self.rounds[label]["trino"] = model_differences(
                replace(self.settings, duckdb_path=full),
                self.trino,
                list(INCREMENTAL),
                trino_relation,
            )


@pytest.fixture(scope="module")
def late_lake(tmp_path_factory: pytest.TempPathFactory, kafka_broker, trino_server) -> LateLake:
    root = tmp_path_factory.mktemp("late-events")
    lake = LateLake(root, kafka_broker, trino_server)
    first = list(simulate(FIRST))
    lake.land(first)
    lake.run("seed")
    lake.run()
    run_dbt(lake.settings, "snapshot")  # for the tests of the snapshot
    late = [
        event
        for seed, lateness in enumerate(LATENESS.values(), start=32)
        for event in late_events(lateness, seed)
    ]
    overlapping = late_events(OVERLAPPING, seed=36)
    lake.land(late + overlapping + future_fix(first))
    lake.run()
    lake.snapshot("late", root)
    lake.rounds["tests after late"] = run_dbt(lake.settings, "test")
    lake.land(list(simulate(LAST)))
    # Before the run: what an incremental run of the hourly traffic would read on Trino,
    # and a copy of the DuckDB build to spoil (test_an_incremental_run_recomputes_...).
    lake.rounds["before last run"] = {
        "compiled": compiled_on_trino(lake, root / "compiled"),
        "copy": copy_of(lake.settings.duckdb_path, root / "before-last-run"),
    }
    # DuckDB alone from here: Trino's read of this round is the plan above.
    lake.run(on_trino=False)
    lake.snapshot("on time again", root, on_trino=False)
    return lake


PRUNED = {"fct_district_hourly_traffic": "gps_fixes", "fct_camera_sightings": "camera_sightings"}


def compiled_on_trino(lake: LateLake, target_path: Path) -> dict[str, str]:
    """The SQL of the next incremental run on Trino of two marts, with no margin."""
    run_dbt(
        lake.settings,
        "compile",
        "--target",
        "trino",
        "--select",
        *PRUNED,
        "--vars",
        "{landing_margin_minutes: 0}",
        "--target-path",
        str(target_path),
        environment=trino_environment(lake.trino),
    )
    return {
        model: next((target_path / "compiled").rglob(f"{model}.sql")).read_text()
        for model in PRUNED
    }


# The first round is a first build, a full refresh itself: compared from the second on,
# on Trino after the late round.
@pytest.mark.parametrize(
    ("label", "engine"), [("late", "duckdb"), ("late", "trino"), ("on time again", "duckdb")]
)
def test_every_incremental_model_equals_a_full_refresh(
    late_lake: LateLake, label: str, engine: str
) -> None:
    assert late_lake.rounds[label][engine] == {}


def test_late_events_of_any_lateness_are_in_the_marts(late_lake: LateLake) -> None:
    with warehouse.connect(late_lake.settings.duckdb_path) as connection:
        days = {
            row[0]
            for row in connection.execute(
                "select kpi_date from fct_city_daily_kpis where gps_fixes > 0"
            ).fetchall()
        }
    for lateness in LATENESS.values():
        assert (FIRST.start_at - lateness).date() in days, lateness


def test_the_future_fix_has_its_own_hour_and_the_hours_after_it_kept_coming(
    late_lake: LateLake,
) -> None:
    with warehouse.connect(late_lake.settings.duckdb_path) as connection:
        hours = dict(
            connection.execute(
                "select event_hour_at, sum(gps_fixes) from int_gps_fixes_aggregated_to_vehicle_hour "
                "group by event_hour_at"
            ).fetchall()
        )
        staged = dict(
            connection.execute(
                "select date_trunc('hour', event_at), count(*) from stg_smartcity__gps_fixes "
                "group by 1"
            ).fetchall()
        )
    future_hour = max(hours)
    assert future_hour >= (NOW + FUTURE - timedelta(hours=1)).replace(tzinfo=None)
    assert hours[future_hour] == 1
    # The last round's hours, after the future fix landed, hold every fix staged.
    assert hours == staged


def test_an_incremental_run_recomputes_what_landed_and_only_that(
    late_lake: LateLake, tmp_path: Path
) -> None:
    """Spoiled rows of keys that nothing new touched stay spoiled; the rest come back."""
    copy = late_lake.rounds["before last run"]["copy"]
    with warehouse.connect(copy, read_only=False) as connection:
        connection.execute("update fct_district_hourly_traffic set gps_fixes = -1")
        connection.execute("update fct_trips set distance_km = -1")
    settings = replace(late_lake.settings, duckdb_path=copy)
    run_dbt(
        settings,
        "run",
        "--select",
        "fct_district_hourly_traffic",
        "fct_trips",
        "--vars",
        "{landing_margin_minutes: 0}",
    )
    full = late_lake.rounds["on time again"]["full"]
    last_hours = {
        (at.replace(minute=0, second=0, microsecond=0)).replace(tzinfo=None)
        for contract, event in simulate(LAST)
        if contract is GPS_FIXES
        for at in [event["event_at"]]
    }
    traffic = rows_of(copy, "fct_district_hourly_traffic")
    expected = {row[0]: row for row in rows_of(full, "fct_district_hourly_traffic")}
    assert {row[2] for row in traffic if row[4] != -1} == last_hours & {r[2] for r in traffic}
    assert {row[2] for row in traffic if row[4] == -1}  # the hours before: not read
    for row in traffic:
        if row[4] != -1:
            assert row == expected[row[0]]
    # Trips: the vehicles of the last round have theirs split again; the others not.
    trips = rows_of(copy, "fct_trips")
    moved = {row[1] for row in trips if row[8] != -1}
    assert moved == {f"veh-{n:04d}" for n in range(1, LAST.vehicles + 1)}
    kept = {row[1] for row in trips if row[8] == -1}
    assert {f"veh-{n:04d}" for n in range(LAST.vehicles + 1, FIRST.vehicles + 1)} <= kept
    want = {row[0]: row for row in rows_of(full, "fct_trips")}
    assert all(row == want[row[0]] for row in trips if row[8] != -1)


@pytest.mark.parametrize("model", sorted(PRUNED))
def test_an_incremental_run_on_trino_reads_only_the_partitions_that_changed(
    late_lake: LateLake, model: str
) -> None:
    source = PRUNED[model]
    last_hours = {
        (event["event_at"].date().isoformat(), str(event["event_at"].hour))
        for contract, event in simulate(LAST)
        if contract.source == source
    }
    compiled = late_lake.rounds["before last run"]["compiled"][model]
    read = raw_rows_read(late_lake.trino, compiled)
    raw = f"{TRINO_RAW_CATALOG}.smartcity_raw.{source}"
    days = ", ".join(f"date '{day}'" for day in sorted({day for day, _ in last_hours}))
    hours = ", ".join(sorted({hour for _, hour in last_hours}))
    # Trino prunes each column on its own (every changed date at every changed hour of
    # day), and Iceberg skips whole files by their statistics, a file holding one hour:
    # the rows read are exactly those, a fraction of the table's.
    [[pruned_to]] = late_lake.trino.execute(
        f"select count(*) from {raw} where event_date in ({days}) and event_hour in ({hours})"
    )
    [[in_table]] = late_lake.trino.execute(f"select count(*) from {raw}")
    assert read == {source: pruned_to}
    assert pruned_to < in_table / 2


def raw_rows_read(server, statement: str) -> dict[str, int]:
    """Per table of the lake a query read, the rows its scans took in (Trino's own
    statistics of the query, tests/trino_scans.py)."""
    connection = server.connect()
    try:
        cursor = connection.cursor()
        cursor.execute(statement)
        cursor.fetchall()
        info = query_info(server.url, cursor.query_id)
    finally:
        connection.close()
    read: dict[str, int] = {}
    for scan in scans_of(info):
        if scan.catalog == TRINO_RAW_CATALOG:
            read[scan.table] = read.get(scan.table, 0) + scan.rows
    return read


def test_implausible_records_are_flagged_and_their_tests_warn_without_stopping_the_build(
    late_lake: LateLake,
) -> None:
    output = late_lake.rounds["tests after late"]
    summary = [line for line in output.splitlines() if "Done. PASS=" in line][-1]
    assert "ERROR=0" in summary and "SKIP=0" in summary, summary
    warned = [line for line in output.splitlines() if "WARN" in line and "accepted_range" in line]
    assert any("avg_speed_kmh" in line for line in warned), output[-3000:]
    with warehouse.connect(late_lake.settings.duckdb_path) as connection:
        flagged = connection.execute(
            "select count(*) from fct_implausible_records "
            "where check_name = 'trip_faster_than_possible'"
        ).fetchone()[0]
        too_fast = connection.execute(
            "select count(*) from fct_trips where avg_speed_kmh > 300"
        ).fetchone()[0]
    assert flagged == too_fast > 0


def test_a_test_of_the_project_logic_still_fails_the_build(
    late_lake: LateLake, tmp_path: Path
) -> None:
    copy = copy_of(late_lake.settings.duckdb_path, tmp_path / "broken")
    with warehouse.connect(copy, read_only=False) as connection:
        # A trip twice: what a bug in the incremental split would leave.
        connection.execute("insert into fct_trips select * from fct_trips limit 1")
    settings = replace(late_lake.settings, duckdb_path=copy)
    with pytest.raises(RuntimeError, match="unique_fct_trips_trip_id"):
        run_dbt(settings, "test", "--select", "fct_trips")
