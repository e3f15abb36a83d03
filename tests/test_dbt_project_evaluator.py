"""dbt-labs/dbt_project_evaluator on this project: every rule passes, with no warning.

The findings the project accepts are in seeds/dbt_project_evaluator_exceptions.csv, each
with its reason; anything else the evaluator finds fails here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path

from smartcity.settings import PROJECT_ROOT, Settings
from tests.dbt_runs import run_dbt

EXCEPTIONS = PROJECT_ROOT / "seeds" / "dbt_project_evaluator_exceptions.csv"


def test_the_evaluator_finds_nothing_beyond_the_written_exceptions(tmp_path: Path) -> None:
    settings = replace(Settings.from_env(), duckdb_path=tmp_path / "evaluator.duckdb")
    output = run_dbt(
        settings,
        "build",
        "--select",
        "package:dbt_project_evaluator",
        "dbt_project_evaluator_exceptions",
        "--vars",
        "{evaluate_project: true}",
    )
    (summary,) = re.findall(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+)", output)
    passed, warned, errored = map(int, summary)
    assert passed > 50 and (warned, errored) == (0, 0), output[-3000:]
    assert "[WARNING]" not in output, output[-3000:]


def test_every_exception_says_why() -> None:
    with EXCEPTIONS.open() as rows:
        for row in csv.DictReader(rows):
            assert row["fct_name"].startswith("fct_") and len(row["comment"].split()) >= 8, row
