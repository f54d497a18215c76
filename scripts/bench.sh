#!/usr/bin/env bash
# Runs passd's benchmarks beside the ceilings they are judged against, in one
# run on one machine. Called by `make bench` inside scripts/with-postgres.sh,
# so PASSD_TEST_DATABASE_URL names a throwaway PostgreSQL 15 (fsync on).
#   1. ledger earn throughput through the store (SQLite and PostgreSQL, 1 and
#      16 goroutines, tx/s and p50/p99) beside pgbench -N at 1 and 16 clients;
#   2. a member read (the one query of a pass fetch) per store;
#   3. passes built and signed per second (1 core, all cores) beside raw
#      RSA-2048 signing with the same key, and on all cores with each
#      signer (Go, OpenSSL) beside `openssl speed -multi N rsa2048`;
#   4. APNs push fan-out to 10,000 devices over loopback (the client alone);
#   5. one merchant message to 10,000 registered devices through a running
#      passd (API, store, sync engine, APNs client) to the mock APNs
#      (pushes/s), then every device fetching its changed pass through the
#      PassKit web service (fetches/s) beside raw RSA-2048 signing with the
#      same key in the same run (signs/s, fetch/sign-%) and passd's own
#      pass builds (builds/s, fetch/build-%), on SQLite and on PostgreSQL
#      over TCP and over its Unix socket;
#   6. one message to 100,000 devices through passd run as its own
#      process, with each signer: from the POST to the last device's
#      fetch, a till's earns meanwhile, passd's RSS;
#   7. earns over HTTP from 16 tills beside pgbench -N -c 16 (before and
#      after, on the same PostgreSQL), then with Google Wallet off and on,
#      paced and unpaced; earns over HTTP on SQLite with group commit on
#      and off (16 clients), and through the store
#      (BenchmarkPostEarnGroupCommit, after the ledger part);
#   8. a change to a programme of 100,000 cards, marked in batches of 500,
#      250 and 100 cards, while 4 tills post earns: the earns' p50/p99/max
#      (goal p99 < 100 ms) beside the same tills with no marking, the
#      marking's cards/s and its longest batch, on SQLite and PostgreSQL;
#      the sync engine's wake-up with 100,000 delivered cards;
#   7. earns in a programme with a campaign and a 365-day expiry beside
#      plain earns on the same store in the same run (goal >= 0.9x), and
#      100,000 lots expiring while 4 tills earn (goal < 60 s; the earns'
#      p50/p99/max beside the same tills with nothing expiring).
#   8. a programme's figures (GET .../stats) at 1,000,000 ledger entries
#      (goal < 50 ms), beside one SQL sum over the programme's ledger, on
#      SQLite and PostgreSQL.
# The load average is printed with each figure: other work on the machine
# lowers them all.
set -euo pipefail
benchtime=${1:-3s}
cd "$(dirname "$0")/.."

echo "== machine"
echo "cpus: $(nproc)  go: $(go version | cut -d' ' -f3)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
load

pgbench=${PASSD_TEST_PGBIN:+$PASSD_TEST_PGBIN/}pgbench
if [ -n "${PASSD_TEST_DATABASE_URL:-}" ]; then
  echo "== PostgreSQL ceiling: pgbench -N (simple update, no branch/teller contention), same server"
  psql_url=$PASSD_TEST_DATABASE_URL
  "$pgbench" -q -i -s 16 "$psql_url" >/dev/null 2>&1
  for c in 1 16; do
    j=$(( c < 2 ? 1 : 2 ))
    tps=$("$pgbench" -n -N -c "$c" -j "$j" -T 10 "$psql_url" 2>/dev/null | awk '/^tps/ {print $3; exit}')
    echo "pgbench -N -c $c -j $j -T 10: $tps tps"
  done
  "$pgbench" -q -i -I d "$psql_url" >/dev/null 2>&1 || true
fi

echo "== ledger earn through the store (BenchmarkPostEarn; BenchmarkPostEarnAmount: amount earns weighing 50 campaigns) beside SQLite's own ceiling (BenchmarkSQLiteCeiling: the pgbench -N transaction on the same driver and settings)"
go test -run '^$' -bench 'BenchmarkPostEarn|BenchmarkSQLiteCeiling' -benchtime "$benchtime" ./internal/store/

echo "== SQLite group commit: earns through the store at 1 and 16 clients, group commit on vs off alternated in one run (tx/s, p50/p99 of each, on/off)"
go test -run '^$' -bench 'BenchmarkPostEarnGroupCommit' -benchtime 8000x ./internal/store/

echo "== member read, the one query of a pass fetch (16 goroutines; on PostgreSQL with the database's own CPU per read)"
go test -run '^$' -bench 'BenchmarkMemberRead' -benchtime 20000x ./internal/store/

echo "== pass build and sign vs raw RSA-2048 (-cpu 1 = one core; Parallel at -cpu $(nproc) = all cores)"
go test -run '^$' -bench 'BenchmarkBuild$|BenchmarkBuildFileSet$|BenchmarkRSASign2048$' -benchtime "$benchtime" -cpu 1 ./passkit/
go test -run '^$' -bench 'BenchmarkBuildParallel$|BenchmarkBuildFileSetParallel$|BenchmarkRSASign2048Parallel$' -benchtime "$benchtime" -cpu "$(nproc)" ./passkit/
echo "== passes built and signed per second on all cores beside openssl speed -multi $(nproc) rsa2048, alternated second by second (goal with -tags openssl: ratio >= 0.8)"
for tags in openssl ""; do
  echo "-- signer: ${tags:-go}"
  go test -tags "$tags" -run '^$' -bench 'BenchmarkBuildVsOpenSSLSpeed' -benchtime 5x -cpu "$(nproc)" ./passkit/
done
echo "== pass build vs raw RSA-2048 alternated one by one (rate-%: the build rate as a share of the signing rate), and a build's work besides the RSA operation"
go test -run '^$' -bench 'BenchmarkBuildVsRSA|BenchmarkBuildOverhead' -benchtime "$benchtime" -cpu 1 ./passkit/

echo "== APNs fan-out to 10,000 devices over loopback (mock APNs: TLS, HTTP/2, client certificate), on 1, 2 (passd's) and 4 connections (goal >= 20,000 pushes/s)"
go test -run '^$' -bench 'BenchmarkPushFanout' -benchtime 3x ./passkit/apns/

echo "== one merchant message to 10,000 devices through passd: pushes/s (goal >= 5,000), then fetches/s vs signs/s (goal fetch/sign-% >= 85)"
load
# Each iteration is one message and 10,000 fetches (about a minute with its
# setup on 2 cores); without PASSD_TEST_DATABASE_URL the PostgreSQL run is
# skipped.
go test -run '^$' -bench 'BenchmarkMessageFanout' -benchtime "${FANOUT_TIMES:-1}x" -timeout 20m ./internal/server/
load

echo "== a message to 100,000 cards: passd (its own process) pushes every device, each lists and fetches its pass; POST to last fetch (goal < 60 s with OpenSSL), a till's earn p99 (goal < 200 ms), passd's RSS (goal < 100 MB)"
# PASSD_BENCH_CARDS=10000 for a quicker run. Each store sets up 100,000
# members and devices first (a few minutes on 2 cores).
for tags in openssl ""; do
  echo "-- signer: ${tags:-go}"
  go test -tags "$tags" -run '^$' -bench 'BenchmarkMessage100k' -benchtime 1x -timeout 60m ./internal/server/
  load
done

httpearn=$(mktemp)
echo "== earns over HTTP from 16 tills (a pos key, 1,000 members with devices) beside pgbench -N -c 16 on the same PostgreSQL right before and after (goal on PostgreSQL: earns/s >= 0.5x pgbench tps)"
if [ -n "${PASSD_TEST_DATABASE_URL:-}" ]; then
  "$pgbench" -q -i -s 16 "$psql_url" >/dev/null 2>&1
  before=$("$pgbench" -n -N -c 16 -j 2 -T 10 "$psql_url" 2>/dev/null | awk '/^tps/ {print $3; exit}')
  echo "pgbench -N -c 16 -j 2 -T 10 (before): $before tps"
fi
go test -run '^$' -bench 'BenchmarkHTTPEarn' -benchtime 3x -timeout 20m ./internal/server/ | tee "$httpearn"
if [ -n "${PASSD_TEST_DATABASE_URL:-}" ]; then
  after=$("$pgbench" -n -N -c 16 -j 2 -T 10 "$psql_url" 2>/dev/null | awk '/^tps/ {print $3; exit}')
  echo "pgbench -N -c 16 -j 2 -T 10 (after): $after tps"
  "$pgbench" -q -i -I d "$psql_url" >/dev/null 2>&1 || true
  awk -v b="$before" -v a="$after" '/BenchmarkHTTPEarn\/store=postgres/ { for (i = 1; i < NF; i++) if ($(i+1) == "earns/s") printf "HTTP earns / pgbench -N (mean of before and after): %.2f\n", $i / ((b + a) / 2) }' "$httpearn"
fi
rm -f "$httpearn"
load

echo "== earns over HTTP with Google Wallet on vs off (fake Google over TLS), paced as passd runs and unpaced (goal on/off >= 0.8)"
go test -run '^$' -bench 'BenchmarkEarnsGoogle' -benchtime 3x -timeout 20m ./internal/server/
load

echo "== earns over HTTP on SQLite, 16 clients, group commit on vs off alternated in one passd (earns/s, p50/p99 of each; goal on/off >= 3)"
go test -run '^$' -bench 'BenchmarkEarnsGroupCommit' -benchtime 5x -timeout 20m ./internal/server/
load

echo "== a programme change marking 100,000 cards while 4 tills earn: earn p99 during the marking (goal < 100 ms) vs no marking"
# One change per batch size and store, after an untimed set-up of about
# half a minute per store.
go test -run '^$' -bench 'BenchmarkProgramChange' -benchtime 1x -timeout 20m ./internal/store/
load

echo "== the sync engine's wake-up (claim and next due, both channels) with 100,000 delivered cards and 10 being delivered (its cost must follow the waiting cards)"
go test -run '^$' -bench 'BenchmarkSyncClaimAtScale' -benchtime 200x -timeout 20m ./internal/store/
load

echo "== earns with a campaign and a 365-day expiry vs plain earns, same store, same run (goal expiry/plain >= 0.9)"
go test -run '^$' -bench 'BenchmarkPostEarnExpiry' -benchtime "$benchtime" ./internal/store/

echo "== 100,000 lots expiring while 4 tills earn (goal expire-s < 60), earn p99 during it vs nothing expiring"
# One expiry of every lot per store, after an untimed set-up that posts
# the lots (1-3 minutes per store).
go test -run '^$' -bench 'BenchmarkExpireLots' -benchtime 1x -timeout 30m ./internal/store/

echo "== a programme's figures at 1,000,000 ledger entries (goal < 50 ms) beside a sum over its ledger"
# An untimed set-up of a few minutes per store.
go test -run '^$' -bench 'BenchmarkProgramStats' -benchtime "$benchtime" -timeout 30m ./internal/store/
load
