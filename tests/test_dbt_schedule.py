"""`smartcity dbt --every` and `--on-landing`: the cadence, runs that follow the lake's
commits, and a schedule that outlives a failed run."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from foundation.lake_tables import RAW_TABLES
from smartcity.dbt.schedule import ScheduledRun, next_start, run_every, run_on_landing
from smartcity.settings import Settings
from streaming.iceberg_batches import commit_batch
from streaming.iceberg_catalogs import local_catalog, table_commits
from streaming.iceberg_tables import ensure_tables
from tests.test_iceberg_tables import plain_arrow_schema


def test_runs_start_on_the_cadence_and_an_overrun_skips_the_missed_slots() -> None:
    assert next_start(previous=100.0, every_s=20.0, now=105.0) == 120.0
    # A run that took 45 s of a 20 s cadence: the slots at 120 and 140 are gone.
    assert next_start(previous=100.0, every_s=20.0, now=145.0) == 160.0
    assert next_start(previous=100.0, every_s=20.0, now=120.0) == 120.0


def test_a_failed_run_is_reported_and_the_schedule_goes_on(tmp_path: Path) -> None:
    settings = Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)})
    runs: list[ScheduledRun] = []
    run_every(settings, 0.1, ["parse", "--target", "no_such_target"], runs.append, runs=2)
    assert [run.number for run in runs] == [1, 2]
    assert not any(run.ok for run in runs)
    assert all(run.error for run in runs)
    assert "FAILED" in runs[0].line()


def test_between_runs_the_warehouse_is_free_for_other_processes(tmp_path: Path) -> None:
    settings = Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)})
    runs: list[ScheduledRun] = []
    # Both runs in one process: the second must not find the file held by the first.
    run_every(settings, 0.1, ["seed", "--select", "districts"], runs.append, runs=2)
    assert [run.ok for run in runs] == [True, True], runs
    reader = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True);"
            "print(c.execute('select count(*) from main_reference.districts').fetchone()[0])",
            str(settings.duckdb_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert reader.returncode == 0, reader.stderr
    assert int(reader.stdout) > 0


def land_one_file(settings: Settings, batch_id: int) -> None:
    """One GPS fix committed to the settings' lake, as the landing job commits a batch."""
    lake = Path(settings.lake_uri)
    catalog = local_catalog(lake)
    ensure_tables(catalog, settings.iceberg_namespace, f"file://{lake}")
    [table] = [t for t in RAW_TABLES if t.name == "gps_fixes"]
    schema = plain_arrow_schema(table)
    row = {f.name: None for f in schema} | {
        "event_id": f"e{batch_id}",
        "event_at": datetime(2026, 12, 6, 9, batch_id),
    }
    path = lake / table.folder / "data" / f"batch-{batch_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([row], schema=schema), path)
    load = lambda: catalog.load_table((settings.iceberg_namespace, table.name))  # noqa: E731
    assert commit_batch(load, table.name, "query", batch_id, [f"file://{path}"])


def test_on_landing_a_run_follows_each_commit_and_none_comes_without_one(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)})
    land_one_file(settings, 0)
    runs: list[ScheduledRun] = []
    stop = threading.Event()
    asked: list[dict[str, str]] = []

    def commits() -> dict[str, str]:
        current = table_commits(settings.lake_uri, settings.iceberg_namespace)
        asked.append(current)
        if len(runs) == 2 and len(asked) >= 5:
            stop.set()  # the second run, then three answers with nothing new: enough
        return current

    def on_run(run: ScheduledRun) -> None:
        runs.append(run)
        if run.number == 1:
            land_one_file(settings, 1)  # lands while the schedule runs

    run_on_landing(
        settings, ["seed", "--select", "districts"], on_run, stop, commits=commits, poll_s=0.01
    )
    # A run at once (catching up), one after the commit, and none while nothing landed.
    assert [run.ok for run in runs] == [True, True], runs
    assert asked[0] != asked[1] and asked[1] == asked[2] == asked[-1]
    assert len(asked) >= 5


def test_on_landing_the_first_run_starts_before_anything_has_landed(tmp_path: Path) -> None:
    settings = Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)})
    runs: list[ScheduledRun] = []
    run_on_landing(settings, ["parse", "--target", "no_such_target"], runs.append, runs=1)
    assert [run.number for run in runs] == [1] and not runs[0].ok


def test_on_landing_a_catalog_that_does_not_answer_is_said_and_asked_again(
    tmp_path: Path, capsys
) -> None:
    settings = Settings.from_env({"SMARTCITY_DATA_DIR": str(tmp_path)})
    answers: list[object] = [OSError("the catalog is down"), {"gps_fixes": "m1"}]
    runs: list[ScheduledRun] = []

    def commits() -> dict[str, str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    run_on_landing(
        settings, ["parse", "--target", "no_such_target"], runs.append, runs=1,
        commits=commits, poll_s=0.01,
    )  # fmt: skip
    assert [run.number for run in runs] == [1] and answers == []
    assert "did not answer (OSError: the catalog is down)" in capsys.readouterr().out
