# Shared helpers for the system tests (sourced). Every wait has a deadline and waits for
# an event (a log line through `tail -f`, a process exit), never a fixed sleep.

: "${OMRT_BUILD_DIR:?run through ctest (OMRT_BUILD_DIR unset)}"
: "${OMRT_SOURCE_DIR:?run through ctest (OMRT_SOURCE_DIR unset)}"
DAEMON="$OMRT_BUILD_DIR/src/daemon/omr-trackerd"
CTL="$OMRT_BUILD_DIR/src/ctl/omr-trackerctl"

fail() {
    echo "FAIL: $*" >&2
    [ -n "${LOG:-}" ] && [ -f "$LOG" ] && { echo "--- daemon log:" >&2; tail -n 40 "$LOG" >&2; }
    exit 1
}

pass() { echo "ok: $*"; }

# wait_log FILE PATTERN SECONDS: returns when a line matching PATTERN (grep -E) is in FILE.
wait_log() {
    timeout "$3" sh -c 'tail -n +1 -F "$1" 2>/dev/null | grep -q -m1 -E "$2"' _ "$1" "$2"
}

# wait_exit PID SECONDS: waits for our child PID and sets WAIT_RC to its exit status, or
# 124 after SECONDS (it is then killed). Not usable in $(...): a subshell cannot wait for
# its parent's children.
wait_exit() {
    _pid=$1
    # The watchdog's sleep must not hold the test's output open (ctest waits for it).
    ( sleep "$2"; kill -KILL "$_pid" 2>/dev/null ) >/dev/null 2>&1 &
    _dog=$!
    wait "$_pid"
    WAIT_RC=$?
    kill -KILL "$_dog" 2>/dev/null
    wait "$_dog" 2>/dev/null
    [ "$WAIT_RC" = 137 ] && WAIT_RC=124
    return 0
}

# json_get FILE PYTHON_EXPR: evaluates EXPR on the parsed JSON document `d`.
json_get() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

now_ms() { date +%s%3N; }
