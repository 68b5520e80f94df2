#!/usr/bin/env bash
# Federation figures, measured in isolated datacenters (root):
#   1. latency of a cross-datacenter read (?dc=dc2) against a local one,
#      one keep-alive connection (wrk --latency), from a dc1 client;
#   2. cross-datacenter DNS q/s through dc1's server (dnsperf against the
#      dc1 client's DNS, names in dc2), against local names;
#   3. WAN failure detection: kill -9 one of dc2's servers, time until
#      dc1's server lists it failed (median of ROUNDS).
#
#   bench/federation.sh [SECONDS] [ROUNDS]
#
# Topology (scripts/netns-federation.sh): dc1 and dc2, each 2 servers and
# 1 client; only servers on the WAN bridge. Builds a clean static release
# binary first. Results go to bench/results/federation-<time>.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS=${1:-10}
ROUNDS=${2:-5}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
. "$ROOT/bench/common.sh"
bench_packages wrk dnsperf bind9-dnsutils curl
BIN=$(bench_binary "$ROOT")
mkdir -p "$ROOT/bench/results"
LOG="$ROOT/bench/results/federation-$(date -u +%Y%m%dT%H%M%SZ).log"

. "$ROOT/scripts/netns-federation.sh"
trap fed_down EXIT
fed_topology 2 2 1
for dc in 1 2; do
    fed_agent "$BIN" s1 "$dc" server
    fed_agent "$BIN" s2 "$dc" server
    fed_agent "$BIN" c1 "$dc" client
done
fed_wait 60 "4 servers in the WAN pool" sh -c "ip netns exec $(fed_ns 1s1) '$BIN' members -wan | grep -c ' alive ' | grep -qx 4"
for dc in 1 2; do
    fed_wait 30 "dc$dc's LAN pool" sh -c "ip netns exec $(fed_ns "${dc}c1") '$BIN' members | grep -c ' alive ' | grep -qx 3"
    fed_exec "${dc}c1" curl -fsS -X PUT 127.0.0.1:8500/v1/agent/service/register \
        -d "{\"Name\":\"web$dc\",\"Port\":8080,\"Check\":{\"TTL\":\"1h\",\"Status\":\"passing\"}}"
done
fed_wait 30 "dc2 readable from dc1" sh -c "ip netns exec $(fed_ns 1c1) curl -fsS '127.0.0.1:8500/v1/health/service/web2?dc=dc2&passing' | grep -q web2"

# Everything below runs in this shell (not a piped subshell), so the agents
# started during the rounds are the ones fed_down stops.
exec > >(tee "$LOG") 2>&1
echo "# federation bench: $(uname -sr), $(nproc) cpus, ${SECS}s per phase, $ROUNDS detection rounds"
echo "## HTTP read latency from dc1's client, 1 connection (wrk -t1 -c1 --latency)"
for target in "local /v1/health/service/web1?passing" "cross-dc /v1/health/service/web2?dc=dc2&passing"; do
    label=${target%% *} path=${target#* }
    out=$(fed_exec 1c1 wrk -t1 -c1 -d"${SECS}s" --latency "http://127.0.0.1:8500$path")
    p50=$(echo "$out" | awk '$1=="50%" {print $2}') p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    echo "RESULT kind=http label=$label p50=$p50 p99=$p99 req_per_s=$rps"
done

echo "## DNS from dc1's client (dnsperf, 4 clients x 100 outstanding)"
printf 'web1.service.consul A\nweb1.service.consul SRV\n' > "$FED_DIR/local.txt"
printf 'web2.service.dc2.consul A\nweb2.service.dc2.consul SRV\n' > "$FED_DIR/remote.txt"
for label in local remote; do
    out=$(fed_exec 1c1 dnsperf -s 127.0.0.1 -p 8600 -d "$FED_DIR/$label.txt" -l "$SECS" -c 4 -q 100 -t 5 2>&1)
    qps=$(echo "$out" | awk '/Queries per second/ {printf "%.0f", $4}')
    lost=$(echo "$out" | awk '/Queries lost/ {print $3}')
    avg=$(echo "$out" | awk '/Average Latency/ {print $4}')
    echo "RESULT kind=dns label=$label qps=$qps lost=$lost avg_s=$avg"
done

echo "## WAN failure detection: kill -9 a dc2 server, until dc1's s1 lists it failed"
victim=${FED_PIDS[4]}   # dc2's s2 (started in the order 1s1 1s2 1c1 2s1 2s2 2c1)
for round in $(seq "$ROUNDS"); do
    fed_wait 60 "s2.dc2 alive" sh -c "ip netns exec $(fed_ns 1s1) '$BIN' members -wan | grep -q 's2.dc2 .* alive'"
    start=$(date +%s.%N)
    kill -KILL "$victim"; wait "$victim" 2>/dev/null || true
    fed_forget "$victim"
    fed_wait 120 "s2.dc2 failed" sh -c "ip netns exec $(fed_ns 1s1) '$BIN' members -wan | grep -q 's2.dc2 .* failed'"
    end=$(date +%s.%N)
    echo "RESULT kind=wan_detect round=$round seconds=$(awk "BEGIN {printf \"%.2f\", $end - $start}")"
    fed_agent "$BIN" s2 2 server   # back, from the same data dir, for the next round
    victim=${FED_PIDS[-1]}
done
echo "(log: bench/results/$(basename "$LOG"))"
