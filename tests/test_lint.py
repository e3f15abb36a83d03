import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_python_passes_ruff_lint_and_format() -> None:
    lint = subprocess.run(
        [BIN / "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout
    fmt = subprocess.run(
        [BIN / "ruff", "format", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout


def test_dbt_sql_passes_sqlfluff(tmp_path: Path) -> None:
    # The dbt templater compiles against the local target; a scratch database keeps
    # the check away from the user's own.
    environment = {
        **os.environ,
        "SMARTCITY_DUCKDB_PATH": str(tmp_path / "lint.duckdb"),
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
