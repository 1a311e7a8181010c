#!/usr/bin/env bash
# Measure a built authgate with `authgate bench` (see docs/performance.md).
# Not part of `go test`: run by hand on a quiet machine.
#
#   bash integration/bench.sh                 # SQLite in a temp dir, every scenario
#   SCENARIOS="token bearer" DURATION=5s bash integration/bench.sh
#   DATABASE_URL=postgres://u:p@127.0.0.1:5432/db bash integration/bench.sh
#
# DATABASE_URL, when set, is used instead of a fresh SQLite file: give it an
# empty database (migrations run at start) or one an earlier run set up.
#
# It builds the binary, starts `serve` on 127.0.0.1 with the rate limits
# off, times start to the first /readyz 200, then runs each scenario at
# CONCURRENCY (32) for DURATION (10s) with --setup, sampling the server's
# resident memory (VmRSS) every 100 ms. Results: $OUT (default
# ./bench-results), one JSON file per scenario plus summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
out=${OUT:-$PWD/bench-results}
mkdir -p "$out"
bin=${BIN:-$work/authgate}
[ -n "${BIN:-}" ] || go build -o "$bin" ./cmd/authgate
port=${PORT:-18399}
db=${DATABASE_URL:-$work/bench.db}
url=http://127.0.0.1:$port
export AUTHGATE_ADMIN_PASSWORD=bench-admin-password AUTHGATE_LOG__LEVEL=warn \
  AUTHGATE_AUTH__TOKEN_ENDPOINT_CLIENT_RATE=-1 AUTHGATE_AUTH__TOKEN_ENDPOINT_IP_FAIL_RATE=-1 \
  AUTHGATE_AUTH__API_RATE_AUTHENTICATED=-1 AUTHGATE_AUTH__API_FAILED_AUTH_ATTEMPTS=-1 \
  AUTHGATE_AUTH__LOGIN_ATTEMPTS=100000 AUTHGATE_AUTH__LOGIN_IP_ATTEMPTS=-1 AUTHGATE_AUTH__PASSWORD_HASH_WAIT=30s

t0=$(date +%s%N)
"$bin" serve --addr "127.0.0.1:$port" --database-url "$db" >"$work/serve.log" 2>&1 &
pid=$!
until curl -sf "$url/readyz" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.01
done
t1=$(date +%s%N)
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)  $(go version 2>/dev/null || true)"
  echo "database: $(case $db in postgres*) echo PostgreSQL;; *) echo SQLite;; esac)"
  echo "serve start to /readyz 200: $(((t1 - t0) / 1000000)) ms (migrations included on a fresh database); RSS $(rss) KiB"
  printf '%-11s %9s %8s %8s %8s %8s %7s %10s\n' scenario req/s p50ms p90ms p99ms maxms errors peakRSS_KiB
} >"$out/summary.txt"
for s in ${SCENARIOS:-token introspect bearer api-token refresh authorize}; do
  "$bin" bench "$s" --setup --database-url "$db" --target "$url" --concurrency "${CONCURRENCY:-32}" \
    --duration "${DURATION:-10s}" --output json >"$out/$s.json" 2>"$work/bench.err" &
  bpid=$!
  peak=0
  while kill -0 "$bpid" 2>/dev/null; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.1; done
  wait "$bpid" || { cat "$work/bench.err"; exit 1; }
  python3 - "$out/$s.json" "$peak" >>"$out/summary.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); l = r["latency_ms"]
print(f'{r["scenario"]:<11} {r["requests_per_second"]:9.1f} {l["p50"]:8.2f} {l["p90"]:8.2f} {l["p99"]:8.2f} {l["max"]:8.2f} {r["errors"]:7d} {int(sys.argv[2]):10d}')
PY
done
cat "$out/summary.txt"
