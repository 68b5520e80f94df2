#!/usr/bin/env bash
# Durable registrations per second, side by side with etcd (the durable-write
# anchor: its v3 JSON gateway, the same payload as the value, fsync per batch
# as both do), as the catalog grows from 100 to 10,000 services.
#
#   bench/register.sh [-c CONNECTIONS] [-n SERVICES]
#
# Each target starts empty on ext4 under .build-bench (not tmpfs: fsync must
# cost what it costs) and is driven by wrk (bench/lua/register.lua: an
# external node with one service per PUT /v1/catalog/register) in stages;
# each stage (SECONDS_PER_STAGE, default 5) cycles through 100, 1,000, ...
# services and prints its rate, so a write cost that grows with the catalog
# shows as a falling row. Targets: fedagent with -data-dir (every answer
# waits for its change to be on disk), fedagent without one (the in-memory
# ceiling), etcd. BASE=<commit> adds that commit's binary with -data-dir.
# The log goes to bench/results/register-<time>.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/common.sh"
CONNS=16
TOTAL=10000
while [ $# -gt 0 ]; do
    case "$1" in
        -c) CONNS="$2"; shift 2 ;;
        -n) TOTAL="$2"; shift 2 ;;
        *) echo "usage: $0 [-c CONNECTIONS] [-n SERVICES]" >&2; exit 2 ;;
    esac
done
bench_packages wrk curl etcd-server
BIN="$(bench_binary "$ROOT")"
SCRATCH="$ROOT/.build-bench/register-$$"
mkdir -p "$SCRATCH" "$ROOT/bench/results"
LOG="$ROOT/bench/results/register-$(date -u +%Y%m%dT%H%M%SZ).log"
pid=""
TREE=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$SCRATCH"
    [ -n "$TREE" ] && { git -C "$ROOT" worktree remove --force "$TREE" >/dev/null 2>&1 || rm -rf "$TREE"; }
}
trap cleanup EXIT

# Stages: the catalog size each run cycles through (bench/lua: the first
# pass creates the nodes missing, later passes update them).
STAGES=()
for s in 100 1000 2000 5000 10000 20000 50000; do [ "$s" -le "$TOTAL" ] && STAGES+=("$s"); done
SECONDS_PER_STAGE="${SECONDS_PER_STAGE:-5}"

wait_http() {
    for _ in $(seq 100); do curl -fsS -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "register.sh: $1 did not answer" >&2; return 1
}

# run_stages NAME PORT SCRIPT: one line of req/s per stage.
run_stages() {
    local name="$1" port="$2" script="$3" line="" rate errs out
    for space in "${STAGES[@]}"; do
        out="$(REG_SPACE=$space wrk -t1 -c"$CONNS" -d"${SECONDS_PER_STAGE}s" -s "$ROOT/bench/lua/$script" \
                "http://127.0.0.1:$port" 2>&1)"
        echo "## $name, $space services" >>"$LOG"; echo "$out" >>"$LOG"
        rate="$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")"
        errs="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
        line+="$(printf '%9s' "$rate${errs:+!$errs}")"
    done
    printf '%-26s%s\n' "$name" "$line" | tee -a "$LOG"
}

fedagent_target() {  # NAME BINARY [agent flags...]
    local name="$1" bin="$2"; shift 2
    "$bin" agent -dev -node bench -serf-lan-port 18311 -serf-wan-port 18312 -server-port 18310 \
        -http-port 8511 -dns-port 8711 -log-level warn "$@" >>"$LOG" 2>&1 &
    pid=$!
    wait_http "http://127.0.0.1:8511/v1/status/leader"
    run_stages "$name" 8511 register.lua
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

{
    echo "# bench/register.sh -c $CONNS -n $TOTAL at $(git -C "$ROOT" rev-parse --short HEAD), $(date -u)"
    echo "# $(nproc) cores; data on $(df -T "$SCRATCH" | awk 'NR==2 {print $2}')"
} | tee "$LOG"
header="$(printf '%-26s' "services")"
for space in "${STAGES[@]}"; do header+="$(printf '%9s' "$space")"; done
echo "$header   (registrations/s, $CONNS connections; !N = N errors)" | tee -a "$LOG"

fedagent_target "fedagent -data-dir" "$BIN" -data-dir "$SCRATCH/agent"
fedagent_target "fedagent (memory)" "$BIN"
if [ -n "${BASE:-}" ]; then
    TREE="$(mktemp -d /tmp/fedagent-base-XXXXXX)"
    git -C "$ROOT" worktree add --detach "$TREE" "$BASE" >/dev/null
    BASE_BIN="$("$TREE/scripts/build-release.sh" "$TREE/.build-bench" 2>/dev/null | tail -1)"
    fedagent_target "base $BASE -data-dir" "$BASE_BIN" -data-dir "$SCRATCH/base"
fi
etcd --name bench --data-dir "$SCRATCH/etcd" --listen-client-urls http://127.0.0.1:2389 \
    --advertise-client-urls http://127.0.0.1:2389 --listen-peer-urls http://127.0.0.1:2390 \
    --initial-advertise-peer-urls http://127.0.0.1:2390 --initial-cluster bench=http://127.0.0.1:2390 \
    --log-level warn >>"$LOG" 2>&1 &
pid=$!
wait_http "http://127.0.0.1:2389/health"
run_stages "etcd (v3 gateway)" 2389 etcd_put.lua
echo "# log: $LOG"
