#!/usr/bin/env bash
# sqlfluff on the SQL files a pull request adds or changes against <base>, its findings
# printed as GitHub annotations so that they appear on the lines of the diff.
# Usage: scripts/lint_changed_sql.sh <base ref, e.g. origin/main>
set -euo pipefail
base=${1:?usage: scripts/lint_changed_sql.sh <base ref, e.g. origin/main>}
mapfile -t changed < <(git diff --name-only --diff-filter=ACMR "$base...HEAD" -- 'dbt_project/*.sql' 'tests/dbt/*.sql')
if [ "${#changed[@]}" -eq 0 ]; then
  echo "No SQL changed against $base: nothing to lint."
  exit 0
fi
printf 'Linting %s changed SQL file(s):\n' "${#changed[@]}"
printf '  %s\n' "${changed[@]}"
sqlfluff lint --format github-annotation-native --annotation-level failure "${changed[@]}"
