#!/usr/bin/env bash
# The long fault runs (issue 16): 10 minutes of 10 % gossip loss on every
# agent of a datacenter (no member may be declared failed), and the WAN link
# of a federation cut and healed ten times (each cut noticed, each heal
# restoring both pools and cross-datacenter reads). Both run as the test
# suite's `Long fault runs` in network namespaces (root; nftables), which
# the suite itself skips; then `bench/kill9.sh` (100 kill -9 cycles).
#
#   bench/faults.sh            all three
#   bench/faults.sh loss|wan|kill9
#
# The log goes to bench/results/faults-<time>.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/bench/common.sh"
bench_packages nftables iproute2 curl
mkdir -p "$ROOT/bench/results"
LOG="$ROOT/bench/results/faults-$(date -u +%Y%m%dT%H%M%SZ).log"
which="${1:-all}"
echo "# bench/faults.sh $which at $(git -C "$ROOT" rev-parse --short HEAD), $(date -u)" | tee "$LOG"
cd "$ROOT"
swift build --build-tests >/dev/null
run_test() {
    FEDAGENT_LONG_FAULTS=1 swift test --skip-build --filter "$1" 2>&1 | tee -a "$LOG" | grep -E "^(longloss|wancuts):|✔ Test|✘ Test|FAILED" || true
}
case "$which" in all|loss) run_test "Integration.LongFaults/tenMinutesOfLoss" ;; esac
case "$which" in all|wan) run_test "Integration.LongFaults/wanCutAndHealedTenTimes" ;; esac
case "$which" in all|kill9) "$ROOT/bench/kill9.sh" 100 | tee -a "$LOG" ;; esac
echo "# log: $LOG"
