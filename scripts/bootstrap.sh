#!/usr/bin/env bash
# Everything the two README commands need on a fresh machine: system packages, the
# virtual environment with pinned packages, the Kafka and Spark jars, and the Trino server.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: $* missing; install it with: sudo apt-get install -y $*" >&2
    exit 1
  fi
  log "installing $* (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

java_major() {
  java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print v[1]; exit}'
}

# A JDK, not only a runtime: the landing job's validation is a small Java function that
# is compiled here (streaming/jvm).
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] || ! command -v javac >/dev/null 2>&1; then
  apt_install openjdk-17-jdk-headless
fi
command -v mvn >/dev/null 2>&1 || apt_install maven
# The tests run the dbt project on a real PostgreSQL server as well as on DuckDB.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_install postgresql
# The dashboard's browser test drives Debian's headless Chromium through its driver.
{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || apt_install chromium chromium-driver

PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY' || { echo "error: Python 3.11 or newer is needed (set PYTHON=...)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

# Debian splits venv's pip bootstrap into its own package.
"$PYTHON" -c "import ensurepip" 2>/dev/null || apt_install python3-venv

if [ ! -x .venv/bin/pip ]; then
  log "creating the virtual environment in .venv"
  rm -rf .venv
  "$PYTHON" -m venv .venv || { rm -rf .venv; echo "error: could not create .venv" >&2; exit 1; }
fi
log "installing pinned Python packages (requirements.txt)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null \
  || .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .

log "fetching and verifying the Kafka broker and Spark connector jars"
.venv/bin/python -m smartcity jars
log "installing the dbt packages (packages.yml, pinned in package-lock.yml)"
.venv/bin/python -m smartcity dbt-packages
log "compiling the landing job's validation function (streaming/jvm)"
.venv/bin/python -c "from smartcity.settings import Settings; from streaming.jvm_build import landing_jar; print(landing_jar(Settings.from_env().cache_dir))"
# Airflow's pins clash with the project's at run time, so the MWAA DAG's test loads it
# with Airflow and cosmos in a virtual environment of their own.
log "making the Airflow environment for the DAG test (.venv-airflow)"
bash scripts/airflow_env.sh
# checkov 3 does not resolve beside the project's pins: the infrastructure linters
# (cfn-lint, checkov, parliament) get an environment of their own too.
log "making the environment of the infrastructure linters (.venv-tools)"
bash scripts/tools_env.sh
# Trino (about 820 MB, once) runs only the tests of the `trino` dbt target: when it or a
# Java 24+ runtime cannot be had, the command says why and records it, those tests skip
# with that reason, and the rest of the set-up and of the tests go on.
log "fetching and verifying the Trino server (for the tests of the trino dbt target)"
if .venv/bin/python -m smartcity trino fetch; then
  touch .venv/.installed
  log "set-up complete"
else
  # Not marked installed: the next `make` runs the set-up again (the rest is cached) and
  # retries the fetch, instead of skipping those tests for ever.
  log "set-up complete except Trino (see the error above); the next make retries it"
fi
