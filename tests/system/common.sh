# Helpers for system tests: sourced by tests/system/*.sh.
# $1 of each test is the build directory; fleet is $BUILD/fleet.
set -u
BUILD=${1:-${GPUFLEET_BUILD:-build-asan}}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
FLEET=$BUILD/fleet
DATA=$ROOT/tests/data
TMP=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
FAILS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# expect_fail NAME PATTERN CMD...: the command must exit non-zero and its
# stderr must match the extended regex PATTERN.
expect_fail() {
    local name=$1 pat=$2; shift 2
    if "$@" >"$TMP/out" 2>"$TMP/err"; then
        fail "$name: exited 0"
        return
    fi
    if grep -Eq -- "$pat" "$TMP/err"; then
        ok "$name: $(head -c 200 "$TMP/err" | head -n 1)"
    else
        fail "$name: stderr does not match /$pat/: $(cat "$TMP/err")"
    fi
}

finish() {
    if [ "$FAILS" -gt 0 ]; then
        echo "$FAILS check(s) failed"
        exit 1
    fi
    exit 0
}
