# shellcheck shell=bash
# Running the real omr-trackerd in a lab (sourced after lib.sh).
#
#   daemon_config DIR            copy the lab's UCI config to DIR (the test's own copy)
#   uci_override FILE TYPE NAME 'option x y' ...   re-open a section and set options
#                                (libuci semantics: a later `config TYPE 'NAME'` merges)
#   daemon_start DIR [ARGS...]   start it in the router namespace, wait for "starting:"
#   ctl ARGS...                  omr-trackerctl on the daemon's socket
#   daemon_stop                  SIGTERM, wait for the exit
# Waiting for the daemon uses `omr-trackerctl wait` (status events), never sleeps.

: "${OMRT_BUILD_DIR:?run through ctest (OMRT_BUILD_DIR unset)}"
DAEMON=$OMRT_BUILD_DIR/src/daemon/omr-trackerd
CTL=$OMRT_BUILD_DIR/src/ctl/omr-trackerctl
DAEMON_PID=""
DAEMON_LOG=""
DAEMON_SOCK=""

daemon_config() {
    mkdir -p "$1"
    cp "$(lab config-dir)"/* "$1/"
}

uci_override() {
    local file=$1 type=$2 name=$3 line
    shift 3
    {
        printf "\nconfig %s '%s'\n" "$type" "$name"
        for line in "$@"; do printf '\t%s\n' "$line"; done
    } >>"$file"
}

daemon_start() {
    local dir=$1
    shift
    DAEMON_LOG=$dir/daemon.log
    DAEMON_SOCK=$(sed -n "s/^[[:space:]]*option socket_path '\(.*\)'/\1/p" "$dir/omr-tracker" | tail -n 1)
    [ -n "$DAEMON_SOCK" ] || { bad "no socket_path in $dir/omr-tracker"; return 1; }
    # ip netns exec execs the daemon itself: $! is its pid (tools/lab exec would be a shell).
    ip netns exec "$LAB_NAME-r" "$DAEMON" -f -l debug -C "$dir" "$@" 2>"$DAEMON_LOG" &
    DAEMON_PID=$!
    if timeout 10 sh -c 'tail -n +1 -F "$1" 2>/dev/null | grep -q -m1 "starting:"' _ "$DAEMON_LOG"; then
        ok "omr-trackerd started (pid $DAEMON_PID)"
    else
        bad "omr-trackerd did not start"
        cat "$DAEMON_LOG"
        return 1
    fi
}

ctl() { "$CTL" -s "$DAEMON_SOCK" "$@"; }

# expect_state NAME STATUS [REASON] SECONDS DESC: waits for the status event; sets WAITED_MS
expect_state() {
    local name=$1 st=$2 reason="" secs desc out
    if [ $# -eq 5 ]; then reason=$3; shift; fi
    secs=$3
    desc=$4
    if [ -n "$reason" ]; then
        out=$(ctl wait "$name" "$st" --reason "$reason" --timeout "$secs" 2>&1)
    else
        out=$(ctl wait "$name" "$st" --timeout "$secs" 2>&1)
    fi
    if [ $? = 0 ]; then
        WAITED_MS=$(echo "$out" | grep -o '[0-9]*' | tail -n 1)
        ok "$desc (${WAITED_MS} ms)"
    else
        WAITED_MS=""
        bad "$desc: $out"
        ctl status >&2 || true
        return 1
    fi
}

# field NAME KEY: a field of an interface (or server) from `status --json`
field() {
    ctl status --json | python3 -c 'import json,sys
d=json.load(sys.stdin); n,k=sys.argv[1],sys.argv[2]
e=d["interfaces"].get(n) or d["servers"].get(n)
print(e[k])' "$1" "$2"
}

daemon_stop() {
    [ -n "$DAEMON_PID" ] || return 0
    local dog rc
    kill -TERM "$DAEMON_PID" 2>/dev/null
    (sleep 3; kill -KILL "$DAEMON_PID" 2>/dev/null) &
    dog=$!
    wait "$DAEMON_PID"
    rc=$?
    # SIGKILL: a TERM could reach the watchdog subshell before it dropped the test's
    # `trap 'exit 130' TERM`, and run the test's EXIT trap (lab down) from there.
    kill -KILL "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
    if [ "$rc" = 0 ]; then ok "omr-trackerd exited 0 on SIGTERM"; else bad "omr-trackerd exit status $rc on SIGTERM"; fi
    DAEMON_PID=""
}
