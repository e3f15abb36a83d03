"""dbt builds on a lake where nothing has landed yet, instead of failing on missing files."""

from pathlib import Path

from ingestion.contracts import CONTRACTS
from smartcity import pipeline
from tests.conftest import settings_for


def test_dbt_build_succeeds_on_an_empty_lake_with_empty_marts(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    settings = settings_for(tmp_path)
    output = pipeline.run_dbt(settings, "build")
    assert "ERROR=0" in output
    assert pipeline.staged_rows(settings) == {c.source: 0 for c in CONTRACTS}
    assert pipeline.warehouse_rows(settings, ["fct_district_hourly_traffic"]) == {
        "fct_district_hourly_traffic": 0
    }
    assert pipeline.warehouse_rows(settings, ["dim_districts"]) == {"dim_districts": 9}
