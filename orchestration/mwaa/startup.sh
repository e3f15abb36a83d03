#!/usr/bin/env bash
# Amazon MWAA's startup script for the smartcity DAG: MWAA runs it on every Airflow
# container before Airflow starts (the environment's "startup script" points to
# s3://<bucket>/startup.sh), and the variables it exports are seen by Airflow and its tasks.
#
# It makes a virtual environment of its own for dbt (dbt-athena, dbt-redshift) and the
# `smartcity` command, pinned by the project's requirements.txt: dbt's pins and Airflow's
# constraints do not fit in one environment. Idempotent: a container whose environment was
# made from the same requirements keeps it. Nothing here stops Airflow from starting: a
# failed install is reported in the startup log, and the dbt tasks then fail saying that
# the executable is missing.
#
# Run locally (to check it, or on a machine that runs Airflow itself) with
#   AIRFLOW_HOME=/tmp/af SMARTCITY_PROJECT_DIR=$PWD bash orchestration/mwaa/startup.sh

# --- settings of the DAG (orchestration/mwaa/dags/smartcity_hourly.py) -----------------
export AIRFLOW_HOME=${AIRFLOW_HOME:-/usr/local/airflow}
# the repository's dbt project and Python packages, deployed beside the DAG
export SMARTCITY_PROJECT_DIR=${SMARTCITY_PROJECT_DIR:-$AIRFLOW_HOME/dags/dbt/smartcity}
export SMARTCITY_DBT_PROJECT_DIR=${SMARTCITY_DBT_PROJECT_DIR:-$SMARTCITY_PROJECT_DIR}
export SMARTCITY_VENV=${SMARTCITY_VENV:-$AIRFLOW_HOME/smartcity_venv}
export SMARTCITY_DBT_TARGET=${SMARTCITY_DBT_TARGET:-athena}

# --- the platform's own settings (README: "Pointing it at AWS") -------------------------
# Paste here the export lines of `smartcity aws-stack exports` (the stack's outputs):
# SMARTCITY_LAKE_URI, SMARTCITY_CHECKPOINT_URI (compaction reads the landing job's
# committed batches there), SMARTCITY_GLUE_DATABASE, SMARTCITY_RAW_SCHEMA,
# SMARTCITY_ATHENA_STAGING_DIR, _DATA_DIR, _SCHEMA and _WORK_GROUP.
# AWS credentials: the MWAA execution role, through the standard AWS chain.

smartcity_venv() {
  local project=$SMARTCITY_PROJECT_DIR venv=$SMARTCITY_VENV python=${PYTHON:-python3}
  local stamp wanted
  if [ ! -f "$project/requirements.txt" ] || [ ! -d "$project/smartcity" ]; then
    echo "==> smartcity: no project in $project (deploy it first, see orchestration/mwaa/README.md)" >&2
    return 1
  fi
  stamp="$venv/.smartcity-installed"
  # Made again when the pins change, or the packages below (bump the "v1").
  wanted=$({ echo v1; cat "$project/requirements.txt" "$project/pyproject.toml"; } | sha256sum | cut -d' ' -f1)
  if [ -x "$venv/bin/dbt" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    echo "==> smartcity: the dbt environment in $venv is up to date"
    return 0
  fi
  echo "==> smartcity: creating the dbt environment in $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" || return 1
  # Only what dbt and the `catalog` and `compact` commands need, at the project's pins
  # (a private MWAA network without PyPI: add --no-index --find-links <wheels folder>).
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$project/requirements.txt" \
    dbt-core dbt-athena dbt-redshift duckdb duckdb-extension-avro duckdb-extension-iceberg \
    boto3 confluent-kafka msgspec pyyaml pyiceberg pyarrow sqlalchemy || return 1
  # The project's packages are imported from the deployed folder, as an editable
  # install would, so nothing is built on the worker.
  "$venv/bin/python" - "$project" <<'PY' || return 1
import sys, sysconfig, pathlib
pathlib.Path(sysconfig.get_paths()["purelib"], "smartcity-project.pth").write_text(sys.argv[1] + "\n")
PY
  printf '#!/bin/sh\nexec "%s" -m smartcity "$@"\n' "$venv/bin/python" > "$venv/bin/smartcity"
  chmod +x "$venv/bin/smartcity"
  "$venv/bin/smartcity" --help >/dev/null || return 1
  echo "$wanted" > "$stamp"
  echo "==> smartcity: dbt $("$venv/bin/python" -c "from dbt.version import __version__ as v; print(v)") and the smartcity command in $venv"
}

# The web server (API server) runs no task: it needs no dbt.
case "${MWAA_AIRFLOW_COMPONENT:-}" in
  webserver | api-server | api_server) ;;
  *) smartcity_venv || echo "==> smartcity: the dbt environment could not be made; the dbt tasks will fail until it is" >&2 ;;
esac
