#!/usr/bin/env bash
# ?filter= cost: the same health read with and without a filter expression,
# side by side in one run (../shared/bench/http_compare.sh), as CPU per
# request (srv_us_per_req) and throughput.
#
#   bench/filter.sh [http_compare.sh options, e.g. -n 3 -s 10]
#
# Builds a clean static release binary, starts fedagent -dev (HTTP
# 127.0.0.1:8501), loads the shared fixture, then compares
#   GET /v1/health/service/web?passing                      (unfiltered)
#   GET /v1/health/service/web?passing&filter=<expression>  (filtered)
# twice: once on a still catalog (answers come from the render cache, as
# for a read-mostly catalog), once with CHURN: a TTL check heartbeat with a
# new output every 20 ms, so that nearly every read renders (and filters)
# anew. Stops everything by PID. Needs root for apt (wrk curl).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/bench/common.sh"
bench_shared_work filterbench
bench_packages wrk curl

BIN=$(bench_binary "$ROOT")
"$BIN" agent -dev -node bench -serf-lan-port 18301 -http-port 8501 -dns-port 0 -log-level warn &
agent_pid=$!
churn_pid=
cleanup() { [ -n "$churn_pid" ] && kill "$churn_pid" 2>/dev/null; kill "$agent_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:8501/v1/status/leader && break; sleep 0.1; done
"$WORK/fixture/load_fixture.sh" http://127.0.0.1:8501
curl -fsS -X PUT -o /dev/null http://127.0.0.1:8501/v1/agent/check/register -d '{"ID":"churn","Name":"churn","TTL":"600s"}'

# Selects most instances through the service's tags, meta and checks.
FILTER='Service.Port != 1 and Checks.Status == passing and (Service.Tags is empty or "x" not in Service.Tags)'
ENC=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$FILTER")
BASE='http://127.0.0.1:8501/v1/health/service/web?passing'
echo "# filter: $FILTER"
echo "# answer sizes: unfiltered $(curl -fsS "$BASE" | wc -c) bytes, filtered $(curl -fsS "$BASE&filter=$ENC" | wc -c) bytes"

cd "$WORK"
echo "== still catalog"
./http_compare.sh "$@" "unfiltered=$BASE" "filtered=$BASE&filter=$ENC"
echo "== catalog changing every 20 ms"
( n=0; while :; do n=$((n + 1)); curl -fsS -X PUT -o /dev/null "http://127.0.0.1:8501/v1/agent/check/pass/churn?note=$n"; sleep 0.02; done ) &
churn_pid=$!
./http_compare.sh "$@" "unfiltered-churn=$BASE" "filtered-churn=$BASE&filter=$ENC"
mkdir -p "$ROOT/bench/results"
cp results/http-*.log "$ROOT/bench/results/" 2>/dev/null || true
