#!/usr/bin/env bash
# End-to-end test of the digits example: starts backend.py and frontend.py on
# 127.0.0.1, checks their APIs with curl, then loads the frontend's
# upload-image page in headless Chromium with ?demo=<digit> (the page draws a
# held-out test image, presses Predict itself and shows the answer) and reads
# the prediction from the dumped DOM. Installs chromium, python3-sklearn and
# curl from Debian when missing (as root). Prints PASS/FAIL lines and
# "N passed, N failed"; exits non-zero on any failure.
#
#   examples/digits/test_page.sh            # env: DIGITS="0 3 7", PYTHON=...
set -uo pipefail
cd "$(dirname "$0")"
START=$SECONDS
PY=${PYTHON:-/usr/bin/python3}     # Debian's python3, where python3-sklearn lands
DIGITS=${DIGITS:-"0 1 2 3 4 5 6 7 8 9"}
passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

# --- what the test needs ------------------------------------------------------
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v curl >/dev/null || missing+=(curl)
"$PY" -c 'import sklearn, numpy' 2>/dev/null || missing+=(python3-sklearn)
if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then echo "FAIL: missing ${missing[*]} (run as root to install)"; exit 1; fi
    echo "installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || { echo "FAIL: apt-get install ${missing[*]}"; exit 1; }
    PY=/usr/bin/python3
fi

# --- start the two apps -------------------------------------------------------
TMP=$(mktemp -d /tmp/digits-test.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# The wanted port if nothing listens there, else one the kernel picks.
free_port() {
    "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the apps do
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}
BPORT=$(free_port 19090)
FPORT=$(free_port 18080)
[ "$BPORT" = 19090 ] || echo "note: port 19090 is busy, backend uses $BPORT"
[ "$FPORT" = 18080 ] || echo "note: port 18080 is busy, frontend uses $FPORT"
[ "$FPORT" != "$BPORT" ] || FPORT=$(free_port 0)
B=http://127.0.0.1:$BPORT F=http://127.0.0.1:$FPORT

NODE_NAME=test-backend "$PY" backend.py --host 127.0.0.1 --port "$BPORT" >"$TMP/backend.log" 2>&1 &
PIDS+=($!); BPID=$!
"$PY" frontend.py --host 127.0.0.1 --port "$FPORT" --backend "$B" >"$TMP/frontend.log" 2>&1 &
PIDS+=($!)

wait_up() {  # url pid: wait up to 60 s for 200, giving up if the process died
    for _ in $(seq 120); do
        curl -fs -o /dev/null "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.5
    done
    return 1
}
if ! wait_up "$B/health" "$BPID" || ! wait_up "$F/health" "${PIDS[1]}"; then
    fail "apps start"; tail -n 20 "$TMP"/*.log; echo "$passed passed, $failed failed"; exit 1
fi
pass "backend and frontend start"

# --- APIs ---------------------------------------------------------------------
# http METHOD URL [curl args...] -> sets $code and $body
http() { local m=$1 u=$2; shift 2; code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$u"); body=$(cat "$TMP/body"); }
json() { "$PY" -c "import json,sys; d=json.load(open('$TMP/body')); print($1)" 2>/dev/null; }

http GET "$B/health"
acc=$(json 'd["accuracy"] if d["status"] == "ok" else ""')
check "backend /health is 200 ok, held-out accuracy $acc" \
    test "$code" = 200 -a -n "$acc"
check "held-out accuracy >= 0.95" "$PY" -c "import sys; sys.exit(not float('${acc:-0}') >= 0.95)"
check "backend logs its accuracy at start" grep -q "held-out accuracy" "$TMP/backend.log"

http GET "$F/"
check "frontend / redirects to /upload-image" test "$code" = 302
http GET "$F/upload-image"
check "frontend serves the page" grep -q 'id="prediction"' "$TMP/body"

bad() {  # name body [content-type]: expect 400 with a JSON error, from backend and via frontend
    local ct=${3:-application/json}
    http POST "$B/predict" -H "Content-Type: $ct" --data-binary "$2"
    check "backend: $1 -> 400 ($(json 'd["error"]'))" test "$code" = 400 -a -n "$(json 'd["error"]')"
    http POST "$F/api/predict" -H "Content-Type: $ct" --data-binary "$2"
    check "frontend: $1 -> 400 passed through" test "$code" = 400 -a -n "$(json 'd["error"]')"
}
bad "not JSON" 'hello'
bad "no pixels" '{"image": [1, 2]}'
bad "not square" '{"pixels": [0, 1, 2, 3, 4]}'
bad "blank image" "{\"pixels\": [$(printf '0,%.0s' $(seq 63))0]}"
bad "value out of range" "{\"pixels\": [$(printf '0,%.0s' $(seq 63))300]}"
bad "broken PNG" 'not a png' image/png
head -c 1100000 /dev/zero >"$TMP/big"
http POST "$B/predict" -H 'Content-Type: application/json' --data-binary @"$TMP/big"
check "backend: body over 1 MB -> 413" test "$code" = 413
http GET "$B/nope"
check "backend: unknown path -> 404" test "$code" = 404

# A held-out 5 as a 32x32 grayscale PNG (dark ink on white, Sub-filtered rows).
"$PY" - "$B" >"$TMP/five.png" <<'EOF'
import json, struct, sys, urllib.request, zlib
px = json.load(urllib.request.urlopen(sys.argv[1] + "/sample/5"))["pixels"]
rows = [bytes(255 - px[(y // 4) * 8 + x // 4] * 255 // 16 for x in range(32)) for y in range(32)]
raw = b"".join(b"\x01" + bytes((r[i] - (r[i - 1] if i else 0)) & 255 for i in range(32)) for r in rows)
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 0, 0, 0, 0))
                        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
EOF
http POST "$F/api/predict" -H 'Content-Type: image/png' --data-binary @"$TMP/five.png"
check "PNG upload via frontend -> 200, digit $(json 'd["digit"]') (a 5), backend $(json 'd["backend"]')" \
    test "$code" = 200 -a "$(json 'd["backend"]')" = test-backend -a "$(json 'd["digit"]')" = 5

# --- the page in headless Chromium --------------------------------------------
# --virtual-time-budget lets the page's fetches and scripts finish before the
# DOM is dumped; the page marks <body data-state="done"> when it has an answer.
page() {
    timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --user-data-dir="$TMP/chrome" --virtual-time-budget=10000 \
        --dump-dom "$F/upload-image?$1" 2>>"$TMP/chromium.log"
}
field() { sed -n "s|.*<[a-z]* id=\"$1\">\([^<]*\)<.*|\1|p" "$TMP/dom" | head -n 1; }
right=0 total=0
for d in $DIGITS; do
    page "demo=$d" >"$TMP/dom"
    shown=$(field prediction)
    got=$(sed -n 's/^Prediction: \([0-9]\)$/\1/p' <<<"$shown")
    total=$((total + 1))
    if [ -z "$got" ]; then
        fail "page demo=$d shows no prediction (shows: '${shown}')"
    else
        [ "$got" = "$d" ] && right=$((right + 1))
        pass "page demo=$d shows '$shown' ($( [ "$got" = "$d" ] && echo right || echo WRONG)), $(field backend)"
    fi
done
check "most demo digits predicted right: $right of $total" test $((right * 10)) -ge $((total * 8))

# --- backend down: the page says so -----------------------------------------------
kill "$BPID"; wait "$BPID" 2>/dev/null
http POST "$F/api/predict" -H 'Content-Type: application/json' --data-binary '{"pixels": [0,0,0,1]}'
check "backend down -> frontend 502 ($(json 'd["error"]'))" test "$code" = 502 -a -n "$(json 'd["error"]')"
page "demo=3" >"$TMP/dom"
check "backend down -> the page shows '$(field prediction)'" grep -q 'id="prediction">Error: backend .* unreachable' "$TMP/dom"

echo "digits example test took $((SECONDS - START)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
