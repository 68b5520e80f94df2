#!/usr/bin/env bash
# HTTP benchmark, fedagent against nginx serving the same Consul-shaped
# answer, side by side in one run (../shared/bench/http_compare.sh).
#
#   bench/http.sh [http_compare.sh options, e.g. -n 3 -s 10]
#
# Builds a clean static release binary, starts nginx (127.0.0.1:8500) and
# fedagent -dev (HTTP 127.0.0.1:8501, gossip 127.0.0.1:18301), loads the
# shared fixture into fedagent, compares GET /v1/health/service/web?passing,
# then stops both by PID. Needs root for apt (nginx-light wrk curl).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/bench/common.sh"
bench_shared_work httpbench
bench_packages nginx-light wrk curl

BIN=$(bench_binary "$ROOT")

"$WORK/http_anchor_up.sh"
"$BIN" agent -dev -node bench -serf-lan-port 18301 -http-port 8501 -dns-port 0 -log-level warn &
agent_pid=$!
for _ in $(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:8501/v1/status/leader && break; sleep 0.1; done
"$WORK/fixture/load_fixture.sh" http://127.0.0.1:8501

cd "$WORK"
./http_compare.sh "$@" 'nginx=http://127.0.0.1:8500/v1/health/service/web?passing' \
                       'fedagent=http://127.0.0.1:8501/v1/health/service/web?passing'
mkdir -p "$ROOT/bench/results"
cp results/http-*.log "$ROOT/bench/results/" 2>/dev/null || true
