"""sqlfluff's findings do not depend on what the local database holds: linted after the
pipeline has built every model into DuckDB (as after `make demo`), the SQL is as clean as
on a fresh clone, because the templater renders against an empty in-memory database."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_dbt_sql_passes_sqlfluff_after_a_build(landed_lake: dict) -> None:
    settings = landed_lake["settings"]
    assert settings.duckdb_path.exists()
    environment = {
        **os.environ,
        # The local target points at a database where every model exists, incremental
        # ones included; this is what a user's shell looks like after `make demo`.
        "SMARTCITY_DATA_DIR": str(settings.data_dir),
        "SMARTCITY_DUCKDB_PATH": str(settings.duckdb_path),
        "SMARTCITY_DBT_TARGET": "local",
        "DO_NOT_TRACK": "1",
    }
    result = subprocess.run(
        [BIN / "sqlfluff", "lint", "dbt_project", "tests/dbt", "--nocolor"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "dbt templater" in result.stdout
