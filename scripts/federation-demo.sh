#!/usr/bin/env bash
# The seed's federation, end to end, on isolated networks (root).
#
#   scripts/federation-demo.sh
#
# Builds the release binary (or uses $FEDAGENT_BIN), then in network
# namespaces: dc1 and dc2, each a LAN with one server and one client; only
# the servers are on the WAN bridge. dc2's client runs the digit-classifier
# backend (examples/digits) and registers it as `backend`; dc1's client runs
# the frontend and registers it with an upstream `backend@dc2` on
# 127.0.0.1:9191. From dc1 (which cannot reach dc2's network at all) it
# shows `fedagent members -wan`, `dig backend.service.dc2.consul`,
# `/v1/health/service/backend?dc=dc2`, then loads the frontend's page, posts
# a digit to it and has headless Chromium draw one and read the prediction:
# every backend call crosses the two gateways. Exits non-zero if any step
# fails; cleans up everything on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
missing=()
for tool in ip:iproute2 dig:bind9-dnsutils curl:curl chromium:chromium; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
/usr/bin/python3 -c 'import sklearn' 2>/dev/null || missing+=(python3-sklearn)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ -z "${FEDAGENT_BIN:-}" ]; then
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --product fedagent)
    FEDAGENT_BIN="$ROOT/.build/release/fedagent"
fi
BIN=$FEDAGENT_BIN
APP="$ROOT/examples/digits"

. "$ROOT/scripts/netns-federation.sh"
APP_PIDS=()
cleanup() {
    for pid in "${APP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    fed_down
}
trap cleanup EXIT
fed_topology 2 1 1
for dc in 1 2; do
    fed_agent "$BIN" s1 "$dc" server
    fed_agent "$BIN" c1 "$dc" client
done

step() { echo; echo "== $*"; }
show() { echo "[$1]\$ ${*:2}"; fed_exec "$1" "${@:2}"; }
fail() { echo "FAILED: $*" >&2; for f in "$FED_DIR"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; exit 1; }

fed_wait 30 "both servers in the WAN pool" \
    sh -c "ip netns exec $(fed_ns 1s1) '$BIN' members -wan | grep -c ' alive ' | grep -qx 2" || fail "WAN pool"
for dc in 1 2; do
    fed_wait 30 "dc$dc's LAN pool" sh -c "ip netns exec $(fed_ns "${dc}c1") '$BIN' members | grep -c ' alive ' | grep -qx 2" || fail "LAN pool of dc$dc"
done

step "dc2: the backend (a digit classifier) on 10.231.2.11:9090, registered with an HTTP check"
# Straight `ip netns exec ... &` (no shell function in between): it execs in
# place, so $! is the app's own PID, the one cleanup ends.
ip netns exec "$(fed_ns 2c1)" env NODE_NAME=backend-dc2 /usr/bin/python3 "$APP/backend.py" --host 10.231.2.11 --port 9090 \
    >"$FED_DIR/backend.log" 2>&1 &
APP_PIDS+=($!)
fed_exec 2c1 curl -fsS -X PUT 127.0.0.1:8500/v1/agent/service/register -d '{"Name":"backend","Address":"10.231.2.11","Port":9090,
    "Check":{"HTTP":"http://10.231.2.11:9090/health","Interval":"2s","Timeout":"2s"}}'
fed_wait 60 "backend passing in dc2" sh -c "ip netns exec $(fed_ns 2c1) curl -fsS '127.0.0.1:8500/v1/health/service/backend?passing' | grep -q backend" \
    || fail "backend never passed its health check"

step "dc1: the frontend on 10.231.1.11:8080, with upstream backend@dc2 on 127.0.0.1:9191"
fed_exec 1c1 curl -fsS -X PUT 127.0.0.1:8500/v1/agent/service/register -d '{"Name":"frontend","Port":8080,
    "Connect":{"SidecarService":{"Proxy":{"Upstreams":[{"DestinationName":"backend","Datacenter":"dc2","LocalBindPort":9191}]}}}}'
ip netns exec "$(fed_ns 1c1)" /usr/bin/python3 "$APP/frontend.py" --host 10.231.1.11 --port 8080 --backend http://127.0.0.1:9191 \
    >"$FED_DIR/frontend.log" 2>&1 &
APP_PIDS+=($!)
fed_wait 30 "frontend up" fed_exec 1c1 curl -fsS -o /dev/null http://10.231.1.11:8080/upload-image || fail "frontend did not start"

step "dc1 cannot reach dc2's network"
fed_exec 1c1 timeout 2 bash -c 'echo > /dev/tcp/10.231.2.11/9090' 2>/dev/null && fail "dc1 reached dc2's backend directly"
echo "[1c1]\$ connect 10.231.2.11:9090 -> unreachable (no route), as intended"

step "the federation, seen from dc1"
show 1s1 "$BIN" members -wan
fed_wait 30 "backend resolvable from dc1" sh -c "ip netns exec $(fed_ns 1c1) dig +short @127.0.0.1 -p 8600 backend.service.dc2.consul | grep -qx 10.231.2.11" \
    || fail "backend.service.dc2.consul"
show 1c1 dig +noall +answer +additional @127.0.0.1 -p 8600 backend.service.dc2.consul SRV
show 1c1 sh -c "curl -s '127.0.0.1:8500/v1/health/service/backend?dc=dc2&passing' | head -c 300; echo ' ...'"

step "the frontend's page, and a digit posted to it (the backend answers through both gateways)"
code=$(fed_exec 1c1 curl -s -o "$FED_DIR/page.html" -w '%{http_code}' http://10.231.1.11:8080/upload-image)
[ "$code" = 200 ] && grep -q 'id="prediction"' "$FED_DIR/page.html" || fail "page load: HTTP $code"
echo "[1c1]\$ curl http://10.231.1.11:8080/upload-image -> $code, $(wc -c < "$FED_DIR/page.html") bytes"
sample=$(fed_exec 1c1 curl -fsS http://10.231.1.11:8080/api/sample/7) || fail "sample through the frontend"
answer=$(echo "$sample" | fed_exec 1c1 curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- http://10.231.1.11:8080/api/predict) \
    || fail "prediction through the frontend"
echo "[1c1]\$ POST /api/predict (a held-out 7) -> $answer"
echo "$answer" | grep -q '"digit": *7' || fail "the posted 7 was predicted as: $answer"

step "a person's view: headless Chromium in dc1 draws digits on the page and reads the prediction"
right=0
for digit in 3 5 8; do
    dom=$(fed_exec 1c1 timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --user-data-dir="$FED_DIR/chrome" --virtual-time-budget=15000 \
        --dump-dom "http://10.231.1.11:8080/upload-image?demo=$digit" 2>>"$FED_DIR/chromium.log") || true
    shown=$(echo "$dom" | sed -n 's|.*<[a-z]* id="prediction">\([^<]*\)<.*|\1|p' | head -n 1)
    echo "[1c1]\$ chromium --dump-dom '…/upload-image?demo=$digit' -> #prediction: ${shown:-(nothing)}"
    [ "$shown" = "Prediction: $digit" ] && right=$((right + 1))
done
[ "$right" -ge 2 ] || fail "Chromium saw $right of 3 digits predicted right"

echo
echo "Federation works: dc1's frontend used dc2's backend through the two gateways ($right of 3 page loads predicted right)."
