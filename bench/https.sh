#!/usr/bin/env bash
# HTTPS benchmark: fedagent's HTTPS API against nginx with TLS on the same
# certificate, serving the same Consul-shaped answer, side by side in one
# run (../shared/bench/http_compare.sh; CPU per request is srv_us_per_req).
#
#   bench/https.sh [http_compare.sh options, e.g. -n 3 -s 10]
#
# A CA and one server certificate from `fedagent tls` (ECDSA P-256, SANs
# 127.0.0.1 and localhost) for both. nginx: the shared anchor's config with
# `ssl` on its listener (TLS 1.2-1.3, its default suites, no session
# tickets: fedagent has none either); fedagent -dev with -https-port 8502
# (its plain HTTP API on 8501 loads the fixture). wrk keeps its connections
# open, so this is the cost of records, not of handshakes. Needs root (apt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/bench/common.sh"
bench_shared_work httpsbench
bench_packages nginx-light wrk curl

BIN=$(bench_binary "$ROOT")
mkdir -p "$WORK/tls" && (cd "$WORK/tls" && "$BIN" tls ca create >/dev/null && "$BIN" tls cert create -server -dc dc1 >/dev/null)
CA="$WORK/tls/consul-agent-ca.pem" CERT="$WORK/tls/dc1-server-consul-0.pem" KEY="$WORK/tls/dc1-server-consul-0-key.pem"
chmod a+r "$KEY"  # nginx reads it as root before dropping to www-data; the scratch dir is ours
sed -i "s#listen 127.0.0.1:8500;#listen 127.0.0.1:8500 ssl; ssl_certificate $CERT; ssl_certificate_key $KEY; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_tickets off;#" \
    "$WORK/http/nginx.conf"
grep -q "listen 127.0.0.1:8500 ssl" "$WORK/http/nginx.conf" || { echo "could not put TLS into the nginx config" >&2; exit 1; }
# The shared scripts probe with curl: trust the CA.
export CURL_CA_BUNDLE="$CA"
sed -i "s#http://127.0.0.1:8500#https://127.0.0.1:8500#" "$WORK/http_anchor_up.sh"

"$WORK/http_anchor_up.sh"
"$BIN" agent -dev -node bench -serf-lan-port 18301 -http-port 8501 -https-port 8502 -dns-port 0 -log-level warn \
    -ca-file "$CA" -cert-file "$CERT" -key-file "$KEY" &
agent_pid=$!
for _ in $(seq 50); do curl -fsS -o /dev/null https://127.0.0.1:8502/v1/status/leader && break; sleep 0.1; done
"$WORK/fixture/load_fixture.sh" http://127.0.0.1:8501

cd "$WORK"
./http_compare.sh "$@" 'nginx-tls=https://127.0.0.1:8500/v1/health/service/web?passing' \
                       'fedagent-tls=https://127.0.0.1:8502/v1/health/service/web?passing'
mkdir -p "$ROOT/bench/results"
for f in results/http-*.log; do cp "$f" "$ROOT/bench/results/https-${f#results/http-}"; done
