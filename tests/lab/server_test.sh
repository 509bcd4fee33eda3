#!/usr/bin/env bash
# The server tracker in the lab (issue 6), against the fake VPS API:
#  1. apiping (the lab's OMR config): OK with a token (the fake VPS saw /token and
#     /status); the API restarted -> the old token rejected, renewed, still OK; the API
#     refused but ICMP answering -> OK with the API's reason noted; one WAN black-holed ->
#     the per-WAN results say which WAN cannot reach the VPS; the master unreachable ->
#     the backup is current within timeout + 1 s (measured), the §5.2 log lines, the
#     server-post-tracking hooks with their exact variables (EVENT=current for both
#     servers); the master back -> set back.
#  2. type api (a pure API verdict): refused, hanging after accept, hanging in the TLS
#     handshake, HTTP 500, invalid JSON, an oversized body -> the reason codes below.
#  3. type api, wrong password, tls_policy pin: reachable with api_auth_rejected (no
#     network reason); the certificate's key changed -> tls_pin_mismatch.
#
# What GET / (the health check) and POST /token + GET /status (the credentials check,
# after the server answered) make of the fake VPS's modes, with type api:
#   refuse         ERROR tcp_refused        (connect refused)
#   hang-accept    ERROR tls_handshake      (accepted, no ServerHello: handshake timeout)
#   hang-handshake ERROR tls_handshake      (handshake started, then nothing: timeout)
#   status500      ERROR http_status        (GET / answered 500)
#   badjson        OK    http_bad_response  (GET / is 200 — any body counts, like the
#                                            shell's curl; the credentials check cannot
#                                            parse /token or /status: noted, not down)
#   oversize       ERROR http_bad_response  (GET / body beyond the 64 KiB limit)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
lab_test_init server
W=$(mktemp -d /tmp/omrt-server-XXXXXX)
WATCH_PID=""
cleanup() {
    # Only the test's own shell cleans up: a subshell forked from it (daemon_stop's
    # watchdog) that gets a signal before bash has reset the inherited traps would
    # otherwise run this and take the lab down under the running test.
    [ "$BASHPID" = "$$" ] || exit 0
    [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
    daemon_stop
    rm -rf "$W"
    lab_test_exit
}
trap cleanup EXIT

lab up >/dev/null || { bad "lab up"; exit 1; }
eval "$(lab env)"
PY=${PYTHON:-python3}

# --- configuration: the lab's OMR config, server hooks of this test
CONF=$W/config
daemon_config "$CONF"
mkdir -p "$W/hooks" "$W/out"
cat >"$W/hooks/10-record" <<HOOK
#!/bin/sh
# Records every run: the environment per server, event and status, and one line per run.
f="$W/out/env.\$OMR_TRACKER_SERVER.\$OMR_TRACKER_EVENT.\$OMR_TRACKER_STATUS"
env | sort >"\$f.tmp" && mv "\$f.tmp" "\$f"
echo "\$OMR_TRACKER_EVENT \$OMR_TRACKER_SERVER \$OMR_TRACKER_PREV_STATUS>\$OMR_TRACKER_STATUS ip=\$OMR_TRACKER_SERVER_IP current=\$OMR_TRACKER_SERVER_CURRENT" >>"$W/out/runs"
HOOK
chmod +x "$W/hooks/10-record"
uci_override "$CONF/omr-tracker" daemon daemon "option server_hooks_dir '$W/hooks'" "option pin_file '$W/pins'"
check "test configuration is valid" "$DAEMON" --check-config -C "$CONF" >/dev/null 2>&1

# jq-like helpers on `status --json`
srv() { # SERVER PYTHON-EXPR (s = the server's object)
    ctl status --json | "$PY" -c 'import json,sys
s=json.load(sys.stdin)["servers"][sys.argv[1]]
print(eval(sys.argv[2]))' "$1" "$2"
}
vps_stat() { # master|backup PYTHON-EXPR (d = the fake VPS's stats)
    lab vpsctl "$1" stats | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}
# For wait_for, which runs its command again each time (a "$(...)" argument would be
# expanded once): value_is WANT CMD... / value_ge MIN CMD...
value_is() {
    local want=$1
    shift
    [ "$("$@")" = "$want" ]
}
value_ge() {
    local min=$1 v
    shift
    v=$("$@")
    [ -n "$v" ] && [ "$v" -ge "$min" ]
}
logged() { grep -qF -- "$1" "$DAEMON_LOG"; }
no_password_logged() {
    check "no password in the daemon's log" sh -c "! grep -qF \"\$(cat '$LAB_PASSWORD_FILE')\" '$DAEMON_LOG'"
}
runs_has() { grep -qF -- "$1" "$W/out/runs" 2>/dev/null; }

# watch_current SERVER OUTFILE: in the background, write the wall ms at which SERVER becomes
# current (from `omr-trackerctl watch`, event-driven) to OUTFILE.
watch_current() {
    rm -f "$2"
    "$CTL" -s "$DAEMON_SOCK" -t 120 watch 2>/dev/null | "$PY" -c 'import json,sys,time
name,out=sys.argv[1],sys.argv[2]
first=True
for line in sys.stdin:
    try: s=json.loads(line)["servers"].get(name)
    except ValueError: continue
    if first:
        first=False
        open(out+".ready","w").close()
        if s and s.get("current"): continue   # already current: wait for the next flip
    if s and s.get("current"):
        open(out+".tmp","w").write(str(time.time_ns()//1000000)); __import__("os").rename(out+".tmp",out); break' "$1" "$2" &
    WATCH_PID=$!
    wait_for 5 "watching $1 become current" test -e "$2.ready" >/dev/null
    rm -f "$2.ready"
}

lab vpsctl master reset-stats >/dev/null
daemon_start "$CONF" || exit 1

# ============================================================ 1. apiping, the lab's settings
expect_state vps OK ok 15 "master vps OK (apiping)"
expect_state vps_backup OK ok 15 "backup vps_backup OK"
check "vps is current" test "$(srv vps 's["current"]')" = True
check "vps_backup is not" test "$(srv vps_backup 's["current"]')" = False
check "vps in use: its A address (A before AAAA)" test "$(srv vps 's["in_use"]')" = "$LAB_VPS_MASTER4"
wait_for 10 "the fake VPS issued a token (POST /token)" value_ge 1 vps_stat master 'd["tokens_issued"]'
wait_for 5 "and answered GET /status with it" value_ge 1 vps_stat master 'd["requests"].get("/status",0)'
check "the status calls were authorised" test "$(vps_stat master 'd["auth_ok"]')" -ge 1
check "per-WAN results: both WANs reach both addresses" test "$(srv vps '",".join(sorted(w["wan"]+"="+str(w["ok"]) for w in s["wans"]))')" = "wan1=True,wan1=True,wan2=True,wan2=True"
# GET /clienthost through each WAN: the public address the VPS sees (no NAT in the lab).
public_ips() { srv vps '",".join(sorted(set(w["wan"]+"="+w.get("public_ip","") for w in s["wans"])))'; }
wait_for 10 "each WAN's public addresses from /clienthost" \
    value_is "wan1=10.101.0.2,wan1=2001:db8:101::2,wan2=10.102.0.2,wan2=2001:db8:102::2" \
    public_ips || echo "     public addresses: $(public_ips)"

wait_for 10 "hooks ran for vps's first verdict (EVENT=status, PREV_STATUS empty)" runs_has "status vps >OK ip=$LAB_VPS_MASTER4 current=1"
wait_for 10 "... and for vps_backup's" runs_has "status vps_backup >OK ip=$LAB_VPS_BACKUP4 current=0"

# --- the API restarted: every token invalid -> rejected, renewed, still OK
rejected0=$(vps_stat master 'd["token_rejected"]')
issued0=$(vps_stat master 'd["tokens_issued"]')
lab fault api master restart >/dev/null
ctl recheck vps >/dev/null
wait_for 10 "the API rejected the old token after its restart" value_ge $((rejected0 + 1)) vps_stat master 'd["token_rejected"]'
wait_for 5 "a new token was obtained" value_ge $((issued0 + 1)) vps_stat master 'd["tokens_issued"]'
wait_for 5 "renewal logged" logged "vps: the API no longer accepted our token (restarted?); got a new one"
check "still OK, reason ok" test "$(srv vps 's["status"]+" "+s["reason"]')" = "OK ok"
check "no transition through the restart" test "$(srv vps 's["transitions"]')" = 1

# --- apiping: the API refuses, ICMP answers -> OK with the API's reason noted
lab fault api master refuse >/dev/null
ctl recheck vps >/dev/null
expect_state vps OK tcp_refused 10 "API refused, ICMP up: vps OK with reason tcp_refused"
msg=$(srv vps 's["message"]')
check "message: answers ICMP, not the API ($msg)" sh -c "echo '$msg' | grep -q 'answers ICMP via wan1, wan2, but not the API: connection refused'"
check "still current, no transition" test "$(srv vps 's["current"]') $(srv vps 's["transitions"]')" = "True 1"
lab fault api master normal >/dev/null
ctl recheck vps >/dev/null
expect_state vps OK ok 10 "API back: reason ok"

# --- one WAN black-holed: the per-WAN results name it; the server stays OK
lab fault blackhole wan2 on >/dev/null
wan_states_are() { # "wan1:True:ok wan2:..." for the master's A address
    [ "$(srv vps '" ".join(w["wan"]+":"+str(w["ok"])+":"+w["reason"] for w in s["wans"] if w["address"]=="'"$LAB_VPS_MASTER4"'")')" = "$1" ]
}
wait_for 25 "per-WAN status: wan1 reaches vps, wan2 does not" wan_states_are "wan1:True:ok wan2:False:tcp_timeout"
check "vps stayed OK, no transition" test "$(srv vps 's["status"]') $(srv vps 's["transitions"]')" = "OK 1"
msg=$(srv vps '[w["message"] for w in s["wans"] if w["wan"]=="wan2"][0]')
check "wan2's lane says what failed ($msg)" sh -c "echo '$msg' | grep -q 'TCP connect timeout (.* ms) to $LAB_VPS_MASTER4:65500 via wan2'"
lab unfault blackhole wan2 >/dev/null
ctl recheck >/dev/null
wait_for 20 "wan2 reaches vps again" wan_states_are "wan1:True:ok wan2:True:ok"

# --- the master unreachable: the backup is current within timeout + 1 s, hooks, log lines
timeout_s=10 # the lab's `option timeout '10'`
FLIPS=""
for trial in 1 2; do
    : >"$W/out/runs"
    watch_current vps_backup "$W/flip"
    t0=$(now_ms)
    lab fault vps-unreachable master on >/dev/null
    wait_for $((timeout_s + 3)) "trial $trial: backup current after the master became unreachable" test -s "$W/flip"
    if [ -s "$W/flip" ]; then
        ms=$(($(cat "$W/flip") - t0))
        FLIPS="$FLIPS $ms"
        check "trial $trial: fault -> backup current in $ms ms <= timeout + 1 s" test "$ms" -le $((timeout_s * 1000 + 1000))
    fi
    kill "$WATCH_PID" 2>/dev/null
    WATCH_PID=""
    check "trial $trial: vps ERROR, vps_backup current" test "$(srv vps 's["status"]') $(srv vps_backup 's["current"]')" = "ERROR True"
    wait_for 5 "trial $trial: hook EVENT=current for the master (OK>ERROR, not current)" runs_has "current vps OK>ERROR ip=$LAB_VPS_MASTER4 current=0"
    wait_for 5 "trial $trial: hook EVENT=current for the backup (now current)" runs_has "current vps_backup OK>OK ip=$LAB_VPS_BACKUP4 current=1"

    lab unfault vps-unreachable master >/dev/null
    expect_state vps OK 10 "trial $trial: master answers again"
    wait_for 5 "trial $trial: master current again" value_is True srv vps 's["current"]'
    wait_for 5 "trial $trial: hooks EVENT=current for the master set back" runs_has "current vps ERROR>OK ip=$LAB_VPS_MASTER4 current=1"
    wait_for 5 "trial $trial: ... and for the backup released" runs_has "current vps_backup OK>OK ip=$LAB_VPS_BACKUP4 current=0"
done
echo "     fault -> backup current (ms):$FLIPS (timeout ${timeout_s} s; shell: ~88 s per WAN)"
check "log: Master server vps down (…)" logged "OMR-Tracker-Server: Master server vps down ($LAB_VPS_MASTER4)"
check "log: Use backup server vps_backup (…)" logged "OMR-Tracker-Server: Use backup server vps_backup ($LAB_VPS_BACKUP4)"
check "log: Master server vps up (…), set it back" logged "OMR-Tracker-Server: Master server vps up ($LAB_VPS_MASTER4), set it back"
check "failovers counted on the backup (2)" test "$(srv vps_backup 's["failovers"]')" = 2

# The hooks' exact environment (EVENT=current, the master going down).
E=$W/out/env.vps.current.ERROR
expect_env() { # VAR VALUE
    local got
    got=$(sed -n "s/^$1=//p" "$E")
    if [ "$got" = "$2" ]; then ok "hook env $1=$2"; else bad "hook env $1: '$got', want '$2'"; fi
}
check "env of the master's EVENT=current run recorded" test -s "$E"
want="EVENT SERVER SERVER_IP SERVER_PREV_IP SERVER_HOST SERVER_INDEX SERVER_PORT SERVER_MASTER
SERVER_BACKUP SERVER_CURRENT STATUS PREV_STATUS REASON STATUS_MSG"
missing=""
for v in $want; do grep -q "^OMR_TRACKER_$v=" "$E" || missing="$missing $v"; done
if [ -z "$missing" ]; then ok "every OMR_TRACKER_* server variable is exported"; else bad "missing:$missing"; fi
extra=$(grep -v -e '^OMR_TRACKER_' -e '^PATH=' -e '^PWD=' -e '^SHLVL=' -e '^_=' "$E" | cut -d= -f1 | tr '\n' ' ')
if [ -z "$extra" ]; then ok "nothing else inherited"; else bad "unexpected variables: $extra"; fi
n=$(grep -c '^OMR_TRACKER_' "$E")
check "exactly the 14 OMR_TRACKER_* variables ($n)" test "$n" = 14
expect_env OMR_TRACKER_EVENT current
expect_env OMR_TRACKER_SERVER vps
expect_env OMR_TRACKER_SERVER_IP "$LAB_VPS_MASTER4"
expect_env OMR_TRACKER_SERVER_PREV_IP ""
expect_env OMR_TRACKER_SERVER_HOST vps.lab.test
expect_env OMR_TRACKER_SERVER_INDEX 0
expect_env OMR_TRACKER_SERVER_PORT 65500
expect_env OMR_TRACKER_SERVER_MASTER 1
expect_env OMR_TRACKER_SERVER_BACKUP 0
expect_env OMR_TRACKER_SERVER_CURRENT 0
expect_env OMR_TRACKER_STATUS ERROR
expect_env OMR_TRACKER_PREV_STATUS OK
expect_env OMR_TRACKER_REASON tcp_timeout
sm=$(sed -n 's/^OMR_TRACKER_STATUS_MSG=//p' "$E")
check "STATUS_MSG says what failed through which WAN ($sm)" sh -c "echo '$sm' | grep -q 'no answer through any WAN: .* via wan1; .* via wan2'"
E=$W/out/env.vps_backup.current.OK
expect_env OMR_TRACKER_SERVER_CURRENT 0 # its last run: released when the master came back
expect_env OMR_TRACKER_SERVER_BACKUP 1

# ============================================================ 2. type api: pure API reasons
# timeout 4 s instead of 10 s only to keep the hanging cases short; the codes are the same.
no_password_logged
daemon_stop
uci_override "$CONF/omr-tracker" server server "option type 'api'" "option timeout '4'"
daemon_start "$CONF" || exit 1
expect_state vps OK ok 15 "type api: vps OK"
api_case() { # MODE STATUS REASON TEXT-IN-MESSAGE
    lab fault api master "$1" >/dev/null
    ctl recheck vps >/dev/null
    if expect_state vps "$2" "$3" 15 "api $1 -> $2 $3"; then
        local m
        m=$(srv vps 's["message"]')
        if echo "$m" | grep -qF -- "$4"; then ok "api $1: message names it ('$4')"; else bad "api $1: message '$m' lacks '$4'"; fi
    fi
}
api_case refuse ERROR tcp_refused "connection refused to $LAB_VPS_MASTER4:65500 via wan1"
api_case hang-accept ERROR tls_handshake "TLS handshake timeout"
api_case hang-handshake ERROR tls_handshake "TLS handshake timeout"
api_case status500 ERROR http_status "API answered HTTP 500 Internal Server Error to GET / via wan1"
api_case badjson OK http_bad_response "invalid"
api_case oversize ERROR http_bad_response "exceeds 65536 bytes"
lab fault api master normal >/dev/null
ctl recheck vps >/dev/null
expect_state vps OK ok 15 "api normal again -> OK ok"

# ============================================================ 3. wrong password, certificate pin
no_password_logged
daemon_stop
uci_override "$CONF/openmptcprouter" server vps "option password 'wrong'" "option tls_policy 'pin'"
rm -f "$W/pins"
daemon_start "$CONF" || exit 1
expect_state vps OK api_auth_rejected 15 "wrong password: reachable, reason api_auth_rejected"
msg=$(srv vps 's["message"]')
check "message quotes the API ($msg)" sh -c "echo '$msg' | grep -q 'token refused by API (HTTP 400 Incorrect username or password) via wan'"
check "no network reason: every WAN reaches the API" test "$(srv vps 'all(w["ok"] and w["reason"]=="ok" for w in s["wans"])')" = True
check "still current (credentials never cause a failover)" test "$(srv vps 's["current"]')" = True
check "the key was pinned on first use" grep -q '^vps sha256:[0-9a-f]\{64\}$' "$W/pins"
lab fault api master cert alt >/dev/null
ctl recheck vps >/dev/null
expect_state vps ERROR tls_pin_mismatch 20 "certificate with a new key under pin -> ERROR tls_pin_mismatch"
msg=$(srv vps 's["message"]')
check "message: the key seen and the pinned one ($msg)" sh -c "echo '$msg' | grep -q 'is not the pinned sha256:'"
lab fault api master cert orig >/dev/null
ctl recheck vps >/dev/null
expect_state vps OK api_auth_rejected 20 "original certificate: OK again"

daemon_stop
check "the wrong password is not logged either" sh -c "! grep -q \"'wrong'\\|=wrong\\|password=\" '$DAEMON_LOG'"
