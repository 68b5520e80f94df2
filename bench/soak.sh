#!/usr/bin/env bash
# Load and soak: DURATION seconds (default 600) of, at once,
#   - DNS at full rate (dnsperf, the shared query mix) against agent 1,
#   - HTTP from 64 connections (wrk) against agent 1, with 32 blocking
#     queries parked on it (curl loops with ?index=&wait=5m),
#   - registrations churning on all 5 agents (register, then deregister),
# on 5 agents joined on loopback (127.0.214.1-5), then a 65 s rest (past the agent's once-a-minute heap trim). Prints,
# for every agent, resident memory and open descriptors before, after the
# load and after the rest; the errors answered (wrk non-2xx and socket
# errors, dnsperf lost queries, failed registrations); and the members each
# agent lists at the end (goal: all 5 alive everywhere, 0 errors, RSS and
# fds back within a small margin).
#
#   bench/soak.sh [DURATION]
#
# Builds the release binary (bench/common.sh) unless REUSE_BUILD=1; the log
# goes to bench/results/soak-<time>.log. Stops everything by PID.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/common.sh"
DURATION="${1:-600}"
bench_packages wrk curl dnsperf
BIN="$(bench_binary "$ROOT")"
WORK="$(mktemp -d /tmp/fedagent-soak-XXXXXX)"
mkdir -p "$ROOT/bench/results"
LOG="$ROOT/bench/results/soak-$(date -u +%Y%m%dT%H%M%SZ).log"
pids=()
agents=()
cleanup() {
    for p in "${pids[@]}" "${agents[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ip_of() { echo "127.0.214.$1"; }
for i in 1 2 3 4 5; do
    "$BIN" agent -node "soak$i" -bind "$(ip_of "$i")" -client "$(ip_of "$i")" -data-dir "$WORK/a$i" \
        -retry-join "$(ip_of 1)" -log-level warn $([ "$i" = 1 ] && echo -server) >>"$WORK/agent$i.log" 2>&1 &
    agents+=($!)
done
for i in 1 2 3 4 5; do
    for _ in $(seq 100); do curl -fsS -o /dev/null "http://$(ip_of "$i"):8500/v1/agent/self" && break; sleep 0.1; done
done
for _ in $(seq 100); do
    [ "$(curl -fsS "http://$(ip_of 1):8500/v1/agent/members" | grep -o '"Status":1' | wc -l)" = 5 ] && break; sleep 0.2
done
# Something for DNS and HTTP to answer.
for n in $(seq 20); do
    curl -fsS -o /dev/null -X PUT "http://$(ip_of 1):8500/v1/agent/service/register" -d "{\"Name\":\"web\",\"ID\":\"web$n\",\"Port\":$((8000 + n))}"
done
sleep 3

# rss_fds PID: "RSS_KiB FDS"
rss_fds() { echo "$(awk '/VmRSS/ {print $2}' "/proc/$1/status") $(ls "/proc/$1/fd" | wc -l)"; }
declare -A before after rested
for i in 1 2 3 4 5; do before[$i]="$(rss_fds "${agents[$((i - 1))]}")"; done

echo "# bench/soak.sh $DURATION at $(git -C "$ROOT" rev-parse --short HEAD), $(date -u)" | tee "$LOG"
# Registrations churning on every agent.
for i in 1 2 3 4 5; do
    ( fails=0; n=0; end=$((SECONDS + DURATION))
      while [ $SECONDS -lt $end ]; do
          n=$((n + 1))
          curl -fsS -o /dev/null -X PUT "http://$(ip_of "$i"):8500/v1/agent/service/register" -d "{\"Name\":\"churn\",\"ID\":\"churn$n\",\"Port\":9000}" || fails=$((fails + 1))
          curl -fsS -o /dev/null -X PUT "http://$(ip_of "$i"):8500/v1/agent/service/deregister/churn$n" || fails=$((fails + 1))
      done
      echo "churn agent $i: $n cycles, $fails failed" >"$WORK/churn$i" ) &
    pids+=($!)
done
# Blocking queries parked on agent 1, each answered when the catalog moves.
for b in $(seq 32); do
    ( fails=0; end=$((SECONDS + DURATION)); index=1
      while [ $SECONDS -lt $end ]; do
          headers="$(curl -fsS -m 400 -D - -o /dev/null "http://$(ip_of 1):8500/v1/catalog/service/churn?index=$index&wait=5m")" || { fails=$((fails + 1)); sleep 1; continue; }
          index="$(awk 'tolower($1) == "x-consul-index:" {print $2}' <<<"$headers" | tr -d '\r')"
          [ -n "$index" ] || index=1
      done
      echo "$fails" >"$WORK/blocking$b" ) &
    pids+=($!)
done
# DNS and HTTP at full rate.
dnsperf -s "$(ip_of 1)" -p 8600 -d "${BENCH_DIR:-$ROOT/../shared/bench}/dns/queries.txt" -l "$DURATION" -c 8 -q 200 >"$WORK/dnsperf.out" 2>&1 &
pids+=($!)
wrk -t1 -c64 -d"${DURATION}s" "http://$(ip_of 1):8500/v1/health/service/web?passing" >"$WORK/wrk.out" 2>&1 &
pids+=($!)
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
for i in 1 2 3 4 5; do after[$i]="$(rss_fds "${agents[$((i - 1))]}")"; done
sleep 65
for i in 1 2 3 4 5; do rested[$i]="$(rss_fds "${agents[$((i - 1))]}")"; done

{
    echo "## wrk"; cat "$WORK/wrk.out"
    echo "## dnsperf"; cat "$WORK/dnsperf.out"
    cat "$WORK"/churn*
    echo "blocking query failures: $(cat "$WORK"/blocking* | awk '{s += $1} END {print s + 0}')"
    printf '%-8s %22s %22s %22s\n' agent "RSS KiB / fds before" "after load" "after 65 s rest"
    for i in 1 2 3 4 5; do printf '%-8s %22s %22s %22s\n' "soak$i" "${before[$i]}" "${after[$i]}" "${rested[$i]}"; done
    for i in 1 2 3 4 5; do
        echo "soak$i lists $(curl -fsS "http://$(ip_of "$i"):8500/v1/agent/members" | grep -o '"Status":1' | wc -l) members alive"
    done
    grep -h "ERROR\|panic\|Fatal" "$WORK"/agent*.log | head -5 || true
} | tee -a "$LOG"
grep -E "Requests/sec|Non-2xx|Socket errors|Queries per second|Queries lost|Response codes" "$LOG" || true
echo "# log: $LOG"
