"""The MWAA DAG (orchestration/mwaa/dags) loads in Airflow and maps every dbt model.

dbt (the project's .venv) makes a manifest as a deploy does; Airflow's DagBag, in the
Airflow environment of its own (.venv-airflow, made by scripts/airflow_env.sh), loads the
dags folder the way MWAA's scheduler would, and orchestration/mwaa/dagbag_report.py
prints what it saw as JSON: import errors, DAGs, tasks and their order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
DAGS = ROOT / "orchestration" / "mwaa" / "dags"
REPORT = ROOT / "orchestration" / "mwaa" / "dagbag_report.py"
DBT = Path(sys.executable).with_name("dbt")
DAG_ID = "smartcity_hourly"
GROUP = "dbt"

Report = dict[str, Any]


def _need_airflow() -> None:
    if not AIRFLOW_PYTHON.exists():
        pytest.fail(
            f"The Airflow environment {AIRFLOW_PYTHON.parent.parent} is missing: run "
            "`bash scripts/airflow_env.sh` (the set-up does) and test again.",
            pytrace=False,
        )


def _dagbag(tmp: Path, **settings: str) -> Report:
    """What Airflow's DagBag makes of the dags folder, with only ``settings`` of ours
    set (so the DAG's own defaults are what is tested, whatever the caller exported)."""
    home = tmp / "airflow-home"
    home.mkdir(exist_ok=True)
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "SMARTCITY_", "DBT_"))
    }
    environment.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__COSMOS__CACHE_DIR=str(tmp / "cosmos-cache"),
        **settings,
    )
    result = subprocess.run(
        [str(AIRFLOW_PYTHON), str(REPORT), str(DAGS)],
        cwd=tmp,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Report]]:
    """(tmp folder, manifest) of a `dbt parse`, as made at deploy time."""
    _need_airflow()
    tmp = tmp_path_factory.mktemp("airflow-dag")
    target = tmp / "target"
    result = subprocess.run(
        [str(DBT), "--no-use-colors", "parse", "--target", "local", "--target-path", str(target)],
        cwd=ROOT,
        env={
            **os.environ,
            "DBT_PROFILES_DIR": str(ROOT),
            "DBT_LOG_PATH": str(tmp / "dbt-logs"),
            "SMARTCITY_DUCKDB_PATH": str(tmp / "parse.duckdb"),
            "DO_NOT_TRACK": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    yield tmp, json.loads((target / "manifest.json").read_text())


@pytest.fixture(scope="module")
def report(project: tuple[Path, Report]) -> Report:
    tmp, _ = project
    return _dagbag(
        tmp,
        SMARTCITY_DBT_PROJECT_DIR=str(ROOT),
        SMARTCITY_DBT_MANIFEST=str(tmp / "target" / "manifest.json"),
        SMARTCITY_VENV=str(ROOT / ".venv"),
    )


@pytest.fixture(scope="module")
def tasks(report: Report) -> dict[str, dict[str, Any]]:
    assert report["import_errors"] == {}
    assert DAG_ID in report["dags"], sorted(report["dags"])
    return report["dags"][DAG_ID]["tasks"]


def _ancestors(tasks: dict[str, dict[str, Any]], task_id: str) -> set[str]:
    seen: set[str] = set()
    todo = list(tasks[task_id]["upstream"])
    while todo:
        upstream = todo.pop()
        if upstream not in seen:
            seen.add(upstream)
            todo.extend(tasks[upstream]["upstream"])
    return seen


def _ours(manifest: Report, resource_type: str) -> dict[str, Report]:
    return {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == resource_type and node["package_name"] == "smartcity"
    }


def test_the_dag_loads_without_import_errors(report: Report) -> None:
    assert report["import_errors"] == {}
    assert list(report["dags"]) == [DAG_ID]


def test_the_dag_runs_hourly_one_run_at_a_time_without_catchup(report: Report) -> None:
    dag = report["dags"][DAG_ID]
    assert dag["schedule"] == "5 * * * *"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert {task_id for task_id, task in dag["tasks"].items() if task["retries"] < 1} == set()


def test_every_dbt_model_has_its_run_and_test_tasks(
    project: tuple[Path, Report], tasks: dict[str, dict[str, Any]]
) -> None:
    _, manifest = project
    models = _ours(manifest, "model")
    assert len(models) > 20
    # models with an hourly test of their own (a test of several models is a task of
    # its own; the whole-history tests run once a day)
    tested = {
        test["depends_on"]["nodes"][0]
        for test in _ours(manifest, "test").values()
        if len(test["depends_on"]["nodes"]) == 1 and "whole_history" not in test["tags"]
    }
    missing = []
    for unique_id, model in models.items():
        run = f"{GROUP}.{model['name']}.run"
        if tasks.get(run, {}).get("operator") != "DbtRunLocalOperator":
            missing.append(run)
        if unique_id in tested and f"{GROUP}.{model['name']}.test" not in tasks:
            missing.append(f"{GROUP}.{model['name']}.test")
    assert missing == []
    for seed in _ours(manifest, "seed").values():
        assert tasks[f"{GROUP}.{seed['name']}.seed"]["operator"] == "DbtSeedLocalOperator"


def test_every_model_runs_after_the_models_it_reads(
    project: tuple[Path, Report], tasks: dict[str, dict[str, Any]]
) -> None:
    _, manifest = project
    names = {unique_id: node["name"] for unique_id, node in manifest["nodes"].items()}
    for model in _ours(manifest, "model").values():
        before = _ancestors(tasks, f"{GROUP}.{model['name']}.run")
        for parent in model["depends_on"]["nodes"]:
            if parent.startswith("model."):
                # its parent built and tested first
                assert f"{GROUP}.{names[parent]}.test" in before, (model["name"], parent)
            elif parent.startswith("seed."):
                assert f"{GROUP}.{names[parent]}.seed" in before, (model["name"], parent)


def test_tests_of_several_models_run_after_all_of_them(
    project: tuple[Path, Report], tasks: dict[str, dict[str, Any]]
) -> None:
    _, manifest = project
    names = {unique_id: node["name"] for unique_id, node in manifest["nodes"].items()}
    several = [
        test
        for test in _ours(manifest, "test").values()
        if len({n for n in test["depends_on"]["nodes"] if n.startswith(("model.", "seed."))}) > 1
        and "whole_history" not in test["tags"]
    ]
    assert several, "the project has relationships tests between models"
    for test in several:
        task_id = f"{GROUP}.{test['name']}_test"
        assert tasks[task_id]["operator"] == "DbtTestLocalOperator"
        before = _ancestors(tasks, task_id)
        for parent in test["depends_on"]["nodes"]:
            if parent.startswith("model."):
                assert f"{GROUP}.{names[parent]}.run" in before, (task_id, parent)


def test_freshness_models_snapshot_compaction_in_that_order(
    project: tuple[Path, Report], tasks: dict[str, dict[str, Any]]
) -> None:
    _, manifest = project
    # No registration step: the landing job commits to the raw tables in Glue itself.
    assert not any("catalog" in task_id for task_id in tasks)
    assert tasks["source_freshness"]["operator"] == "DbtSourceLocalOperator"
    assert tasks["source_freshness"]["upstream"] == []

    dbt_tasks = {task_id for task_id in tasks if task_id.startswith(f"{GROUP}.")}
    for task_id in dbt_tasks:
        assert "source_freshness" in _ancestors(tasks, task_id), task_id
    # the snapshot is not a task of the group but its own step, after every dbt task
    snapshots = {node["name"] for node in _ours(manifest, "snapshot").values()}
    assert snapshots == {"vehicles_snapshot"}
    assert not any("vehicles_snapshot" in task_id for task_id in dbt_tasks)
    assert tasks["snapshot"]["operator"] == "DbtSnapshotLocalOperator"
    assert dbt_tasks <= _ancestors(tasks, "snapshot")

    compact = tasks["compact_closed_hours"]
    assert "compact --grace-minutes" in compact["bash_command"]
    assert "s3://" not in compact["bash_command"]  # an s3:// lake is compacted too
    assert compact["upstream"] == ["snapshot"]
    assert compact["downstream"] == []
    # housekeeping runs whatever became of the models
    assert compact["trigger_rule"] == "all_done"
    # Iceberg upkeep: once a day, after the snapshot, whatever became of the models.
    upkeep = tasks["maintain_iceberg_tables"]
    assert "run-operation maintain_iceberg_tables" in upkeep["bash_command"]
    assert "--target athena" in upkeep["bash_command"]
    assert '"{{ data_interval_end.hour }}" != "3"' in upkeep["bash_command"]
    assert upkeep["upstream"] == ["snapshot"] and upkeep["downstream"] == []
    assert upkeep["trigger_rule"] == "all_done"


def test_the_whole_history_tests_run_once_a_day_and_never_in_the_hourly_tasks(
    project: tuple[Path, Report], tasks: dict[str, dict[str, Any]]
) -> None:
    _, manifest = project
    whole = {t["name"] for t in _ours(manifest, "test").values() if "whole_history" in t["tags"]}
    assert len(whole) > 20 and any(name.startswith("unique_") for name in whole)
    test_tasks = [t for task_id, t in tasks.items() if task_id.endswith(("_test", ".test"))]
    assert test_tasks
    # Every hourly test task leaves them out; cosmos still renders the singular test of
    # several models as a task of its own, which the exclude leaves with nothing to run.
    for task in test_tasks:
        assert "tag:whole_history" in task["dbt_exclude"], task
    daily = tasks["whole_history_tests"]
    assert "test --selector whole_history_tests" in daily["bash_command"]
    assert '"{{ data_interval_end.hour }}" != "3"' in daily["bash_command"]
    assert daily["upstream"] == ["snapshot"] and daily["trigger_rule"] == "all_done"


def test_dbt_runs_on_athena_by_default_with_the_configured_dbt(
    tasks: dict[str, dict[str, Any]],
) -> None:
    dbt_tasks = [task for task in tasks.values() if "dbt_target" in task]
    assert len(dbt_tasks) > 40
    assert {task["dbt_target"] for task in dbt_tasks} == {"athena"}
    assert {task["dbt_executable"] for task in dbt_tasks} == {str(ROOT / ".venv" / "bin" / "dbt")}
    assert {task["dbt_project_dir"] for task in dbt_tasks} == {str(ROOT)}
    smartcity = str(ROOT / ".venv" / "bin" / "smartcity")
    assert smartcity in tasks["compact_closed_hours"]["bash_command"]


def test_the_target_follows_the_environment(project: tuple[Path, Report]) -> None:
    tmp, _ = project
    report = _dagbag(
        tmp,
        SMARTCITY_DBT_PROJECT_DIR=str(ROOT),
        SMARTCITY_DBT_MANIFEST=str(tmp / "target" / "manifest.json"),
        SMARTCITY_DBT_TARGET="redshift",
    )
    targets = {
        task["dbt_target"]
        for task in report["dags"][DAG_ID]["tasks"].values()
        if "dbt_target" in task
    }
    assert targets == {"redshift"}


def test_a_missing_manifest_is_an_import_error_that_says_what_to_do(
    project: tuple[Path, Report],
) -> None:
    tmp, _ = project
    report = _dagbag(
        tmp, SMARTCITY_DBT_PROJECT_DIR=str(ROOT), SMARTCITY_DBT_MANIFEST=str(tmp / "none.json")
    )
    assert report["dags"] == {}
    (error,) = report["import_errors"].values()
    assert "dbt manifest not found" in error
    assert "dbt parse" in error
