"""The semantic layer (dbt_project/models/semantic_models/) as MetricFlow reads it: the
configuration validates as `mf validate-configs` validates it, a broken reference is
caught, and every saved query compiles to the SQL of every warehouse the project runs
on. The figures themselves are checked against the marts in
tests/e2e/test_semantic_layer.py, over a built lake."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import sqlglot
from metricflow.protocols.sql_client import SqlEngine

from tests import semantic_layer
from tests.test_dbt_dialects import ENGINE_FUNCTIONS, dialect_problems

# The dialect sqlglot reads each engine's SQL in (Athena's engine is Trino). DuckDB's
# runs over a built lake in tests/e2e/test_semantic_layer.py.
DIALECTS = {
    SqlEngine.ATHENA: "trino",
    SqlEngine.TRINO: "trino",
    SqlEngine.REDSHIFT: "redshift",
    SqlEngine.POSTGRES: "postgres",
}
# The headline KPIs of the city (issue 23), each a metric of the semantic layer.
HEADLINE_METRICS = {
    "gps_fixes",
    "vehicles_active",
    "avg_speed_kmh",
    "congestion_index",
    "incidents_reported",
    "avg_response_seconds",
    "response_within_target_pct",
    "dead_letters",
    "gps_dead_letter_rate",
}


@pytest.fixture(scope="module")
def semantic_manifest(parsed_project: Path) -> dict:
    """The semantic manifest of a fresh `dbt parse`, which validates it on the way."""
    return semantic_layer.semantic_manifest_json(parsed_project)


def issues(results: semantic_layer.SemanticManifestValidationResults) -> list[str]:
    return [f"{issue.level.name}: {issue.message}" for issue in results.all_issues]


def test_the_semantic_layer_validates_with_no_issue_at_all(semantic_manifest: dict) -> None:
    results = semantic_layer.validate(semantic_manifest)
    # Warnings and future errors too: `mf validate-configs --show-all` prints none.
    assert issues(results) == []
    assert not results.has_blocking_issues


def test_a_metric_over_a_missing_measure_fails_validation(semantic_manifest: dict) -> None:
    broken = copy.deepcopy(semantic_manifest)
    (metric,) = (m for m in broken["metrics"] if m["name"] == "gps_fixes")
    metric["type_params"]["measure"]["name"] = "gps_fix"
    results = semantic_layer.validate(broken)
    assert results.has_blocking_issues
    assert any("gps_fix" in message for message in issues(results)), issues(results)


def test_a_saved_query_of_an_unknown_metric_fails_validation(semantic_manifest: dict) -> None:
    broken = copy.deepcopy(semantic_manifest)
    (query,) = (q for q in broken["saved_queries"] if q["name"] == "emergency_response")
    query["query_params"]["metrics"].append("responses_on_time")
    results = semantic_layer.validate(broken)
    assert results.has_blocking_issues
    assert any("responses_on_time" in message for message in issues(results)), issues(results)


def test_every_headline_kpi_is_a_metric_some_saved_query_shows(semantic_manifest: dict) -> None:
    metrics = {metric["name"] for metric in semantic_manifest["metrics"]}
    shown = {
        name
        for query in semantic_manifest["saved_queries"]
        for name in query["query_params"]["metrics"]
    }
    assert metrics >= HEADLINE_METRICS
    assert shown >= HEADLINE_METRICS


def test_the_time_spine_is_the_hourly_mart_metricflow_reads(semantic_manifest: dict) -> None:
    (spine,) = semantic_manifest["project_configuration"]["time_spines"]
    assert spine["node_relation"]["alias"] == "dim_time_spine_hours"
    assert spine["primary_column"] == {"name": "hour_at", "time_granularity": "hour"}


@pytest.mark.parametrize("engine", list(DIALECTS), ids=lambda engine: engine.value)
def test_every_saved_query_compiles_to_the_engines_sql(
    semantic_manifest: dict, engine: SqlEngine
) -> None:
    mf = semantic_layer.engine(
        semantic_layer.load_manifest(semantic_manifest), semantic_layer.DuckDbClient(None, engine)
    )
    names = [query["name"] for query in semantic_manifest["saved_queries"]]
    assert names
    for name in names:
        sql = semantic_layer.saved_query_sql(mf, name)
        dialect = DIALECTS[engine]
        if dialect in ENGINE_FUNCTIONS:
            # Parses, and calls only functions the engine has.
            assert dialect_problems(sql, dialect) == [], f"{name}:\n{sql}"
        else:
            assert sqlglot.parse_one(sql, read=dialect) is not None


def test_the_semantic_models_read_only_marts(semantic_manifest: dict) -> None:
    for model in semantic_manifest["semantic_models"]:
        assert model["node_relation"]["schema_name"] == "main_marts", model["name"]
