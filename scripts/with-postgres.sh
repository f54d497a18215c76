#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL 15 cluster in a temporary
# folder, with PASSD_TEST_DATABASE_URL pointing at it, and removes the
# cluster afterwards whatever the command's outcome. Used by `make test` and
# `make bench`, so a newcomer's run covers the PostgreSQL store too.
set -euo pipefail

pgbin=""
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
  if [ -x "$d/initdb" ]; then pgbin=$d; break; fi
done
if [ -z "$pgbin" ]; then
  if command -v initdb >/dev/null 2>&1; then pgbin=$(dirname "$(readlink -f "$(command -v initdb)")"); fi
fi
if [ -z "$pgbin" ]; then
  echo "with-postgres: initdb/pg_ctl not found; install PostgreSQL 15 (apt-get install postgresql-15)" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/passd-pg.XXXXXX)
chmod 755 "$tmp"
run_as=()
if [ "$(id -u)" = "0" ]; then
  chown postgres "$tmp"
  run_as=(runuser -u postgres --)
fi
port=${PASSD_TEST_PG_PORT:-$((20000 + RANDOM % 20000))}

cleanup() {
  "${run_as[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"${run_as[@]}" "$pgbin/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --no-locale >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 1; }
# fsync stays on: benchmarks must measure a durable commit.
"${run_as[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/pg.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c max_connections=200 -c shared_buffers=256MB" start >/dev/null \
  || { cat "$tmp/pg.log" >&2; exit 1; }

export PASSD_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export PASSD_TEST_PGBIN="$pgbin"
# The server also listens on a Unix socket in $tmp (-k): benchmarks reach it
# there as passd on the database host would.
export PASSD_TEST_PG_SOCKET_DIR="$tmp"
set +e
"$@"
rc=$?
set -e
exit $rc
