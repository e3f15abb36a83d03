"""`smartcity bi hyper` on the session's built lake: the extract Tableau opens offline
holds every mart with every row and value DuckDB has, read back with Tableau's own
Hyper API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tableauhyperapi import Connection, Date, HyperProcess, Telemetry, Timestamp

from smartcity import pipeline
from smartcity.bi.hyper_extract import SCHEMA
from smartcity.dbt import warehouse
from smartcity.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def python_value(value: object) -> object:
    """A value read from Hyper as DuckDB's Python client gives it."""
    if isinstance(value, Timestamp):
        return value.to_datetime()
    if isinstance(value, Date):
        return value.to_date()
    return value


def in_order(rows: list) -> list[tuple]:
    return sorted((tuple(row) for row in rows), key=repr)


@pytest.fixture(scope="module")
def extracted(landed_lake: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    settings = landed_lake["settings"]
    folder = tmp_path_factory.mktemp("hyper")
    out = folder / "marts.hyper"
    result = subprocess.run(
        [sys.executable, "-m", "smartcity", "bi", "hyper", "--out", str(out)],
        cwd=folder,
        env={**pipeline.child_environment(settings), "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # hyperd logged elsewhere: the folder it ran in holds the extract alone.
    assert sorted(path.name for path in folder.iterdir()) == ["marts.hyper"]
    return out, result.stdout


def test_the_extract_holds_every_mart_with_duckdbs_rows_and_values(
    landed_lake: dict, extracted: tuple[Path, str], tmp_path: Path
) -> None:
    out, printed = extracted
    with warehouse.connect(landed_lake["settings"].duckdb_path) as duck:
        marts = [
            name
            for (name,) in duck.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by 1",
                [warehouse.layer_schema("marts")],
            ).fetchall()
        ]
        expected = {
            name: in_order(duck.execute(f"select * from {name}").fetchall()) for name in marts
        }
    # Every model in the marts folder, found on its own (a count written here would go
    # stale with the next mart).
    assert len(marts) == len(list((PROJECT_ROOT / "dbt_project/models/marts").rglob("*.sql")))
    # The session's lake has rows in the facts the dashboard reads.
    for name in ("fct_trips", "fct_district_hourly_traffic", "fct_city_daily_kpis"):
        assert expected[name], name

    with (
        HyperProcess(
            Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_dir": str(tmp_path)}
        ) as hyper,
        Connection(hyper.endpoint, str(out)) as extract,
    ):
        tables = sorted(t.name.unescaped for t in extract.catalog.get_table_names(SCHEMA))
        assert tables == marts
        for name in marts:
            rows = extract.execute_list_query(f'select * from "{SCHEMA}"."{name}"')
            found = in_order([[python_value(value) for value in row] for row in rows])
            assert len(found) == len(expected[name]), name
            assert found == expected[name], name
            assert f"{name}: {len(found):,} rows" in printed
