#!/bin/sh
# System test: the real omr-trackerd on an OMR-shaped configuration, driven through the real
# omr-trackerctl: start, status (table, JSON, status file), recheck, reload with a good and
# a broken configuration (control socket and SIGHUP), --check-config, SIGTERM within 1 s.
set -u
. "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/omrt-system-XXXXXX)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

CONF="$T/config"
mkdir -p "$CONF"
cp "$OMRT_SOURCE_DIR"/tests/data/config/omr/* "$CONF/"
PW=$(sed -n "s/^[[:space:]]*option password '\(.*\)'.*/\1/p" "$CONF/openmptcprouter" | head -n 1)
[ -n "$PW" ] || fail "test configuration has no server password"
SOCK="$T/ctl.sock"
STATUS="$T/status.json"
LOG="$T/daemon.log"
export OMR_TRACKERD_SOCKET="$SOCK"

# --- --check-config: valid, then each broken value reported with file:line
"$DAEMON" --check-config -C "$CONF" >"$T/effective" 2>"$T/check.err" || fail "check-config of the OMR config failed: $(cat "$T/check.err")"
grep -q "config interface 'wan1'" "$T/effective" || fail "effective config lacks wan1"
grep -q "password '\*\*\*\*\*\*\*\*'" "$T/effective" || fail "password not masked in --check-config output"
grep -qF "$PW" "$T/effective" "$T/check.err" && fail "password printed by --check-config"
pass "--check-config prints the effective configuration, secrets masked"

BAD="$T/bad"
mkdir -p "$BAD"
cp "$CONF"/* "$BAD/"
# Append an interface section with two bad values; remember their lines.
n=$(wc -l <"$BAD/omr-tracker")
cat >>"$BAD/omr-tracker" <<'UCI'

config interface 'wan2'
	option tries 'many'
	option timeout '0'
UCI
l_tries=$((n + 3))
l_timeout=$((n + 4))
if "$DAEMON" --check-config -C "$BAD" >/dev/null 2>"$T/bad.err"; then
    fail "--check-config accepted a broken configuration"
fi
grep -q "omr-tracker:$l_tries:.*tries.*many" "$T/bad.err" || fail "tries error without file:line: $(cat "$T/bad.err")"
grep -q "omr-tracker:$l_timeout:.*timeout.*'0'" "$T/bad.err" || fail "timeout error without file:line: $(cat "$T/bad.err")"
pass "--check-config names file:line, option and value of every error"

# --- an invalid configuration at start: non-zero exit, every error listed
"$DAEMON" -f -C "$BAD" -s "$SOCK" -o "$STATUS" 2>"$T/start-bad.log"
rc=$?
[ "$rc" -ne 0 ] || fail "daemon started on an invalid configuration"
grep -q "tries" "$T/start-bad.log" && grep -q "timeout" "$T/start-bad.log" || fail "start errors not all listed"
[ -e "$SOCK" ] && fail "control socket left behind by a failed start"
pass "invalid configuration at start: exit $rc with every error listed"

# --- start for real, in a network namespace of its own: the OMR configuration names
# devices (eth1, eth2, tun0) that must not be the host's, and nothing may leave the machine.
if [ "$(id -u)" = 0 ]; then
    NS="unshare -n"
else
    NS="unshare -rn"
fi
$NS true 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
$NS "$DAEMON" -f -l debug -C "$CONF" -s "$SOCK" -o "$STATUS" 2>"$LOG" &
PID=$!
wait_log "$LOG" "starting:" 10 || fail "daemon did not start"

"$CTL" status >"$T/table" || fail "omr-trackerctl status failed"
grep -q "wan1" "$T/table" || fail "status table lacks wan1: $(cat "$T/table")"
grep -q "vps" "$T/table" || fail "status table lacks the vps server"
"$CTL" status --json >"$T/status1.json" || fail "status --json failed"
# Nothing called eth1 exists in the daemon's namespace: netlink says so at once.
[ "$(json_get "$T/status1.json" "d['interfaces']['wan1']['reason']")" = no_device ] || fail "wan1 not no_device: $(cat "$T/status1.json")"
json_get "$T/status1.json" "d['interfaces']['wan1']['message']" | grep -q eth1 || fail "wan1 message does not name eth1"
[ "$(json_get "$T/status1.json" "d['daemon']['pid']")" = "$PID" ] || fail "daemon.pid wrong"
python3 - "$T/status1.json" <<'PY' || fail "status JSON contract: fields missing"
import json, sys
d = json.load(open(sys.argv[1]))
need = {
    "interfaces": ["status", "reason", "message", "device", "latency_ms", "loss_pct", "since"],
    "servers": ["status", "reason", "message", "name", "addresses", "current"],
}
for group, keys in need.items():
    assert d[group], group + " empty"
    for name, entry in d[group].items():
        missing = [k for k in keys if k not in entry]
        assert not missing, "%s %s lacks %s" % (group, name, missing)
missing = [k for k in ["pid", "version", "uptime_s", "cpu_ms", "rss_kb", "loop_lag_ms"] if k not in d["daemon"]]
assert not missing, "daemon lacks %s" % missing
PY
grep -qF "$PW" "$T/status1.json" "$LOG" && fail "password in status"
pass "status: table and JSON contract"

[ -s "$STATUS" ] || fail "status file not written"
json_get "$STATUS" "d['interfaces']['wan1']['status']" >/dev/null || fail "status file is not the status JSON"
pass "status file written"

"$CTL" recheck >/dev/null || fail "recheck (all) refused"
"$CTL" recheck wan1 >/dev/null || fail "recheck wan1 refused"
if "$CTL" recheck no-such-iface 2>"$T/recheck.err"; then fail "recheck of an unknown name accepted"; fi
grep -q "no-such-iface" "$T/recheck.err" || fail "recheck error does not name the unknown name"
pass "recheck"

# --- reload with a good change: a new interface appears, wan2's section changes (it is
# rebuilt: UNKNOWN again until checked), wan1 is untouched (keeps its entry and since)
since_wan1=$(json_get "$T/status1.json" "d['interfaces']['wan1']['since']")
cat >>"$CONF/omr-tracker" <<'UCI'

config interface 'wan2'
	option tries '4'
UCI
cat >>"$CONF/network" <<'UCI'

config interface 'wan3'
	option device 'eth9'
	option proto 'dhcp'
	option multipath 'on'
UCI
"$CTL" reload >"$T/reload.out" 2>&1 || fail "reload of a valid config failed: $(cat "$T/reload.out")"
"$CTL" status --json >"$T/status2.json"
[ "$(json_get "$T/status2.json" "'wan3' in d['interfaces']")" = True ] || fail "wan3 not tracked after reload"
[ "$(json_get "$T/status2.json" "d['interfaces']['wan1']['since']")" = "$since_wan1" ] || fail "wan1 was reset by a reload that did not change it"
grep -q "reloaded .*added wan3.*changed wan2.*unchanged.*wan1" "$LOG" || fail "reload summary line missing: $(grep reloaded "$LOG")"
pass "reload (control socket) applies a valid change; unchanged interfaces keep their state"

# --- reload with a broken file: refused with file:line, old configuration keeps running
cp "$BAD/omr-tracker" "$CONF/omr-tracker"
if "$CTL" reload >"$T/reload-bad.out" 2>&1; then fail "reload accepted a broken configuration"; fi
grep -q "omr-tracker:$l_tries" "$T/reload-bad.out" || fail "reload error lacks file:line: $(cat "$T/reload-bad.out")"
kill -HUP "$PID"
wait_log "$LOG" "still running the previous" 10 || fail "SIGHUP with a broken config not reported"
kill -0 "$PID" 2>/dev/null || fail "daemon died on a broken reload"
"$CTL" status --json >"$T/status3.json" || fail "status after broken reload failed"
[ "$(json_get "$T/status3.json" "'wan3' in d['interfaces']")" = True ] || fail "previous configuration not kept"
pass "broken reload (socket and SIGHUP) keeps the previous configuration"

# --- SIGTERM: clean exit within 1 s, socket removed
t0=$(now_ms)
kill -TERM "$PID"
wait_exit "$PID" 3
t1=$(now_ms)
PID=""
[ "$WAIT_RC" = 0 ] || fail "exit status $WAIT_RC after SIGTERM"
[ $((t1 - t0)) -le 1000 ] || fail "SIGTERM took $((t1 - t0)) ms"
[ -e "$SOCK" ] && fail "control socket not removed at exit"
pass "SIGTERM: exit 0 in $((t1 - t0)) ms"
