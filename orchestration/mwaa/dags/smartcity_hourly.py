"""The Smart City platform's hourly run on Amazon MWAA (Airflow 3, astronomer-cosmos).

    source_freshness -> dbt (one task group per model: run, then its tests; seeds; tests
    of several models after all of them) -> snapshot -> compact_closed_hours
                                                                         -> maintain_iceberg_tables
                                                                         -> whole_history_tests

- The raw tables need no registration step: the landing job commits every batch to
  their Iceberg tables in Glue, which Athena and Redshift Spectrum read.
- ``source_freshness``: ``dbt source freshness``; a source past its error threshold (24 h
  without a landed row) stops the run before any model reads stale data, a warning does not.
- ``dbt``: cosmos renders every dbt model of the manifest as ``dbt.<model>.run`` and
  ``dbt.<model>.test``, seeds as ``dbt.<seed>_seed`` (run only when the CSV changed), and
  tests that read several models as their own tasks after all of them. The tests tagged
  ``whole_history`` are left out: they read every row (selectors.yml); the others read
  only the recent partitions of what they test (macros/recent_partitions.sql).
- ``snapshot``: ``dbt snapshot`` (``vehicles_snapshot`` reads ``dim_vehicles``).
- ``compact_closed_hours``: ``smartcity compact``, whatever became of the dbt tasks. It
  rewrites each closed hour of the raw Iceberg tables (in the Glue raw database on an
  ``s3://`` lake, the MWAA case) into one file by one Iceberg commit, then expires
  snapshots and deletes the files none references, once older than
  ``--keep-superseded-minutes`` (longer than the longest query over the raw tables).
- ``maintain_iceberg_tables``: once a day (the run of ``SMARTCITY_MAINTENANCE_HOUR``, 3
  UTC by default), ``dbt run-operation maintain_iceberg_tables``: Athena's ``OPTIMIZE``
  and ``VACUUM`` on the Iceberg tables dbt writes in place (macros/maintain_iceberg_tables.sql).
- ``whole_history_tests``: in the same daily run, ``dbt test --selector
  whole_history_tests``: uniqueness over all time and the other tests that read every
  row, which would cost the whole history every hour.

The dbt project is read from a manifest made at deploy time (``dbt parse``), so the
scheduler never runs dbt. Every path below comes from an environment variable, else an
Airflow Variable of the same name in lower case, else the MWAA default; see
orchestration/mwaa/README.md.
"""

from __future__ import annotations

import logging
import os
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cosmos import (
    DbtTaskGroup,
    ExecutionConfig,
    ExecutionMode,
    InvocationMode,
    LoadMode,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
    SeedRenderingBehavior,
    TestBehavior,
)
from cosmos.operators.local import DbtSnapshotLocalOperator, DbtSourceLocalOperator

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG, Variable
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.models import Variable
    from airflow.operators.bash import BashOperator

log = logging.getLogger(__name__)

DAG_ID = "smartcity_hourly"
# On MWAA this file is /usr/local/airflow/dags/smartcity_hourly.py and the dbt project
# is deployed beside it, in dags/dbt/smartcity (dags/.airflowignore keeps it unparsed).
DAGS_DIR = Path(__file__).resolve().parent
# startup.sh builds this virtual environment: dbt-athena, dbt-redshift and the
# `smartcity` package, away from Airflow's own constraints.
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", "/usr/local/airflow"))


def setting(name: str, default: str) -> str:
    """The environment variable ``name``, else the Airflow Variable ``name.lower()``, else
    ``default``.

    The environment is read first so that a deployment that exports everything (MWAA's
    startup.sh) costs no metadata-database or secrets-backend call per DAG parse. A
    Variable that cannot be read (no metadata database, as in the tests) counts as unset.
    """
    value = os.environ.get(name)
    if value:
        return value
    try:
        found = Variable.get(name.lower(), default=None)
    except Exception:  # no API server or database to ask: fall back to the default
        log.debug("Airflow Variable %s could not be read; using %s", name.lower(), default)
        found = None
    return found or default


DBT_TARGET = setting("SMARTCITY_DBT_TARGET", "athena")
DBT_PROJECT_DIR = Path(setting("SMARTCITY_DBT_PROJECT_DIR", str(DAGS_DIR / "dbt" / "smartcity")))
# profiles.yml sits at the project's root, where dbt looks first
DBT_PROFILES_DIR = Path(setting("SMARTCITY_DBT_PROFILES_DIR", str(DBT_PROJECT_DIR)))
DBT_MANIFEST = Path(
    setting("SMARTCITY_DBT_MANIFEST", str(DBT_PROJECT_DIR / "target" / "manifest.json"))
)
SMARTCITY_VENV = Path(setting("SMARTCITY_VENV", str(AIRFLOW_HOME / "smartcity_venv")))
DBT_EXECUTABLE = setting("SMARTCITY_DBT_EXECUTABLE", str(SMARTCITY_VENV / "bin" / "dbt"))
SMARTCITY_CLI = setting("SMARTCITY_CLI", str(SMARTCITY_VENV / "bin" / "smartcity"))
# The UTC hour whose run also compacts and expires the Iceberg tables dbt writes (Athena's
# OPTIMIZE and VACUUM through `dbt run-operation maintain_iceberg_tables`; the raw tables
# are compact_closed_hours' every hour) and runs the tests that read every row
# (`dbt test --selector whole_history_tests`).
MAINTENANCE_HOUR = int(setting("SMARTCITY_MAINTENANCE_HOUR", "3"))
# An hour counts as closed this long after its end (smartcity compact --grace-minutes).
COMPACT_GRACE_MINUTES = int(setting("SMARTCITY_COMPACTION_GRACE_MINUTES", "60"))

if not DBT_MANIFEST.is_file():
    # Said plainly in the DAG's import error, rather than as a cosmos traceback.
    raise FileNotFoundError(
        f"dbt manifest not found at {DBT_MANIFEST}: it is made at deploy time with "
        "`dbt parse` (orchestration/mwaa/README.md), or set SMARTCITY_DBT_MANIFEST"
    )

# Every dbt task of the run, cosmos' or ours, runs the same dbt with the same profile.
DBT_ENV = {"SMARTCITY_DBT_TARGET": DBT_TARGET, "DO_NOT_TRACK": "1"}
profile_config = ProfileConfig(
    profile_name="smartcity",
    target_name=DBT_TARGET,
    profiles_yml_filepath=DBT_PROFILES_DIR / "profiles.yml",
)
project_config = ProjectConfig(
    dbt_project_path=DBT_PROJECT_DIR,
    manifest_path=DBT_MANIFEST,
    project_name="smartcity",
    # dbt_packages/ is installed at deploy time, beside the manifest.
    install_dbt_deps=False,
    models_relative_path="dbt_project/models",
    seeds_relative_path="seeds",
    snapshots_relative_path="dbt_project/snapshots",
)
execution_config = ExecutionConfig(
    execution_mode=ExecutionMode.LOCAL,
    # dbt lives in its own virtual environment, so it runs as a subprocess.
    invocation_mode=InvocationMode.SUBPROCESS,
    dbt_executable_path=DBT_EXECUTABLE,
)
dbt_operator_args = {
    "append_env": True,  # the worker's AWS_* and SMARTCITY_* settings, plus DBT_ENV
    "env": DBT_ENV,
}

default_args = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    # An hourly run should never hold the next one back for long.
    "execution_timeout": timedelta(minutes=45),
}

with DAG(
    dag_id=DAG_ID,
    description="Source freshness, dbt models and tests, snapshot, compaction",
    # Five past the hour: the new hour's first batches have landed by then.
    schedule="5 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args=default_args,
    tags=["smartcity", "dbt", "cosmos"],
    doc_md=__doc__,
) as dag:
    # What the two dbt steps outside the task group share with it.
    dbt_step_args: dict[str, Any] = {
        "project_dir": str(DBT_PROJECT_DIR),
        "manifest_filepath": str(DBT_MANIFEST),
        "profile_config": profile_config,
        "dbt_executable_path": DBT_EXECUTABLE,
        "invocation_mode": InvocationMode.SUBPROCESS,
        "install_deps": False,
        **dbt_operator_args,
    }
    source_freshness = DbtSourceLocalOperator(task_id="source_freshness", **dbt_step_args)

    dbt_models = DbtTaskGroup(
        group_id="dbt",
        project_config=project_config,
        profile_config=profile_config,
        execution_config=execution_config,
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
            # The snapshot is its own step after every model; the evaluator's nodes are
            # disabled unless asked for, so the manifest holds none. The tests that read
            # every row run once a day (whole_history_tests below); cosmos passes this
            # exclude on to each test task.
            exclude=["resource_type:snapshot", "tag:whole_history"],
            # A relationships test reads two models: it runs once both are built.
            should_detach_multiple_parents_tests=True,
            # The seeds are reference data: `dbt seed` only when a CSV changed.
            seed_rendering_behavior=SeedRenderingBehavior.WHEN_SEED_CHANGES,
        ),
        operator_args=dbt_operator_args,
    )

    snapshot = DbtSnapshotLocalOperator(task_id="snapshot", **dbt_step_args)

    # Exit code 99 marks the task skipped (BashOperator's skip_on_exit_code).
    compact_closed_hours = BashOperator(
        task_id="compact_closed_hours",
        bash_command=(
            'lake="${SMARTCITY_LAKE_URI:-}"\n'
            'case "$lake" in\n'
            '  "") echo "SMARTCITY_LAKE_URI is not set: no lake to compact"; exit 99 ;;\n'
            "esac\n"
            f"exec {shlex.quote(SMARTCITY_CLI)} compact --grace-minutes {COMPACT_GRACE_MINUTES}\n"
        ),
        # Housekeeping: run after the models and snapshot whatever became of them, never
        # while dbt reads the lake.
        trigger_rule="all_done",
    )

    def once_a_day(command: str, what: str) -> str:
        """``command`` in the run of MAINTENANCE_HOUR UTC; the other runs skip the task
        (exit code 99, BashOperator's skip_on_exit_code)."""
        return (
            f'if [ "{{{{ data_interval_end.hour }}}}" != "{MAINTENANCE_HOUR}" ]; then\n'
            f'  echo "{what} runs in the {MAINTENANCE_HOUR}:05 UTC run only"; exit 99\n'
            "fi\n"
            f"exec {command}\n"
        )

    dbt_in_project = (
        f"--project-dir {shlex.quote(str(DBT_PROJECT_DIR))} "
        f"--profiles-dir {shlex.quote(str(DBT_PROFILES_DIR))} --target {shlex.quote(DBT_TARGET)}"
    )

    # Iceberg upkeep (OPTIMIZE, VACUUM); the macro does nothing off Athena.
    maintain_iceberg_tables = BashOperator(
        task_id="maintain_iceberg_tables",
        bash_command=once_a_day(
            f"{shlex.quote(DBT_EXECUTABLE)} run-operation maintain_iceberg_tables {dbt_in_project}",
            "Iceberg upkeep",
        ),
        env=DBT_ENV,
        append_env=True,
        trigger_rule="all_done",
    )

    # The tests that read every row (uniqueness over all time, the singular tests): what
    # the hourly tasks leave out.
    whole_history_tests = BashOperator(
        task_id="whole_history_tests",
        bash_command=once_a_day(
            f"{shlex.quote(DBT_EXECUTABLE)} test --selector whole_history_tests {dbt_in_project}",
            "The whole-history tests",
        ),
        env=DBT_ENV,
        append_env=True,
        trigger_rule="all_done",
    )

    source_freshness >> dbt_models >> snapshot >> compact_closed_hours
    snapshot >> [maintain_iceberg_tables, whole_history_tests]
