#!/usr/bin/env bash
# Sign-in under attack (docs/performance.md, "Sign-in flood"): what a flood of wrong passwords
# from many addresses does to the server's memory, to other requests and to ingestion.
#
#   cargo build --release && cargo bench --bench load --no-run
#   benches/signin.sh
#
# Each flood attempt signs in from a loopback address of its own (127.a.b.c), with a made-up
# name: neither the per-name nor the per-address limit stops it, only the bounded password work.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-target/release/releaseboard}
DIR=${DIR:-/tmp/rb-signin}; rm -rf "$DIR"; mkdir -p "$DIR"
PORT=${PORT:-18091}; URL=http://127.0.0.1:$PORT
LOAD=${LOAD:-$(cargo bench --bench load --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*load[^"]*\)".*/\1/p' | tail -1)}
DB=$DIR/signin.db
KEY=$("$B" --database-url "$DB" api-key create bench --scope ingest)
"$B" --database-url "$DB" --bind 127.0.0.1:$PORT >"$DIR/server.log" 2>&1 & PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf $URL/api/health >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$PID/status; }
load() { "$LOAD" --url $URL --server-pid $PID "$@"; }

echo "idle rss_mb=$(rss)"
echo "== 200 parallel wrong sign-ins for 10 s, then 10 s quiet"
load --scenario signin-flood --connections 200 --duration 10
for s in $(seq 1 10); do sleep 1; echo "after ${s}s rss_mb=$(rss)"; done

echo "== GET /api/health at 50/s: alone, then during 100 wrong sign-ins a second"
load --scenario health --connections 2 --rate 50 --duration 10
load --scenario signin-flood --connections 100 --rate 100 --duration 14 > "$DIR/flood1.txt" & F=$!
sleep 2
load --scenario health --connections 2 --rate 50 --duration 10
wait $F; cat "$DIR/flood1.txt"

echo "== ingestion (16 connections, 10 s), each on a fresh database: alone, then during 100 wrong sign-ins a second"
fresh() { # restarts the server on an empty database; sets KEY
    kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true
    rm -f "$DB" "$DB"-*
    KEY=$("$B" --database-url "$DB" api-key create bench --scope ingest 2>/dev/null)
    "$B" --database-url "$DB" --bind 127.0.0.1:$PORT >"$DIR/server.log" 2>&1 & PID=$!
    for _ in $(seq 1 100); do curl -sf $URL/api/health >/dev/null && break; sleep 0.1; done
}
for run in 1 2; do
    fresh
    RELEASEBOARD_API_KEY=$KEY load --scenario ingest-unique --connections 16 --duration 10
    fresh
    load --scenario signin-flood --connections 100 --rate 100 --duration 14 > "$DIR/flood2.txt" & F=$!
    sleep 2
    RELEASEBOARD_API_KEY=$KEY load --scenario ingest-unique --connections 16 --duration 10
    wait $F; cat "$DIR/flood2.txt"
done
echo "final rss_mb=$(rss)"
