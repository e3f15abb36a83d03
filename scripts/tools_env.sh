#!/usr/bin/env bash
# The infrastructure linters of the tests: .venv-tools, with cfn-lint, checkov and
# parliament at the versions pinned in infra/aws/requirements-tools.txt. It is a virtual
# environment of its own, apart from .venv: checkov 3 pins libraries the project pins
# differently. tests/test_infra_aws.py runs the three linters from it.
#
# Idempotent: an environment already installed from the same lock file is left alone.
# Usage: bash scripts/tools_env.sh        (PYTHON=... picks the interpreter, 3.11 or newer)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-tools
LOCK=infra/aws/requirements-tools.txt
PYTHON=${PYTHON:-python3}

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  printf 'error: the linters environment (%s) is not ready; fix the above and run: bash scripts/tools_env.sh\n' "$VENV" >&2
  exit 1
}

[ -f "$LOCK" ] || die "$LOCK is missing"
wanted=$(sha256sum "$LOCK" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.installed" 2>/dev/null)" = "$wanted" ]; then
  log "the linters environment in $VENV is up to date ($LOCK)"
  exit 0
fi

"$PYTHON" - <<'PY' || die "Python 3.11 or newer is needed for the linters (set PYTHON=...)"
import sys
sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)
PY

start=$(date +%s)
log "creating the linters environment in $VENV ($("$PYTHON" --version 2>&1))"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || { rm -rf "$VENV"; die "could not create $VENV (Debian: apt-get install python3-venv)"; }

log "installing cfn-lint, checkov and parliament, pinned ($LOCK); a minute or two the first time"
# --no-deps: the lock names every package, so pip installs exactly those; `pip check`
# then proves that they fit together.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$LOCK" \
  || { rm -rf "$VENV"; die "pip could not install $LOCK (see its message above)"; }
"$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null \
  || { "$VENV/bin/python" -m pip check; rm -rf "$VENV"; die "the packages of $LOCK do not fit together"; }

log "checking that the three linters run"
versions=$(
  set -e
  printf 'cfn-lint %s, ' "$("$VENV/bin/cfn-lint" --version 2>&1 | awk '{print $NF}')"
  printf 'checkov %s, ' "$("$VENV/bin/checkov" --version 2>/dev/null | tail -1)"
  printf 'parliament %s' "$("$VENV/bin/python" -c 'import parliament; print(parliament.__version__)')"
) || { rm -rf "$VENV"; die "a linter does not run in $VENV"; }

echo "$wanted" > "$VENV/.installed"
log "$versions in $VENV ($(du -sh "$VENV" | cut -f1), $(($(date +%s) - start)) s)"
