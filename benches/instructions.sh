#!/usr/bin/env bash
# Instructions the server executes for a piece of work, counted by callgrind: nearly the same
# total for the same binary and input whatever else the machine does (threads that wake on a
# timer, such as SQLite's checkpointer, move it by ~2 %), so two builds compare on a noisy
# machine. Requests are sent one after another to one worker.
#
#   benches/instructions.sh release-page BINARY SQLITE_FILE N     # N release pages (a seeded file)
#   benches/instructions.sh ingest-unique|ingest-repeat BINARY DATABASE_URL N
set -euo pipefail
WHAT=$1; BIN=$2; DB=$3; N=$4
PORT=${PORT:-18092}; URL=http://127.0.0.1:$PORT
OUT=$(mktemp /tmp/callgrind.XXXXXX)
if [ "$WHAT" != release-page ]; then
    KEY=$("$BIN" --database-url "$DB" api-key create "instr-$RANDOM" --scope ingest 2>/dev/null)
fi
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
    "$BIN" --database-url "$DB" --bind 127.0.0.1:$PORT --workers 1 >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 600); do curl -sf $URL/api/health >/dev/null && break; sleep 0.2; done

events() { # FIRST COUNT: deployment events, unique (product, version) pairs or one version again
    python3 - "$1" "$2" "$PORT" "$KEY" "$WHAT" <<'PY'
import http.client, json, sys
first, n, port, key, what = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(first, first + n):
    unique = what == "ingest-unique"
    body = json.dumps({"product_name": f"svc-{i}" if unique else f"svc-{i % 20}",
                       "version": f"1.{i}" if unique else "1.0",
                       "environment_name": ["Dev", "Test", "Staging", "Production"][i % 4],
                       "status": "success", "deployed_by": "bench"})
    c.request("POST", "/api/deployment-events/", body,
              {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    r = c.getresponse(); r.read()
    assert r.status in (200, 201), r.status
PY
}

if [ "$WHAT" = release-page ]; then
    ID=$(curl -sf "$URL/api/releases/?status=in_progress&limit=1" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
    curl -sf "$URL/releases/$ID" >/dev/null # warm
    callgrind_control -i on $PID >/dev/null
    for _ in $(seq 1 "$N"); do curl -sf "$URL/releases/$ID" >/dev/null; done
else
    events 0 20 # warm
    callgrind_control -i on $PID >/dev/null
    events 1000 "$N"
fi
callgrind_control -i off $PID >/dev/null
kill $PID; wait $PID 2>/dev/null || true
callgrind_annotate "$OUT" 2>/dev/null | grep -m1 "PROGRAM TOTALS"
rm -f "$OUT"
