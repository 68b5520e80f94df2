#!/usr/bin/env bash
# Long fuzzing runs of every decoder target (scripts/fuzz.sh, libFuzzer):
# each target for SECONDS (default 600, about 2.5 hours for all), in fork
# mode so that a crash is kept and fuzzing goes on.
#
#   bench/fuzz.sh [SECONDS] [TARGET...]
#
# Log: bench/results/fuzz-<time>.log: the toolchain, the commit, one line
# per target (`NAME execs=E crashes=C`), each target's coverage at the end
# and its executions per second. Crashing inputs stay in
# .build-fuzz/crashes/<Name>/; reproduce one with
# `scripts/fuzz.sh -run NAME FILE`, and keep it in Fuzz/findings/<Name>/
# so that every later run (the suite's too) tries it first. The grown
# corpus of each target is left in .build-fuzz/work/<Name>/corpus (not
# committed: Fuzz/corpus stays the small seed set). Exits as fuzz.sh does.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS=${1:-600}
shift || true
BUILD="${FUZZ_BUILD_DIR:-$ROOT/.build-fuzz}"
mkdir -p "$ROOT/bench/results"
LOG="$ROOT/bench/results/fuzz-$(date -u +%Y%m%dT%H%M%SZ).log"
exec > >(tee "$LOG") 2>&1

echo "# bench/fuzz.sh: $SECS s per target, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "# $(swift --version 2>&1 | head -1)"
echo "# commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (modified)'), $(nproc) cpus"
"$ROOT/scripts/fuzz.sh" -build "$@"
status=0
"$ROOT/scripts/fuzz.sh" -no-build -keep-going -seconds "$SECS" "$@" || status=$?
echo "# coverage and speed at the end (libFuzzer's last status line per target)"
for t in ${*:-$("$ROOT/scripts/fuzz.sh" -list)}; do
    last="$(grep -E '^#[0-9]+' "$BUILD/work/$t/fuzz.log" | tail -1 || true)"
    echo "$t: ${last:-no status line}"
done
echo "(log: bench/results/$(basename "$LOG"))"
exit $status
