#!/bin/bash
# CI smoke of the benchmarks (issue 9): `tools/bench --quick` still runs end to end — its
# labs, the daemon, fping, the fork-per-probe loop, the reaction trials, the API and cycle
# programs, callgrind — prints every section's table and leaves nothing behind. The figures
# are not judged here (a shared CI machine is too noisy for that); the full run is on
# demand: sudo tools/bench.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

require_lab
for t in fping tcpdump valgrind python3; do
    command -v "$t" >/dev/null || skip "missing $t (tools/bench installs it)"
done
[ -e /usr/include/valgrind/callgrind.h ] || skip "missing valgrind/callgrind.h"
grep -q '^OMRT_SANITIZE:BOOL=ON' "$OMRT_BUILD_DIR/CMakeCache.txt" 2>/dev/null &&
    skip "sanitizer build: the benchmarks need an uninstrumented one"

lab_names() { ip netns list | awk '{print $1}' | grep -E '^bench[0-9]+[a-z]-' | sort; }
shm_dirs() { find /dev/shm -maxdepth 1 -name 'omrt-bench-*' 2>/dev/null | sort; }
before_ns=$(lab_names)
before_shm=$(shm_dirs)
out=$(mktemp /tmp/omrt-bench-smoke-XXXXXX)
log=$(mktemp /tmp/omrt-bench-smoke-log-XXXXXX)
trap 'rm -f "$out" "$log"' EXIT

t0=$(now_ms)
if OMRT_BUILD_DIR=$OMRT_BUILD_DIR "$SRC/tools/bench" --quick --output "$out" >"$log" 2>&1; then
    ok "tools/bench --quick exited 0 ($(($(now_ms) - t0)) ms)"
else
    bad "tools/bench --quick failed"
    tail -n 40 "$log"
fi
check "the report names the machine and the commit" grep -q '^- machine: .*cores' "$out"
for s in 1 2 3 4 5 6; do
    check "section $s has its title" grep -q "^### $s\. " "$out"
    # the first data row after the section's table header: a number in it
    row=$(awk -v s="$s" '/^### /{on = index($0, "### " s ".") == 1} on && /^\|---/{getline; print; exit}' "$out")
    if [[ $row =~ [0-9] ]]; then ok "section $s: a table row with figures"; else bad "section $s: no table row ($row)"; fi
done
check "no 'FAILED' in the log" bash -c "! grep -q 'FAILED' '$log'"
check "no lab namespace of the bench left" test "$(lab_names)" = "$before_ns"
check "no work directory of the bench left" test "$(shm_dirs)" = "$before_shm"
# (the pattern's [-] keeps pgrep from matching the shell that runs it)
check "no omr-trackerd of the bench left" bash -c "! pgrep -f '/dev/shm/omrt-bench[-]' >/dev/null"

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
