#!/usr/bin/env bash
# Two builds of releaseboard compared run by run, interleaved, each on fresh databases: the
# rows of docs/performance.md that a change must not move (SQLite and PostgreSQL ingestion,
# the release page at 10k and 1M deployments).
#
#   BASE=/path/to/old/releaseboard NEW=target/release/releaseboard benches/ab.sh sqlite|pg|reads|all
#
# The load generator is built once: cargo bench --bench load --no-run (LOAD= to give its path).
# PostgreSQL runs need PG (default postgres://postgres@127.0.0.1/postgres); they create and drop
# the database rb_bench. RUNS, INGEST_SECS, READ_SECS narrow a run.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:?the binary to compare against}
NEW=${NEW:-target/release/releaseboard}
LOAD=${LOAD:-$(cargo bench --bench load --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*load[^"]*\)".*/\1/p' | tail -1)}
ONLY=${1:-all}
RUNS=${RUNS:-3}
DIR=${DIR:-/tmp/rb-ab}; mkdir -p $DIR
PORT=18090; URL=http://127.0.0.1:$PORT
PG=${PG:-postgres://postgres@127.0.0.1/postgres}
SERVER=
serve() { "$1" --database-url "$2" --bind 127.0.0.1:$PORT >"$DIR/server.log" 2>&1 & SERVER=$!
  for _ in $(seq 1 200); do curl -sf $URL/api/health >/dev/null && return 0; sleep 0.1; done
  echo "server did not start"; cat $DIR/server.log; exit 1; }
stop() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true; SERVER=; }
trap stop EXIT
name() { [ "$1" = "$BASE" ] && echo before || echo after; }

ingest() { # backend
  for run in $(seq 1 $RUNS); do
    for scenario in ingest-unique ingest-repeat; do
      for bin in $BASE $NEW; do
        if [ "$1" = sqlite ]; then
          rm -f $DIR/ingest.db*; url=$DIR/ingest.db
        else
          psql $PG -qc 'DROP DATABASE IF EXISTS rb_bench' >/dev/null; psql $PG -qc 'CREATE DATABASE rb_bench' >/dev/null
          url=${PG%/*}/rb_bench
        fi
        key=$("$bin" --database-url "$url" api-key create bench --scope ingest 2>/dev/null)
        serve "$bin" "$url"
        printf '%s %s %s run=%s ' "$1" "$scenario" "$(name $bin)" "$run"
        "$LOAD" --url $URL --scenario $scenario --connections 32 --duration ${INGEST_SECS:-30} --server-pid $SERVER --api-key "$key"
        stop
      done
    done
  done
}

reads() {
  for n in 10000 1000000; do
    for bin in $BASE $NEW; do
      db=$DIR/$(name $bin)-$n.db
      if [ ! -f $db ]; then
        start=$(date +%s.%N)
        "$bin" --database-url $db seed --products 50 --environments 10 --releases 10000 --deployments $n >/dev/null
        end=$(date +%s.%N)
        printf 'seed %s %s: %.1f s\n' "$(name $bin)" $n "$(awk "BEGIN { print $end - $start }")"
      fi
    done
    for run in $(seq 1 $RUNS); do
      for bin in $BASE $NEW; do
        serve "$bin" $DIR/$(name $bin)-$n.db
        printf 'release-page deployments=%s %s run=%s ' $n "$(name $bin)" $run
        "$LOAD" --url $URL --scenario release-page --connections 1 --duration ${READ_SECS:-10} --server-pid $SERVER
        stop
      done
    done
  done
}

case $ONLY in
  sqlite) ingest sqlite ;;
  pg) ingest pg ;;
  reads) reads ;;
  all) ingest sqlite; ingest pg; reads ;;
esac
