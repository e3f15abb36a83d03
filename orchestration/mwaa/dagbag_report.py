"""Load a dags folder with Airflow's DagBag and print what Airflow saw, as JSON.

Run with the Python of the Airflow environment (.venv-airflow, made by
scripts/airflow_env.sh), not the project's: `tests/test_airflow_dag.py` does, and so can
a person before a deploy:

    .venv/bin/dbt parse                                  # makes target/manifest.json
    AIRFLOW_HOME=$(mktemp -d) SMARTCITY_DBT_PROJECT_DIR=$PWD \\
      .venv-airflow/bin/python orchestration/mwaa/dagbag_report.py orchestration/mwaa/dags

The JSON: {"airflow_version", "cosmos_version", "import_errors": {file: error},
"dags": {dag_id: {"schedule", "catchup", "max_active_runs", "tasks": {task_id:
{"operator", "upstream", "downstream", "trigger_rule", "retries", and "bash_command"
or "dbt_target", "dbt_executable", "dbt_project_dir"}}}}}.
"""

from __future__ import annotations

import json
import os
import sys


def _details(task: object) -> dict[str, object]:
    """What a task runs: the shell command, or dbt's target and executable."""
    details: dict[str, object] = {}
    if hasattr(task, "bash_command"):
        details["bash_command"] = task.bash_command
    profile = getattr(task, "profile_config", None)
    if profile is not None:
        details["dbt_target"] = profile.target_name
        details["dbt_executable"] = str(getattr(task, "dbt_executable_path", ""))
        details["dbt_project_dir"] = str(getattr(task, "project_dir", ""))
        details["dbt_exclude"] = str(getattr(task, "exclude", "") or "")
    return details


def main(dags_folder: str) -> int:
    # Before Airflow is imported: no example DAGs, no DAGs bundled with providers.
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

    # Airflow and cosmos log to stdout: while they load, stdout goes to stderr, so that
    # the JSON alone is printed on stdout.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    import airflow
    import cosmos
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=dags_folder, include_examples=False)
    report = {
        "airflow_version": airflow.__version__,
        "cosmos_version": cosmos.__version__,
        "import_errors": {str(path): str(error) for path, error in bag.import_errors.items()},
        "dags": {
            dag_id: {
                "schedule": str(getattr(dag, "schedule", None) or getattr(dag, "timetable", "")),
                "catchup": dag.catchup,
                "max_active_runs": dag.max_active_runs,
                "tasks": {
                    task.task_id: {
                        "operator": type(task).__name__,
                        "upstream": sorted(task.upstream_task_ids),
                        "downstream": sorted(task.downstream_task_ids),
                        "trigger_rule": str(getattr(task.trigger_rule, "value", task.trigger_rule)),
                        "retries": task.retries,
                        **_details(task),
                    }
                    for task in dag.tasks
                },
            }
            for dag_id, dag in bag.dags.items()
        },
    }
    json.dump(report, out, indent=1, sort_keys=True)
    out.write("\n")
    out.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
