"""`smartcity dbt --every`: the cadence, and a schedule that outlives a failed run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from smartcity.dbt_schedule import ScheduledRun, next_start, run_every
from smartcity.settings import Settings


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
