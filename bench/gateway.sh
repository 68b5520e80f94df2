#!/usr/bin/env bash
# Service traffic through the gateways against two chained HAProxy TCP
# proxies on the same path, and a direct connection, in one run (root).
#
#   bench/gateway.sh [SECONDS] [ROUNDS]
#
# With FED_TLS=1 (the default) the hop between the two relays is mutual
# TLS on both paths: the gateways' server port (verify_incoming,
# verify_server_hostname), and HAProxy `ssl crt ... ca-file ... verify
# required` (+ verifyhost) with the same certificates. FED_TLS=0: plaintext.
#
# Isolated datacenters (scripts/netns-federation.sh): dc1 and dc2 with one
# server and one client each; only the servers are on the WAN bridge. The
# backend (nginx serving 1 KiB, and an iperf3 server) runs in dc2's client.
# The load runs in dc1's server namespace, so the three paths have the same
# two relays between the same namespaces:
#   fedagent: 127.0.0.1:9191 (dc1 server's upstream) -> dc2 server (tunnel) -> backend
#   haproxy:  127.0.0.1:9292 (haproxy on dc1 server) -> haproxy on dc2 server :9393 -> backend
#   direct:   from dc2's server to the backend, one LAN hop (no relay)
# Figures: bulk throughput (iperf3, 1 stream, 10 s), and request latency
# over one keep-alive connection (wrk -t1 -c1 --latency), p50/p99; each
# round runs the paths in rotated order. Every server runs on cpu 1 and the
# load generator on cpu 0. Log: bench/results/gateway-<time>.log, ending
# with medians and the latency each relayed path adds over the direct one
# (bench/gateway_summary.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS=${1:-10}
ROUNDS=${2:-3}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
. "$ROOT/bench/common.sh"
bench_packages haproxy iperf3 nginx-light wrk curl
BIN=$(bench_binary "$ROOT")
mkdir -p "$ROOT/bench/results"
LOG="$ROOT/bench/results/gateway-$(date -u +%Y%m%dT%H%M%SZ).log"

. "$ROOT/scripts/netns-federation.sh"
OTHER_PIDS=()
cleanup() {
    for pid in "${OTHER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    fed_down
}
trap cleanup EXIT
fed_topology 2 1 1
fed_agent "$BIN" s1 1 server -upstream backend@dc2:9191
fed_agent "$BIN" c1 1 client
fed_agent "$BIN" s1 2 server
fed_agent "$BIN" c1 2 client

# The backend in dc2's client: nginx (1 KiB file) on :8080, iperf3 on :5201.
mkdir -p "$FED_DIR/www" && head -c 1024 /dev/zero | tr '\0' x > "$FED_DIR/www/1k.txt"
chmod -R a+rX "$FED_DIR"   # nginx's worker runs as www-data
cat > "$FED_DIR/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $FED_DIR/nginx.pid; error_log $FED_DIR/nginx.err;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000;
  server { listen 10.231.2.11:8080; root $FED_DIR/www; } }
EOF
# Straight `ip netns exec ... &`: it execs in place, so $! is the server's PID.
ip netns exec "$(fed_ns 2c1)" nginx -c "$FED_DIR/nginx.conf" & OTHER_PIDS+=($!)
ip netns exec "$(fed_ns 2c1)" iperf3 -s -B 10.231.2.11 -p 5201 >/dev/null 2>&1 & OTHER_PIDS+=($!)
fed_wait 30 "WAN pool" sh -c "ip netns exec $(fed_ns 1s1) '$BIN' members -wan | grep -c ' alive ' | grep -qx 2"
fed_wait 30 "dc2 LAN" sh -c "ip netns exec $(fed_ns 2c1) '$BIN' members | grep -c ' alive ' | grep -qx 2"
# One service name, two ports: the upstream reaches whichever instance is
# registered, so the two instances are registered as two services in turn.
register() {  # register PORT
    fed_exec 2c1 curl -fsS -X PUT 127.0.0.1:8500/v1/agent/service/register \
        -d "{\"Name\":\"backend\",\"ID\":\"backend\",\"Address\":\"10.231.2.11\",\"Port\":$1}"
    fed_wait 30 "backend on :$1 seen in dc2" sh -c "ip netns exec $(fed_ns 2s1) curl -fsS 127.0.0.1:8500/v1/catalog/service/backend | grep -q '\"ServicePort\":$1'"
}

# Two HAProxy TCP proxies on the same path: dc1's server -> dc2's server (WAN) -> backend.
haproxy_up() {  # haproxy_up NS LISTEN TARGET NAME [BIND_OPTIONS] [SERVER_OPTIONS]
    cat > "$FED_DIR/$4.cfg" <<EOF
global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend in
  bind $2 ${5:-}
  default_backend out
backend out
  server next $3 ${6:-}
EOF
    ip netns exec "$(fed_ns "$1")" haproxy -f "$FED_DIR/$4.cfg" -db >"$FED_DIR/$4.log" 2>&1 & OTHER_PIDS+=($!)
}
TLS_IN="" TLS_OUT=""
if [ "$FED_TLS" = 1 ]; then
    # The servers' own certificates (fed_tls_config), as HAProxy wants them: certificate and key in one file.
    T="$FED_DIR/tls"
    cat "$T/2s1/dc2-server-consul-0.pem" "$T/2s1/dc2-server-consul-0-key.pem" >"$T/hap-dc2.pem"
    cat "$T/1s1/dc1-server-consul-0.pem" "$T/1s1/dc1-server-consul-0-key.pem" >"$T/hap-dc1.pem"
    TLS_IN="ssl crt $T/hap-dc2.pem ca-file $T/consul-agent-ca.pem verify required"
    TLS_OUT="ssl crt $T/hap-dc1.pem ca-file $T/consul-agent-ca.pem verify required verifyhost server.dc2.consul"
fi
haproxy_up 2s1 10.231.100.21:9393 10.231.2.11:8080 hap-dc2-http "$TLS_IN"
haproxy_up 1s1 127.0.0.1:9292 10.231.100.21:9393 hap-dc1-http "" "$TLS_OUT"
haproxy_up 2s1 10.231.100.21:9394 10.231.2.11:5201 hap-dc2-iperf "$TLS_IN"
haproxy_up 1s1 127.0.0.1:9293 10.231.100.21:9394 hap-dc1-iperf "" "$TLS_OUT"
sleep 1
# As the shared harness does: every server (agents, proxies, backends) on
# cpu 1, the load generator on cpu 0, so placement is the same every round.
for ns in "${FED_NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns"); do taskset -a -cp 1 "$pid" >/dev/null; done
done

exec > >(tee "$LOG") 2>&1
echo "# gateway bench: $(uname -sr), $(nproc) cpus, ${SECS}s per phase, $ROUNDS rounds; haproxy $(haproxy -v | head -1 | awk '{print $3}'); TLS between the relays: $([ "$FED_TLS" = 1 ] && echo "mutual, both paths" || echo off)"
latency() {  # latency LABEL NS URL
    local out
    out=$(fed_exec "$2" taskset -c 0 wrk -t1 -c1 -d"${SECS}s" --latency "$3")
    if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "error: $1 got non-2xx answers" >&2; exit 1; fi
    echo "RESULT kind=latency label=$1 p50=$(echo "$out" | awk '$1=="50%" {print $2}') p99=$(echo "$out" | awk '$1=="99%" {print $2}') req_per_s=$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
}
throughput() {  # throughput LABEL NS HOST PORT
    local out
    out=$(fed_exec "$2" taskset -c 0 iperf3 -c "$3" -p "$4" -t "$SECS" -J)
    echo "RESULT kind=throughput label=$1 gbit_per_s=$(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9, 2))')"
}
for round in $(seq "$ROUNDS"); do
    echo "## round $round"
    register 8080
    paths=("fedagent 1s1 http://127.0.0.1:9191/1k.txt" "haproxy 1s1 http://127.0.0.1:9292/1k.txt" "direct 2s1 http://10.231.2.11:8080/1k.txt")
    for i in 0 1 2; do p=(${paths[$(((i + round) % 3))]}); latency "${p[0]}" "${p[1]}" "${p[2]}"; done
    register 5201
    paths=("fedagent 1s1 127.0.0.1 9191" "haproxy 1s1 127.0.0.1 9293" "direct 2s1 10.231.2.11 5201")
    for i in 0 1 2; do p=(${paths[$(((i + round) % 3))]}); throughput "${p[0]}" "${p[1]}" "${p[2]}" "${p[3]}"; done
done
/usr/bin/python3 "$ROOT/bench/gateway_summary.py" "$LOG"
echo "(log: bench/results/$(basename "$LOG"))"
