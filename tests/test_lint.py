import configparser
import subprocess
import sys
from pathlib import Path

import yaml

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


def test_sqlfluff_renders_the_models_against_an_empty_in_memory_database() -> None:
    # Rendered against a database that holds the models, every incremental model would
    # take its incremental branch, and the findings would depend on the machine: the
    # templater's target must be one where no model can exist yet.
    config = configparser.ConfigParser()
    config.read(ROOT / ".sqlfluff")
    templater = config["sqlfluff:templater:dbt"]
    profiles = yaml.safe_load((ROOT / "profiles.yml").read_text())
    output = profiles[templater["profile"]]["outputs"][templater["target"]]
    assert (output["type"], output["path"]) == ("duckdb", ":memory:")
    assert "plugins" not in output
