#!/usr/bin/env bash
# The Airflow environment of the tests: .venv-airflow, with Apache Airflow and
# astronomer-cosmos at the versions pinned in orchestration/mwaa/requirements-test.txt.
# It is a virtual environment of its own, apart from .venv: Airflow is an application
# with its own pins, and MWAA runs it apart from dbt too. tests/test_airflow_dag.py loads
# the DAG with it.
#
# Idempotent: an environment already installed from the same lock file is left alone.
# Usage: bash scripts/airflow_env.sh        (PYTHON=... picks the interpreter, 3.11 or 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-airflow
LOCK=orchestration/mwaa/requirements-test.txt
PYTHON=${PYTHON:-python3}

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  printf 'error: the Airflow environment (%s) is not ready; fix the above and run: bash scripts/airflow_env.sh\n' "$VENV" >&2
  exit 1
}

[ -f "$LOCK" ] || die "$LOCK is missing"
wanted=$(sha256sum "$LOCK" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.installed" 2>/dev/null)" = "$wanted" ]; then
  log "the Airflow environment in $VENV is up to date ($LOCK)"
  exit 0
fi

# Airflow 3.0 supports Python 3.9 to 3.12; the project needs 3.11 or newer.
"$PYTHON" - <<'PY' || die "Python 3.11 or 3.12 is needed for Airflow (set PYTHON=...)"
import sys
sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else 1)
PY

start=$(date +%s)
log "creating the Airflow environment in $VENV ($("$PYTHON" --version 2>&1))"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || { rm -rf "$VENV"; die "could not create $VENV (Debian: apt-get install python3-venv)"; }

log "installing Apache Airflow and astronomer-cosmos, pinned ($LOCK); a few minutes the first time"
# --no-deps: the lock names every package, so pip installs exactly those; `pip check`
# then proves that they fit together.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$LOCK" \
  || { rm -rf "$VENV"; die "pip could not install $LOCK (see its message above)"; }
"$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null \
  || { "$VENV/bin/python" -m pip check; rm -rf "$VENV"; die "the packages of $LOCK do not fit together"; }

log "checking that Airflow and cosmos import"
versions=$(AIRFLOW_HOME="$(mktemp -d)" "$VENV/bin/python" -c \
  'import airflow, cosmos; print(f"Airflow {airflow.__version__}, cosmos {cosmos.__version__}")' 2>/dev/null) \
  || { rm -rf "$VENV"; die "Airflow or cosmos does not import in $VENV"; }

echo "$wanted" > "$VENV/.installed"
log "$versions in $VENV ($(du -sh "$VENV" | cut -f1), $(($(date +%s) - start)) s)"
