#!/usr/bin/env bash
# Two isolated datacenters, federated through their servers (root).
#
#   scripts/federation-demo.sh
#
# Builds the release binary, then in network namespaces: dc1 and dc2, each a
# LAN with one server and one client; only the servers are on the WAN
# bridge. Registers `backend` on dc2's client and, from dc1's client (which
# cannot reach dc2's network at all), shows `fedagent members -wan`,
# `dig backend.service.dc2.consul` and `/v1/health/service/backend?dc=dc2`,
# all answered through the gateways. Cleans up everything on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
for tool in ip dig curl; do
    command -v "$tool" >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends iproute2 bind9-dnsutils curl; break; }
done
(cd "$ROOT" && swift build -c release --static-swift-stdlib --product fedagent)
BIN="$ROOT/.build/release/fedagent"

. "$ROOT/scripts/netns-federation.sh"
trap fed_down EXIT
fed_topology 2 1 1
for dc in 1 2; do
    fed_agent "$BIN" s1 "$dc" server
    fed_agent "$BIN" c1 "$dc" client
done

show() { echo; echo "[$1]\$ ${*:2}"; fed_exec "$1" "${@:2}"; }
fed_wait 30 "both servers in the WAN pool" \
    sh -c "ip netns exec $(fed_ns 1s1) '$BIN' members -wan | grep -c ' alive ' | grep -qx 2"
fed_wait 30 "dc2's client in dc2's LAN pool" sh -c "ip netns exec $(fed_ns 2c1) '$BIN' members | grep -q 'c1 .* alive'"
fed_exec 2c1 curl -fsS -X PUT 127.0.0.1:8500/v1/agent/service/register \
    -d '{"Name":"backend","Port":9090,"Tags":["v1"],"Check":{"TTL":"10m","Status":"passing"}}'
echo "registered backend (port 9090) on dc2's client, 10.231.2.11"

show 1c1 sh -c "timeout 2 bash -c 'echo > /dev/tcp/10.231.2.11/8301' 2>/dev/null && echo 'reachable?!' || echo 'dc2 (10.231.2.11) is not reachable from dc1'"
show 1s1 "$BIN" members -wan
show 1c1 "$BIN" members
fed_wait 30 "backend visible from dc1" sh -c "ip netns exec $(fed_ns 1c1) dig +short @127.0.0.1 -p 8600 backend.service.dc2.consul | grep -q 10.231.2.11"
show 1c1 dig +noall +answer +additional @127.0.0.1 -p 8600 backend.service.dc2.consul SRV
show 1c1 curl -s '127.0.0.1:8500/v1/health/service/backend?dc=dc2&passing&pretty'
show 1c1 curl -s 127.0.0.1:8500/v1/catalog/datacenters
echo
echo "Federation works: dc1 resolved and read dc2's backend through the two servers."
