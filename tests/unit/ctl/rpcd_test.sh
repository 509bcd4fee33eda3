#!/bin/sh
# The rpcd exec plugin (openwrt/files/omr-tracker.rpcd -> omr-trackerctl rpcd) against a
# real omr-trackerd, driven the way rpcd drives it: `list` with stdin on /dev/null, then
# `call METHOD` with the argument object on a pipe that is closed after it (rpcd writes
# blobmsg_format_json() output, no line feed). Every answer must be exactly one JSON object
# (rpcd refuses anything else); failures are {"ok": false, "error": ...}.
set -u
. "$OMRT_SOURCE_DIR/tests/system/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "skipped: no python3"; exit 77; }
PLUGIN="$OMRT_SOURCE_DIR/openwrt/files/omr-tracker.rpcd"
export OMR_TRACKERCTL="$CTL"

T=$(mktemp -d /tmp/omrt-rpcd-XXXXXX)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# SIGTERM and wait for the exit (lib.sh's wait_exit leaves a `sleep` holding ctest's pipe).
stop_daemon() {
    kill -TERM "$PID"
    timeout 5 tail --pid="$PID" -f /dev/null
    wait "$PID"
    PID=""
}

# obj FILE PYTHON: FILE must hold one JSON object and nothing else; PYTHON asserts on `d`.
obj() {
    python3 - "$1" "$2" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n") and text.count("\n") == 1, "not exactly one line: %r" % text[:200]
d = json.loads(text)
assert isinstance(d, dict), "not an object"
exec(sys.argv[2])
PY
}

# call METHOD ARGS OUT: like rpcd (arguments without a line feed, then end of input).
call() {
    printf '%s' "$2" | timeout 20 "$PLUGIN" call "$1" >"$3" 2>"$3.err"
}

CONF="$T/config"
mkdir -p "$CONF"
cp "$OMRT_SOURCE_DIR"/tests/data/config/omr/* "$CONF/"
export OMR_TRACKERD_SOCKET="$T/ctl.sock"
LOG="$T/daemon.log"
"$DAEMON" -f -C "$CONF" -s "$OMR_TRACKERD_SOCKET" -o "$T/status.json" 2>"$LOG" &
PID=$!
wait_log "$LOG" "starting:" 10 || fail "daemon did not start"

# --- list: what rpcd registers as the ubus object's methods
"$PLUGIN" list </dev/null >"$T/list" || fail "list failed"
obj "$T/list" '
assert d == {"status": {}, "recheck": {"name": "str"}, "reload": {}}, d
' || fail "list: wrong method signatures: $(cat "$T/list")"
pass "list: status, recheck {name: string}, reload"

# --- call status: the status document
call status '{}' "$T/status" || fail "call status failed: $(cat "$T/status.err")"
obj "$T/status" '
assert set(d) >= {"interfaces", "servers", "daemon"}, sorted(d)
assert set(d["interfaces"]) == {"wan1", "wan2", "omrvpn"}, sorted(d["interfaces"])
for name, e in d["interfaces"].items():
    assert e["status"] in ("OK", "ERROR", "UNKNOWN") and e["reason"] and "since" in e, (name, e)
assert d["servers"]["vps"]["name"] == "192.0.2.10"
assert d["daemon"]["pid"] > 0 and d["daemon"]["version"]
' || fail "call status: not the status document: $(head -c 300 "$T/status")"
pass "call status returns the status document"

# --- call recheck: one interface, everything, an unknown name, a wrong type
call recheck '{"name":"wan1"}' "$T/r1" || fail "recheck wan1 failed: $(cat "$T/r1")"
obj "$T/r1" 'assert d == {"ok": True, "name": "wan1"}, d' || fail "recheck wan1: $(cat "$T/r1")"
call recheck '{}' "$T/r2" || fail "recheck (all) failed: $(cat "$T/r2")"
obj "$T/r2" 'assert d == {"ok": True, "name": ""}, d' || fail "recheck all: $(cat "$T/r2")"
if call recheck '{"name":"nope0"}' "$T/r3"; then fail "recheck of an unknown name succeeded"; fi
obj "$T/r3" 'assert d["ok"] is False and "nope0" in d["error"], d' ||
    fail "recheck unknown name: $(cat "$T/r3")"
if call recheck '{"name":7}' "$T/r4"; then fail "recheck with a number succeeded"; fi
obj "$T/r4" 'assert d["ok"] is False and "string" in d["error"], d' || fail "recheck name 7: $(cat "$T/r4")"
pass "call recheck: one name, all, unknown name and bad argument as JSON errors"

# The argument object complete but the pipe left open: the answer must not wait for its end.
{ printf '%s' '{"name":"wan2"}'; sleep 4; } | timeout 3 "$PLUGIN" call recheck >"$T/r5" 2>&1 ||
    fail "recheck waited for the end of its input"
obj "$T/r5" 'assert d == {"ok": True, "name": "wan2"}, d' || fail "recheck (open pipe): $(cat "$T/r5")"
pass "arguments read up to the end of the object, not of the pipe"

# --- call reload: a valid configuration, then a broken one (the daemon's error list)
call reload '{}' "$T/l1" || fail "reload failed: $(cat "$T/l1")"
obj "$T/l1" 'assert d == {"ok": True}, d' || fail "reload: $(cat "$T/l1")"
printf '\nconfig interface %s\n\toption timeout %s\n' "'wan2'" "'0'" >>"$CONF/omr-tracker"
if call reload '{}' "$T/l2"; then fail "reload of a broken configuration succeeded"; fi
obj "$T/l2" '
assert d["ok"] is False and d["error"], d
assert any("timeout" in e and "omr-tracker:" in e for e in d["errors"]), d
' || fail "broken reload: $(cat "$T/l2")"
pass "call reload: ok, and a broken configuration lists the daemon's errors"

# --- protocol errors: unknown method, bad JSON, not an object, bad usage
if call frobnicate '{}' "$T/e1"; then fail "unknown method succeeded"; fi
obj "$T/e1" 'assert d["ok"] is False and "frobnicate" in d["error"], d' || fail "unknown method: $(cat "$T/e1")"
if call status '{"a":' "$T/e2"; then fail "truncated JSON accepted"; fi
obj "$T/e2" 'assert d["ok"] is False and "JSON" in d["error"], d' || fail "bad JSON: $(cat "$T/e2")"
if call status '[1,2]' "$T/e3"; then fail "an array accepted as arguments"; fi
obj "$T/e3" 'assert d["ok"] is False and "object" in d["error"], d' || fail "array args: $(cat "$T/e3")"
if "$PLUGIN" </dev/null >"$T/e4" 2>&1; then fail "no arguments succeeded"; fi
obj "$T/e4" 'assert d["ok"] is False and "usage" in d["error"], d' || fail "usage: $(cat "$T/e4")"
pass "protocol errors are JSON objects"

# --- the daemon gone: still one JSON object, naming the socket
stop_daemon
if call status '{}' "$T/d1"; then fail "status succeeded without a daemon"; fi
obj "$T/d1" 'assert d["ok"] is False and "is omr-trackerd running?" in d["error"], d' ||
    fail "no daemon: $(cat "$T/d1")"
[ -s "$T/d1.err" ] && fail "stderr output in rpcd mode: $(cat "$T/d1.err")"
pass "no daemon: a JSON error, nothing on stderr"
echo "rpcd: all checks passed"
