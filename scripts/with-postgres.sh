#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL cluster on a private socket and port.
# Installs PostgreSQL from Debian's packages when missing; the cluster is stopped and
# removed on exit, also when the command fails. Exports TEST_DATABASE_URL.
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

PGBIN=$(pg_bin)
if [ -z "$PGBIN" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is not installed; run as root or: apt-get install -y postgresql" >&2
    exit 1
  fi
  echo "installing PostgreSQL from Debian's packages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(pg_bin)
fi

# PostgreSQL refuses to run as root: as root, run it as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home postgres
fi

PORT=${TEST_PG_PORT:-55432}
DIR=$(mktemp -d /tmp/trafficpass-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -o \
  "-p $PORT -k $DIR -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
"$PGBIN/createdb" -h "$DIR" -p "$PORT" -U postgres trafficpass_test

export TEST_DATABASE_URL="postgresql+psycopg://postgres@/trafficpass_test?host=$DIR&port=$PORT"
# How a test restarts the server (the fault suite checks the app recovers by itself).
RESTART="$PGBIN/pg_ctl -D $DIR/data -l $DIR/server.log -w -m fast restart"
if [ "$(id -u)" = 0 ]; then RESTART="runuser -u postgres -- $RESTART"; fi
export TEST_PG_RESTART="$RESTART"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on $DIR port $PORT"
"$@"
