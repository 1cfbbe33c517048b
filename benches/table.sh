#!/usr/bin/env bash
# Reruns every figure of docs/performance.md: seeds each dataset, serves it with the release
# build, drives each scenario RUNS times with benches/load.rs and prints one line per run.
# Run it on an otherwise idle machine; the budgets are medians of three runs.
#
#   cargo build --release && cargo bench --bench load --no-run
#   benches/table.sh                      # everything, ~20 minutes
#   ONLY=ingest benches/table.sh          # one group: seed, reads, wide, ingest, ingest-pg
#   ONLY=reads READS=history benches/table.sh   # some read scenarios on the seeded datasets
#
# Datasets already in $DIR are reused by `ONLY=reads` and `ONLY=wide`; a full run (or RESEED=1)
# seeds them again, since the seed time is one of the figures.
#
# PostgreSQL ingestion needs PG_ADMIN_URL (default postgres://postgres@127.0.0.1/postgres);
# it creates and drops the database rb_bench.
set -euo pipefail
cd "$(dirname "$0")/.."

B=${B:-target/release/releaseboard}
RUNS=${RUNS:-3}
READ_SECS=${READ_SECS:-10}
INGEST_SECS=${INGEST_SECS:-30}
DIR=${DIR:-/tmp/rb-bench}
PORT=${PORT:-18090}
URL=http://127.0.0.1:$PORT
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1/postgres}
ONLY=${ONLY:-}
READS=${READS:-release-page state-api dashboard releases-list history}
mkdir -p "$DIR"

# The load generator, built once; cargo's own start-up stays out of the figures.
LOAD=$(cargo bench --bench load --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*load[^"]*\)".*/\1/p' | tail -1)
[ -x "$LOAD" ] || { echo "build the load generator first: cargo bench --bench load --no-run" >&2; exit 1; }

want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

SERVER=
serve() { # serve DATABASE_URL
    "$B" --database-url "$1" --bind "127.0.0.1:$PORT" >"$DIR/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do
        curl -sf "$URL/api/health" >/dev/null && return 0
        sleep 0.1
    done
    echo "server did not start; see $DIR/server.log" >&2
    exit 1
}
stop() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    SERVER=
}
trap stop EXIT

drive() { # drive LABEL SCENARIO CONNECTIONS SECONDS [load args…]
    local label=$1 scenario=$2 conns=$3 secs=$4
    shift 4
    for run in $(seq 1 "$RUNS"); do
        printf '%s run=%s ' "$label" "$run"
        "$LOAD" --url "$URL" --scenario "$scenario" --connections "$conns" --duration "$secs" \
            --server-pid "$SERVER" "$@"
    done
}

seed() { # seed FILE PRODUCTS ENVIRONMENTS RELEASES DEPLOYMENTS
    rm -f "$1" "$1-wal" "$1-shm"
    local start end
    start=$(date +%s.%N)
    "$B" --database-url "$1" seed --products "$2" --environments "$3" --releases "$4" \
        --deployments "$5" >/dev/null
    end=$(date +%s.%N)
    printf 'seed %s×%s releases=%s deployments=%s: %.1f s, %s MB\n' "$2" "$3" "$4" "$5" \
        "$(awk "BEGIN { print $end - $start }")" "$(( $(stat -c %s "$1") / 1000000 ))"
}

seeded() { # seeded FILE PRODUCTS ENVIRONMENTS RELEASES DEPLOYMENTS: seed unless reusable
    if [ ! -f "$1" ] || [ -n "${RESEED:-}" ] || want seed; then
        seed "$@"
    fi
}

if want seed || want reads; then
    for n in 10000 100000 1000000; do
        db=$DIR/d$n.db
        seeded "$db" 50 10 10000 "$n"
        if want reads; then
            serve "$db"
            for scenario in $READS; do
                drive "reads deployments=$n" "$scenario" 1 "$READ_SECS"
            done
            stop
        fi
    done
fi

if want wide; then
    db=$DIR/wide.db
    seeded "$db" 1000 20 100 200000
    serve "$db"
    for scenario in state-api dashboard; do
        drive "wide 1000×20" "$scenario" 1 "$READ_SECS"
    done
    stop
fi

ingest() { # ingest LABEL DATABASE_URL
    for scenario in ingest-unique ingest-repeat; do
        for run in $(seq 1 "$RUNS"); do
            fresh
            local key
            key=$("$B" --database-url "$2" api-key create bench --scope ingest 2>/dev/null)
            serve "$2"
            RUNS=1 drive "$1 run-of-$RUNS=$run" "$scenario" 32 "$INGEST_SECS" --api-key "$key"
            stop
        done
    done
}

if want ingest; then
    fresh() { rm -f "$DIR/ingest.db" "$DIR/ingest.db-wal" "$DIR/ingest.db-shm"; }
    ingest "ingest sqlite" "$DIR/ingest.db"
fi

if want ingest-pg; then
    fresh() {
        psql "$PG_ADMIN_URL" -qc 'DROP DATABASE IF EXISTS rb_bench' >/dev/null
        psql "$PG_ADMIN_URL" -qc 'CREATE DATABASE rb_bench' >/dev/null
    }
    ingest "ingest postgres" "${PG_ADMIN_URL%/*}/rb_bench"
fi
