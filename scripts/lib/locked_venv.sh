# Shared by scripts/airflow_env.sh and scripts/tools_env.sh: a virtual environment of its
# own, apart from .venv, for tools whose pins clash with the project's, installed from a
# lock file. Idempotent: an environment already installed from the same lock is left
# alone. The caller sets VENV, LOCK, LABEL, SCRIPT, MAX_MINOR (the newest Python 3.x the
# tools support, or empty), defines versions() (prints what was installed, fails if a
# tool does not run), then calls make_locked_venv.

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  printf 'error: the %s (%s) is not ready; fix the above and run: bash %s\n' "$LABEL" "$VENV" "$SCRIPT" >&2
  exit 1
}

make_locked_venv() {
  local python=${PYTHON:-python3} wanted start installed
  [ -f "$LOCK" ] || die "$LOCK is missing"
  wanted=$(sha256sum "$LOCK" | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.installed" 2>/dev/null)" = "$wanted" ]; then
    log "the $LABEL in $VENV is up to date ($LOCK)"
    return 0
  fi

  "$python" - "${MAX_MINOR:-}" <<'PY' || die "Python 3.11${MAX_MINOR:+ to 3.$MAX_MINOR} is needed for the $LABEL (set PYTHON=...)"
import sys
newest = int(sys.argv[1]) if sys.argv[1] else 99
sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, newest) else 1)
PY

  start=$(date +%s)
  log "creating the $LABEL in $VENV ($("$python" --version 2>&1))"
  rm -rf "$VENV"
  "$python" -m venv "$VENV" || { rm -rf "$VENV"; die "could not create $VENV (Debian: apt-get install python3-venv)"; }

  log "installing it, pinned ($LOCK); a few minutes the first time"
  # --no-deps: the lock names every package, so pip installs exactly those; `pip check`
  # then proves that they fit together.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$LOCK" \
    || { rm -rf "$VENV"; die "pip could not install $LOCK (see its message above)"; }
  "$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null \
    || { "$VENV/bin/python" -m pip check; rm -rf "$VENV"; die "the packages of $LOCK do not fit together"; }

  log "checking that the tools run"
  installed=$(versions) || { rm -rf "$VENV"; die "a tool does not run in $VENV"; }

  echo "$wanted" > "$VENV/.installed"
  log "$installed in $VENV ($(du -sh "$VENV" | cut -f1), $(($(date +%s) - start)) s)"
}
