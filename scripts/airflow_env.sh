#!/usr/bin/env bash
# The Airflow environment of the tests: .venv-airflow, with Apache Airflow and
# astronomer-cosmos at the versions pinned in orchestration/mwaa/requirements-test.txt,
# apart from .venv: Airflow is an application with its own pins, and MWAA runs it apart
# from dbt too. tests/test_airflow_dag.py loads the DAG with it.
# Usage: bash scripts/airflow_env.sh        (PYTHON=... picks the interpreter, 3.11 or 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/locked_venv.sh

VENV=.venv-airflow
LOCK=orchestration/mwaa/requirements-test.txt
LABEL="Airflow environment"
SCRIPT=scripts/airflow_env.sh
MAX_MINOR=12  # Airflow 3.0 supports Python 3.9 to 3.12

versions() {
  AIRFLOW_HOME="$(mktemp -d)" "$VENV/bin/python" -c \
    'import airflow, cosmos; print(f"Airflow {airflow.__version__}, cosmos {cosmos.__version__}")' 2>/dev/null
}

make_locked_venv
