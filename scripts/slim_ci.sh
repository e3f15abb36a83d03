#!/usr/bin/env bash
# Slim CI: build what a pull request changed, and everything downstream of it, into a
# database of its own (the `ci` target), reading every other model, deferred, from the
# main branch's state: the manifest.json and smartcity.duckdb its last build left.
# Usage: scripts/slim_ci.sh <state folder> [more dbt build options]
# Writes the list of what it builds to $GITHUB_STEP_SUMMARY when that is set.
set -euo pipefail
state=${1:?"usage: scripts/slim_ci.sh <folder holding the main branch's manifest.json and smartcity.duckdb>"}
shift
for needed in manifest.json smartcity.duckdb; do
  if [ ! -f "$state/$needed" ]; then
    echo "error: $state/$needed is missing: the state is what a build of the main branch leaves (target/manifest.json and the DuckDB file)" >&2
    exit 2
  fi
done
export SMARTCITY_DEFER_DUCKDB_PATH="$state/smartcity.duckdb"

# The project makes a selection that matches nothing an error (a typo must not pass
# green); here an empty selection is an answer: the pull request changed no model.
# Every kind dbt build runs (a changed test or snapshot alone counts too).
changed=$(dbt -q ls --target ci --select state:modified+ --state "$state" \
  --resource-type model --resource-type seed --resource-type snapshot --resource-type test \
  --resource-type unit_test \
  --warn-error-options '{"error": [], "silence": ["NoNodesForSelectionCriteria"]}')
if [ -z "$changed" ]; then
  echo "No model, seed, snapshot or test changed against the main branch: nothing to build."
  exit 0
fi
echo "Building what changed and everything downstream of it ($(wc -l <<<"$changed") nodes):"
echo "$changed" | sed 's/^/  /'
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo "### What this pull request changes, with everything downstream of it"
    echo "$changed" | sed 's/^/- `/; s/$/`/'
  } >>"$GITHUB_STEP_SUMMARY"
fi
dbt build --target ci --select state:modified+ --defer --state "$state" "$@"
