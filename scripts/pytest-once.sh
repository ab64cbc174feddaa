#!/usr/bin/env bash
# Run pytest once under a label; pytest's exit 5 (nothing collected) counts as failure.
set -uo pipefail
label=$1
shift
echo "== test suite on $label =="
"${VENV:-.venv}/bin/pytest" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "no tests ran on $label" >&2
  exit 1
fi
exit "$rc"
