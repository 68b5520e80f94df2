#!/usr/bin/env bash
# The unit and simulation suites (every test target but IntegrationTests)
# under the address sanitizer (with leak checking) and then the thread
# sanitizer, each in its own build directory.
#
#   scripts/sanitize.sh [address] [thread] [-- extra `swift test` arguments, e.g. --filter MembershipTests]
#
# Builds with `swift build --build-tests --sanitize=S --build-path .build-asan`
# (.build-tsan), runs `swift test --skip-build --sanitize=S --skip IntegrationTests`,
# keeps the output in .build-asan/sanitize.log (.build-tsan/sanitize.log)
# and prints one line per sanitizer: `address exit=X reports=N`. A report
# is an ASan error or leak, or a ThreadSanitizer warning (TSan lets the
# tests finish and then exits 66). Exits 1 if any suite failed or any
# report was made. Builds and runs take the shared build lock
# (FEDAGENT_BUILD_LOCK, default /tmp/fedagent-build.lock; empty: none;
# not again when an ancestor holds it): two cores do not take two
# sanitized builds, or a build beside a suite.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK="${FEDAGENT_BUILD_LOCK-/tmp/fedagent-build.lock}"
sanitizers=()
while [ $# -gt 0 ]; do
    case "$1" in
        address|thread) sanitizers+=("$1"); shift ;;
        --) shift; break ;;
        -h|-help|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "sanitize.sh: unknown argument $1 (see -help)" >&2; exit 2 ;;
    esac
done
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)

# lock_held_above: whether an ancestor already holds $LOCK.
source "$ROOT/scripts/build-lock.sh"
locked() {
    if [ -z "$LOCK" ] || lock_held_above; then "$@"; else flock "$LOCK" "$@"; fi
}

# Swift's backtracer would answer a sanitizer's trap first; the
# sanitizers print their own stacks.
export SWIFT_BACKTRACE=enable=no
# ASan's fake stacks (use-after-return detection) move locals off the
# thread's stack, which the pipelining test measures to prove it does not
# recurse per request.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=0}"
command -v llvm-symbolizer >/dev/null && export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer)"

# XCTest's own runner (the empty XCTest pass before swift-testing's)
# leaves two objects at exit; nothing of ours is matched.
mkdir -p "$ROOT/.build-asan"
printf 'leak:libXCTest.so\n' > "$ROOT/.build-asan/lsan.supp"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/.build-asan/lsan.supp:print_suppressions=0}"

status=0
cd "$ROOT"
for s in "${sanitizers[@]}"; do
    dir="$ROOT/.build-${s:0:1}san"
    log="$dir/sanitize.log"
    mkdir -p "$dir"
    rc=0
    {
        echo "== swift build --build-tests --sanitize=$s ($(date -u +%H:%M:%SZ))"
        locked swift build --build-tests --sanitize="$s" --build-path "$dir" &&
        echo "== swift test --sanitize=$s --skip IntegrationTests ($(date -u +%H:%M:%SZ))" &&
        locked swift test --skip-build --sanitize="$s" --build-path "$dir" --skip IntegrationTests "$@"
    } > "$log" 2>&1 || rc=$?
    echo "== exit $rc ($(date -u +%H:%M:%SZ))" >> "$log"
    reports="$(grep -c -E '^==[0-9]+==ERROR: (AddressSanitizer|LeakSanitizer)|^WARNING: ThreadSanitizer' "$log" || true)"
    echo "$s exit=$rc reports=$reports"
    if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ]; then
        status=1
        grep -m5 -E '^==[0-9]+==ERROR|^WARNING: ThreadSanitizer|error:|✘|failed' "$log" | cut -c1-300 >&2 || true
        echo "sanitize.sh: $s: see $log" >&2
    fi
done
exit $status
