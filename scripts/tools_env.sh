#!/usr/bin/env bash
# The infrastructure linters of the tests: .venv-tools, with cfn-lint, checkov and
# parliament at the versions pinned in infra/aws/requirements-tools.txt, apart from .venv:
# checkov 3 pins libraries the project pins differently. tests/test_infra_aws.py runs the
# three linters from it.
# Usage: bash scripts/tools_env.sh        (PYTHON=... picks the interpreter, 3.11 or newer)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/locked_venv.sh

VENV=.venv-tools
LOCK=infra/aws/requirements-tools.txt
LABEL="linters environment"
SCRIPT=scripts/tools_env.sh
MAX_MINOR=

versions() (
  set -e
  printf 'cfn-lint %s, ' "$("$VENV/bin/cfn-lint" --version 2>&1 | awk '{print $NF}')"
  printf 'checkov %s, ' "$("$VENV/bin/checkov" --version 2>/dev/null | tail -1)"
  printf 'parliament %s' "$("$VENV/bin/python" -c 'import parliament; print(parliament.__version__)')"
)

make_locked_venv
