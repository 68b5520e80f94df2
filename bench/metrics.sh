#!/usr/bin/env bash
# What metrics cost: the HTTP and DNS benchmarks with this checkout's
# binary and with BASE's (default dd7a991, the last commit before metrics),
# side by side in one run with their anchors (nginx; dnsmasq and knot).
#
#   bench/metrics.sh [http_compare.sh/dns_compare.sh options, e.g. -n 3 -s 10]
#   BASE=<commit> bench/metrics.sh ...
#
# Both binaries are built clean and static (scripts/build-release.sh); the
# base one from a temporary worktree. Agents: current on HTTP 8501 / DNS
# 8700, base on 8502 / 8701 (gossip 18301, 18302), both -dev with the shared
# fixture loaded. Stops everything by PID and removes the worktree.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/bench/common.sh"
BASE="${BASE:-dd7a991}"
bench_shared_work metricsbench
bench_packages nginx-light wrk curl dnsperf dnsmasq-base knot bind9-dnsutils

BIN=$(bench_binary "$ROOT")
TREE="$(mktemp -d /tmp/fedagent-base-XXXXXX)"
base_pid=""
cleanup_base() {
    [ -n "$base_pid" ] && kill "$base_pid" 2>/dev/null || true
    git -C "$ROOT" worktree remove --force "$TREE" >/dev/null 2>&1 || rm -rf "$TREE"
    bench_shared_cleanup
}
trap cleanup_base EXIT
git -C "$ROOT" worktree add --detach "$TREE" "$BASE" >/dev/null
BASE_BIN=$("$TREE/scripts/build-release.sh" "$TREE/.build-bench" 2>/dev/null | tail -1)

"$WORK/http_anchor_up.sh"
"$WORK/dns_anchor_up.sh" dnsmasq
"$WORK/dns_anchor_up.sh" knot
"$BIN" agent -dev -node bench -serf-lan-port 18301 -http-port 8501 -dns-port 8700 -log-level warn \
    -data-dir "$WORK/current" &
agent_pid=$!
"$BASE_BIN" agent -dev -node base -serf-lan-port 18302 -serf-wan-port 18303 -server-port 18300 -http-port 8502 \
    -dns-port 8701 -log-level warn -data-dir "$WORK/base" &
base_pid=$!
for port in 8501 8502; do
    for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/status/leader" && break; sleep 0.1; done
    "$WORK/fixture/load_fixture.sh" "http://127.0.0.1:$port"
done

cd "$WORK"
echo "== HTTP (current = $(git -C "$ROOT" rev-parse --short HEAD), base = $BASE)"
./http_compare.sh "$@" 'nginx=http://127.0.0.1:8500/v1/health/service/web?passing' \
                       'current=http://127.0.0.1:8501/v1/health/service/web?passing' \
                       'base=http://127.0.0.1:8502/v1/health/service/web?passing'
echo "== DNS"
./dns_compare.sh "$@" dnsmasq=127.0.0.1:8600 knot=127.0.0.1:8601 current=127.0.0.1:8700 base=127.0.0.1:8701
mkdir -p "$ROOT/bench/results"
cp results/http-*.log results/dns-*.log "$ROOT/bench/results/" 2>/dev/null || true
