#!/bin/sh
# Runs one fuzz target (CTest and tools/fuzz):
#   run.sh fuzz|replay BINARY SEED_DIR WORK_DIR LIMIT MAX_LEN
# LIMIT is seconds ("15") or a number of executions ("runs:1000000").
# fuzz:   libFuzzer from WORK_DIR/corpus (kept between runs) and the committed seeds, with
#         the dictionary dict/NAME.dict when there is one. A crash, leak, sanitizer report,
#         timeout (10 s per input) or out-of-memory fails; the input is saved under
#         WORK_DIR/artifacts and its path printed. Prints one summary line:
#         "fuzz NAME: ok, 1234567 executions in 61 s (20238/s), cov 812 ft 3301, corpus 402"
# replay: a binary without libFuzzer (GCC): runs the committed seeds once, then exits 77
#         (skipped) because nothing was fuzzed.
set -u
mode=$1 bin=$2 seeds=$3 work=$4 limit=$5 max_len=$6
name=$(basename "$bin")
name=${name#fuzz_}
here=$(cd "$(dirname "$0")" && pwd)

if [ "$mode" = replay ]; then
    "$bin" "$seeds" || { echo "fuzz $name: FAILED replaying the corpus $seeds"; exit 1; }
    echo "fuzz $name: corpus replayed; libFuzzer not available (configure with clang and" \
        "-DOMRT_FUZZ=ON, or run tools/fuzz): skipped"
    exit 77
fi

mkdir -p "$work/corpus" "$work/artifacts"
case "$limit" in
runs:*) lim="-runs=${limit#runs:}" ;;
*) lim="-max_total_time=$limit" ;;
esac
dict=""
[ -f "$here/dict/$name.dict" ] && dict="-dict=$here/dict/$name.dict"
log=$work/last-run.log
start=$(date +%s)
# ASAN_OPTIONS: leaks are reported at exit of every input (libFuzzer's -detect_leaks);
# UBSan aborts at the first report (-fno-sanitize-recover=all in the build).
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" "$lim" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" ${dict:+"$dict"} "$work/corpus" "$seeds" >"$log" 2>&1
rc=$?
secs=$(($(date +%s) - start))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
rate=$([ "$secs" -gt 0 ] && echo $((${execs:-0} / secs)) || echo "${execs:-0}")
if [ "$rc" = 0 ]; then
    echo "fuzz $name: ok, ${execs:-?} executions in ${secs} s (${rate}/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?}"
    exit 0
fi
echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions in ${secs} s"
grep -E 'ERROR: |SUMMARY: |invariant failed|runtime error|Test unit written|Base64' "$log" | head -n 20
echo "full log: $log"
echo "reproduce: $bin <artifact>; then add the artifact to $seeds"
exit 1
