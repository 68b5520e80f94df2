#!/usr/bin/env bash
# What a Prometheus scrape costs the agent: two agents from the same clean
# static build, one scraped every second (GET /v1/agent/metrics?format=
# prometheus, as Prometheus does) and one left alone, for SECONDS (default
# 60); the CPU time each used, from /proc, and the difference as a share
# of one core. Agents on 127.0.0.1: HTTP 8511/8512, gossip 18311/18312.
#
#   bench/scrape.sh [SECONDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/bench/common.sh"
SECONDS_TO_RUN="${1:-60}"
bench_packages curl
BIN=$(bench_binary "$ROOT")
WORK="$(mktemp -d /tmp/fedagent-scrape-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
echo '{"telemetry": {"prometheus_retention_time": "60s", "disable_hostname": true}}' > "$WORK/telemetry.json"
for i in 1 2; do
    "$BIN" agent -dev -node "scrape$i" -serf-lan-port "1831$i" -serf-wan-port "1832$i" -server-port "1833$i" \
        -http-port "851$i" -dns-port 0 -log-level warn -data-dir "$WORK/a$i" -config-file "$WORK/telemetry.json" &
    pids+=($!)
done
for port in 8511 8512; do
    for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/status/leader" && break; sleep 0.1; done
done
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)
before1=$(cpu "${pids[0]}"); before2=$(cpu "${pids[1]}")
bytes=0
for _ in $(seq "$SECONDS_TO_RUN"); do
    n=$(curl -fsS 'http://127.0.0.1:8511/v1/agent/metrics?format=prometheus' | wc -c)
    bytes=$n
    sleep 1
done
after1=$(cpu "${pids[0]}"); after2=$(cpu "${pids[1]}")
python3 - "$before1" "$after1" "$before2" "$after2" "$ticks" "$SECONDS_TO_RUN" "$bytes" <<'PY'
import sys
b1, a1, b2, a2, ticks, secs, size = map(float, sys.argv[1:])
scraped, idle = (a1 - b1) / ticks, (a2 - b2) / ticks
print(f"scraped agent: {scraped:.3f} s CPU in {secs:.0f} s; idle agent: {idle:.3f} s; one scrape answers {size:.0f} bytes")
print(f"scrape cost: {(scraped - idle) / secs * 100:.3f} % of one core (goal < 1 %)")
PY
