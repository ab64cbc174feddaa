#!/usr/bin/env bash
# Rehearse the production topology on one machine inside a throw-away PostgreSQL: two app
# nodes behind nginx, two SMS workers, the audit sequencer and the sweep timer; one node and
# one worker killed mid-run (scripts/cluster_run.py says what is checked). Installs nginx
# from Debian's packages when missing. Every process started here is gone when this script
# exits, also when a check fails or the run is interrupted. Arguments go to cluster_run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "nginx is not installed; run as root or: apt-get install -y nginx" >&2
    exit 1
  fi
  echo "installing nginx from Debian's packages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi

# The driver stops what it started. Should this script be stopped first, the driver is
# asked to stop (then with-postgres.sh removes the database); should the driver die, the
# process groups it wrote down are killed here.
PIDS=$(mktemp /tmp/trafficpass-cluster-pids.XXXXXX)
cleanup() {
  if [ -n "${RUN:-}" ] && kill -0 "$RUN" 2>/dev/null; then
    driver=$(sed -n 's/^driver //p' "$PIDS")
    if [ -n "$driver" ]; then kill -TERM "$driver" 2>/dev/null || true; fi
    wait "$RUN" 2>/dev/null || true
  fi
  sed -n 's/^group //p' "$PIDS" | while read -r pgid; do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  rm -f "$PIDS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2016 # expanded by the inner shell, once with-postgres.sh has set it
scripts/with-postgres.sh \
  sh -c 'DATABASE_URL=$TEST_DATABASE_URL exec "$@"' sh \
  "$VENV/bin/python" scripts/cluster_run.py --pids "$PIDS" "$@" &
RUN=$!
wait "$RUN"
