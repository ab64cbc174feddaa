#!/usr/bin/env bash
# The whole check: lint (ruff, mypy), then the full suite on SQLite and again on PostgreSQL,
# then the cluster rehearsal.
# Browser tests need Debian's Chromium; installed here when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

# A CJK font too, so screenshots of Chinese pages are legible.
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi"; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Chromium and a CJK font from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "Chromium is missing: apt-get install -y chromium (browser tests will fail)" >&2
  fi
fi

# --sqlite-only (make check): lint and the SQLite suite, the daily loop.
sqlite_only=
if [ "${1:-}" = "--sqlite-only" ]; then
  sqlite_only=1
  shift
fi

"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"

scripts/pytest-once.sh SQLite "$@"
[ -n "$sqlite_only" ] && exit 0
TEST_DATABASE_URL= scripts/with-postgres.sh scripts/pytest-once.sh PostgreSQL "$@"

# The production topology on this machine: two nodes behind nginx, a node and an SMS
# worker killed mid-run, nothing lost (about a minute).
scripts/cluster.sh --json "$(mktemp -d)/cluster.json"
