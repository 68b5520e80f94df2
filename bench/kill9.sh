#!/usr/bin/env bash
# kill -9 and restart an agent CYCLES times (default 100) while four
# clients register (two external nodes through /v1/catalog/register, two
# agent services), then check after each restart that every acknowledged
# registration is back exactly once. Prints one line per 10 cycles and a
# summary: cycles, registrations acknowledged, lost, duplicated (goal: 0, 0).
#
#   bench/kill9.sh [CYCLES]
#
# Builds the release binary (bench/common.sh) unless REUSE_BUILD=1; the
# agent runs on 127.0.215.1 with its data dir under .build-bench (ext4).
# The log goes to bench/results/kill9-<time>.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/common.sh"
CYCLES="${1:-100}"
bench_packages curl python3
BIN="$(bench_binary "$ROOT")"
WORK="$ROOT/.build-bench/kill9-$$"
mkdir -p "$WORK" "$ROOT/bench/results"
LOG="$ROOT/bench/results/kill9-$(date -u +%Y%m%dT%H%M%SZ).log"
IP=127.0.215.1
agent=""
writers=()
cleanup() {
    for p in "${writers[@]}" $agent; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

start_agent() {
    "$BIN" agent -node kill9 -bind "$IP" -client "$IP" -data-dir "$WORK/data" -log-level warn >>"$WORK/agent.log" 2>&1 &
    agent=$!
    for _ in $(seq 200); do curl -fsS -o /dev/null "http://$IP:8500/v1/agent/self" && return 0; sleep 0.05; done
    echo "kill9.sh: the agent did not come up" >&2; tail -20 "$WORK/agent.log" >&2; exit 1
}

# writer KIND PREFIX: registers until killed; acknowledged names go to $WORK/acked-KIND.
writer() {
    local kind="$1" prefix="$2" i=0
    while true; do
        i=$((i + 1))
        if [ "$kind" = external ]; then
            curl -fsS -m 5 -o /dev/null -X PUT "http://$IP:8500/v1/catalog/register" \
                -d "{\"Node\":\"$prefix-$i\",\"Address\":\"10.9.0.1\",\"Service\":{\"Service\":\"db\",\"ID\":\"$prefix-$i\",\"Port\":5432}}" \
                2>/dev/null && echo "$prefix-$i" >>"$WORK/acked-$kind" || sleep 0.05
        else
            curl -fsS -m 5 -o /dev/null -X PUT "http://$IP:8500/v1/agent/service/register" \
                -d "{\"Name\":\"web\",\"ID\":\"$prefix-$i\",\"Port\":8080}" \
                2>/dev/null && echo "$prefix-$i" >>"$WORK/acked-$kind" || sleep 0.05
        fi
    done
}

# check: lost and duplicated registrations against what was acknowledged.
check() {
    curl -fsS "http://$IP:8500/v1/catalog/service/db" >"$WORK/db.json"
    curl -fsS "http://$IP:8500/v1/catalog/service/web" >"$WORK/web.json"
    python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
def acked(kind):
    try:
        return set(open(f"{work}/acked-{kind}").read().split())
    except FileNotFoundError:
        return set()
lost = dup = 0
for kind, name in (("external", "db"), ("local", "web")):
    ids = [e["ServiceID"] for e in json.load(open(f"{work}/{name}.json"))]
    dup += len(ids) - len(set(ids))
    lost += len(acked(kind) - set(ids))
print(lost, dup, len(acked("external")) + len(acked("local")))
PY
}

echo "# bench/kill9.sh $CYCLES at $(git -C "$ROOT" rev-parse --short HEAD), $(date -u)" | tee "$LOG"
start_agent
total_lost=0
total_dup=0
for cycle in $(seq "$CYCLES"); do
    writer external "c${cycle}e1" & writers+=($!)
    writer external "c${cycle}e2" & writers+=($!)
    writer local "c${cycle}l1" & writers+=($!)
    writer local "c${cycle}l2" & writers+=($!)
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 "$agent"; wait "$agent" 2>/dev/null || true
    for p in "${writers[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    writers=()
    start_agent
    read -r lost dup acked <<<"$(check)"
    total_lost=$lost
    total_dup=$dup
    if [ $((cycle % 10)) = 0 ] || [ "$lost" != 0 ] || [ "$dup" != 0 ]; then
        echo "cycle $cycle: $acked acknowledged so far, lost $lost, duplicated $dup" | tee -a "$LOG"
    fi
done
echo "cycles=$CYCLES acknowledged=$acked lost=$total_lost duplicated=$total_dup" | tee -a "$LOG"
grep -h "Fatal\|panic" "$WORK/agent.log" | head -3 | tee -a "$LOG" || true
echo "# log: $LOG"
