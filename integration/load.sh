#!/usr/bin/env bash
# Bounded loopback load test of a real authgate binary with wrk (Debian
# package `wrk`). Not part of `go test`: run by hand to measure requests/s.
#
#   bash integration/load.sh                      # embedded SQLite in a temp dir
#   bash integration/load.sh 'postgres://u:p@127.0.0.1:5432/db?sslmode=disable'
#
# It builds the binary, serves on 127.0.0.1 with rate limits off, creates an
# API token and a client_credentials client, and runs wrk (2 threads, 16
# connections, 10 s) against four requests. Only loopback is ever targeted.
set -euo pipefail
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/authgate" ./cmd/authgate
db=${1:-$work/load.db}
port=${PORT:-18299}
dur=${DURATION:-10s}
ag() { "$work/authgate" --database-url "$db" "$@"; }

AUTHGATE_ADMIN_PASSWORD=load-test-admin AUTHGATE_AUTH__API_RATE_AUTHENTICATED=-1 \
AUTHGATE_AUTH__TOKEN_ENDPOINT_CLIENT_RATE=-1 AUTHGATE_LOG__LEVEL=warn \
  "$work/authgate" serve --addr "127.0.0.1:$port" --database-url "$db" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done

tok=$(ag token create --user admin --note load 2>/dev/null)
ag client create --name load --grant client_credentials --scope session:read --output json >"$work/c.json" 2>/dev/null
cid=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["client_id"])' "$work/c.json")
csec=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["client_secret"])' "$work/c.json")
at=$(curl -sf -u "$cid:$csec" -d grant_type=client_credentials -d scope=session:read "http://127.0.0.1:$port/oauth/token" |
  python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body   = "grant_type=client_credentials&scope=session:read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
basic=$(printf '%s:%s' "$cid" "$csec" | base64 -w0)
url="http://127.0.0.1:$port"
run() { echo "--- $1"; shift; wrk -t2 -c16 -d"$dur" "$@" | grep -E 'Requests/sec|Latency|Non-2xx'; }
run "API token, GET /api/session/" -H "Authorization: token $tok" "$url/api/session/"
run "JWT bearer, GET /api/session/" -H "Authorization: Bearer $at" "$url/api/session/"
run "malformed API token (refused before the database)" -H "Authorization: token agp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" "$url/api/session/"
run "POST /oauth/token (client_credentials)" -s "$work/post.lua" -H "Authorization: Basic $basic" "$url/oauth/token"
