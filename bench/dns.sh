#!/usr/bin/env bash
# DNS benchmark, fedagent against dnsmasq and knot serving the same data,
# side by side in one run (../shared/bench/dns_compare.sh).
#
#   bench/dns.sh [dns_compare.sh options, e.g. -n 3 -s 10]
#
# Builds a clean static release binary, starts dnsmasq (127.0.0.1:8600) and
# knot (127.0.0.1:8601), and fedagent -dev (DNS 127.0.0.1:8700, HTTP
# 127.0.0.1:8501, gossip 127.0.0.1:18301), loads the shared fixture into
# fedagent, checks every server's answers (dns_check.sh), runs the
# interleaved comparison, then stops everything by PID. Needs root for apt
# (dnsperf dnsmasq-base knot bind9-dnsutils curl).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/bench/common.sh"
bench_shared_work dnsbench
bench_packages dnsperf dnsmasq-base knot bind9-dnsutils curl

BIN=$(bench_binary "$ROOT")

"$WORK/dns_anchor_up.sh" dnsmasq
"$WORK/dns_anchor_up.sh" knot
"$BIN" agent -dev -node bench -serf-lan-port 18301 -http-port 8501 -dns-port 8700 -log-level warn &
agent_pid=$!
for _ in $(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:8501/v1/status/leader && break; sleep 0.1; done
"$WORK/fixture/load_fixture.sh" http://127.0.0.1:8501

cd "$WORK"
./dns_compare.sh "$@" dnsmasq=127.0.0.1:8600 knot=127.0.0.1:8601 fedagent=127.0.0.1:8700
mkdir -p "$ROOT/bench/results"
cp results/dns-*.log "$ROOT/bench/results/" 2>/dev/null || true
