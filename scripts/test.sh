#!/usr/bin/env bash
# Lint, then every test (the end-to-end ones start the real local stack on free ports).
# pytest's exit code 5 (no tests collected) is a failure here, not a pass.
set -uo pipefail
cd "$(dirname "$0")/.."

# the terraform binary and AWS provider that scripts/setup-terraform.sh found or built
cache="${CDC_OPS_LOCAL__CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-ops}"
if [ -f "$cache/terraform/terraform.env" ]; then
  set -a
  # shellcheck disable=SC1091
  . "$cache/terraform/terraform.env"
  set +a
fi

.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || exit 1
.venv/bin/pytest "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$code"
