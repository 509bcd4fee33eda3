#!/usr/bin/env bash
# The fault matrix (issue 10): every fault of the list, one after the other, against the
# real daemon in the lab (real dnsmasq, real TLS, real namespaces). For each case: inject
# the fault, wait for the expected status + reason (`omr-trackerctl wait`, status events),
# measure the time from the injection and compare it with a bound derived from the
# configuration below, check that `omr-trackerctl status` still answers, undo the fault
# and wait for the recovery. A table of every case is printed at the end.
#
# The configuration (short, so the whole matrix takes a few minutes):
#   interfaces: interval 1 s, failure_interval 1 s, interval_tries 1 s, timeout 1 s,
#     tries 2, tries_up 2; wan2 also check_quality (failure_loss 10 %, recovery_loss 5 %,
#     window 10)
#   servers: type api (the API alone decides), interval 2 s, timeout 2 s, tries 2; vps
#     with tls_policy pin
#   daemon: dns_ttl_floor 2 s (lab DNS TTL 2 s), dns_timeout 1 s, hook_timeout 2 s
#
# Bounds (ms), each with 1 s of slack for the lab's own commands and scheduling:
#   B_IFACE   an interface black-holed -> ERROR target_timeout: the cycle under way and
#             then `tries` attempts, each up to 2 timeouts (VPS addresses, then a public
#             host) plus interval_tries: interval + tries x (2 x timeout + interval_tries)
#             = 1 + 2 x 3 = 7 s, + 1 s
#   B_LINK    a link event -> ERROR link_down: immediate (netlink), 1 s
#   B_API     an API fault -> the server's verdict: the next round starts within interval
#             and ends at its deadline, timeout after it started: 2 + 2 = 4 s, + 1 s
#   B_DNS     an answer that fails at once (NXDOMAIN, SERVFAIL, REFUSED, TC): the name is
#             re-resolved when its TTL (floor) runs out: 2 s, + 1 s
#   B_DNSTO   the DNS server gone: TTL 2 s, then udns' tries: 2 servers x 2 attempts,
#             dns_timeout 1 s doubled in the second round: 1+1+2+2 = 6 s; 8 s + 1 s
#   B_QUAL    30 % loss -> quality_loss: with 2 probes per target and cycle, one lost probe
#             in the window of 10 makes 10 % = failure_loss; P(no loss in the first 20
#             probes to the VPS) = 0.7^20 < 0.1 %: 10 cycles of 1 s + 1 timeout, + 1 s
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
set -u

# Our own lab name: fm-<pid> (other sessions run t-*, soak-*, bench* labs in parallel).
require_lab
LAB_NAME=fm-$$
export LAB_NAME
unset LAB_STATE
LAB_TEST_NAMES=$LAB_NAME # lab_test_exit takes this lab down
W=$(mktemp -d /tmp/omrt-fm-XXXXXX)
SD=$W/status # a tmpfs of its own: made read-only for the "status dir not writable" case
HELPER_PIDS=""
cleanup() {
    [ "$BASHPID" = "$$" ] || exit 0 # only the test's shell (see dns_daemon_test.sh)
    local p
    for p in $HELPER_PIDS; do kill "$p" 2>/dev/null; done
    daemon_stop
    if mountpoint -q "$SD" 2>/dev/null; then umount "$SD" 2>/dev/null || umount -l "$SD"; fi
    rm -rf "$W"
    lab_test_exit
}
trap cleanup EXIT
trap 'exit 130' INT TERM
PY=${PYTHON:-python3}

lab up --ttl 2 >/dev/null || { bad "lab up"; exit 1; }
remember_pids
eval "$(lab env)"

# --- configuration --------------------------------------------------------------------
CONF=$W/config
daemon_config "$CONF"
mkdir -p "$W/hooks" "$W/shooks" "$W/out" "$SD"
mount -t tmpfs -o size=4m,mode=0755 omrt-fm "$SD" || { bad "cannot mount a tmpfs on $SD"; exit 1; }
cat >"$W/hooks/10-faulty" <<HOOK
#!/bin/sh
# Misbehaves for wan1 while a marker file says how: hang, crash, or print megabytes.
[ "\$OMR_TRACKER_INTERFACE" = wan1 ] || exit 0
if [ -e "$W/hang" ]; then echo \$\$ >"$W/out/hang.pid"; sleep 1000; fi
if [ -e "$W/crash" ]; then echo \$\$ >>"$W/out/crash.pids"; kill -SEGV \$\$; fi
# 4000 distinct lines of 1000 bytes (distinct: the log folds identical repeated lines)
if [ -e "$W/flood" ]; then awk 'BEGIN { s = sprintf("%995s", ""); gsub(/ /, "x", s); for (i = 1; i <= 4000; i++) printf "%04d %s\\n", i, s }'; echo done >>"$W/out/flood.runs"; fi
exit 0
HOOK
chmod +x "$W/hooks/10-faulty"
uci_override "$CONF/omr-tracker" defaults defaults "option interval '1'" "option failure_interval '1'" \
    "option interval_tries '1'" "option timeout '1'" "option tries '2'" "option tries_up '2'"
uci_override "$CONF/omr-tracker" interface wan2 "option check_quality '1'" "option failure_loss '10'" \
    "option recovery_loss '5'" "option window '10'"
uci_override "$CONF/omr-tracker" server server "option type 'api'" "option interval '2'" \
    "option timeout '2'" "option tries '2'"
uci_override "$CONF/omr-tracker" daemon daemon "option hooks_dir '$W/hooks'" \
    "option server_hooks_dir '$W/shooks'" "option hook_timeout '2'" "option pin_file '$W/pins'" \
    "option status_file '$SD/status.json'" "option dns_ttl_floor '2'" "option dns_timeout '1'"
uci_override "$CONF/openmptcprouter" server vps "option tls_policy 'pin'"
cp "$CONF/omr-tracker" "$W/omr-tracker.good"
cp -p "$CONF/openmptcprouter" "$W/openmptcprouter.good"
check "test configuration is valid" "$DAEMON" --check-config -C "$CONF" >/dev/null 2>&1

B_IFACE=8000
B_LINK=1000
B_API=5000
B_DNS=3000
B_DNSTO=9000
B_QUAL=12000

# --- helpers ----------------------------------------------------------------------------
ROWS=()
row() { # CASE EXPECTED BOUND_MS MEASURED_MS OK
    ROWS+=("$1|$2|$3|$4|$5")
}
jq_status() { # PYTHON-EXPR over d = status --json
    ctl status --json | "$PY" -c 'import json,sys
d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
srv() { jq_status "d['servers']['$1']$2"; }
ifc() { jq_status "d['interfaces']['$1']$2"; }
resolver() { srv vps "['dns'][0]['resolvers'][0]$1"; }
state_of() { # OBJ: "STATUS reason: message", for failure reports
    jq_status "(d['interfaces'].get('$1') or d['servers'].get('$1'))['status']+' '+(d['interfaces'].get('$1') or d['servers'].get('$1'))['reason']+': '+(d['interfaces'].get('$1') or d['servers'].get('$1'))['message']" 2>&1
}
answers_status() { # the daemon answers `status` within 2 s
    timeout 3 "$CTL" -s "$DAEMON_SOCK" -t 2 status >/dev/null 2>&1
}
# expect CASE OBJ STATUS REASON BOUND_MS: waits for OBJ STATUS/REASON (giving up 10 s after
# the bound, to report the real time), measures the time since T0 (set right before the
# fault was injected), checks the bound and that `status` still answers; a table row.
expect() {
    local c=$1 obj=$2 st=$3 reason=$4 bound=$5 ms res=ok
    if ! ctl wait "$obj" "$st" --reason "$reason" --timeout $((bound / 1000 + 10)) >/dev/null 2>&1; then
        res=FAIL
        bad "$c: $obj never became $st $reason: $(state_of "$obj")"
    fi
    ms=$(($(now_ms) - T0))
    if [ "$res" = ok ]; then
        if [ "$ms" -le "$bound" ]; then ok "$c: $obj $st $reason in $ms ms (bound $bound)"; else
            bad "$c: $obj $st $reason in $ms ms, over the bound of $bound ms"
            res=SLOW
        fi
    fi
    if answers_status; then ok "$c: the daemon still answers status"; else
        bad "$c: status does not answer"
        res=FAIL
    fi
    row "$c" "$obj $st $reason" "$bound" "$ms" "$res"
}
recover() { # OBJ [REASON]: back to OK (ok) after the fault was undone
    local t=$(($(now_ms)))
    if ctl wait "$1" OK --reason "${2:-ok}" --timeout 30 >/dev/null 2>&1; then
        ok "recovered: $1 OK ${2:-ok} ($(($(now_ms) - t)) ms)"
    else
        bad "no recovery: $1 is not OK ${2:-ok}: $(state_of "$1")"
    fi
}
start_case() { echo "---- $1"; }
now() { T0=$(now_ms); }
logged() { grep -qF -- "$1" "$DAEMON_LOG"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }

daemon_start "$CONF" || exit 1
for o in wan1 wan2 vps vps_backup; do
    ctl wait "$o" OK --reason ok --timeout 30 >/dev/null 2>&1 || bad "$o did not start OK"
done
check "the key of vps is pinned" grep -q '^vps sha256:' "$W/pins"
ok "all OK, the matrix starts"

# ========================================================================== DNS (vps's name)
# The daemon keeps the last good answer (stale) and the server stays OK with the DNS reason.
start_case "DNS server down"
now
lab fault dns stop >/dev/null
expect "DNS server down" vps OK dns_timeout $B_DNSTO
check "DNS server down: the last good answer is kept, stale" test "$(resolver "['stale']")" = True
lab unfault dns >/dev/null
ctl recheck vps >/dev/null # re-resolves now instead of after the failure back-off
recover vps

start_case "DNS slow"
lab fault dns slow 700 >/dev/null
now
# Slower than usual but within dns_timeout (1 s): answered, reason ok, the RTT shows it.
rtt_ge() { "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$(resolver "['rtt_ms']")" "$1" 2>/dev/null; }
if wait_for $((B_DNS / 1000 + 1)) "DNS slow: an answer after >= 700 ms" rtt_ge 700; then
    ms=$(($(now_ms) - T0))
    st=$(srv vps "['status']+' '+d['servers']['vps']['reason']")
    res=ok
    [ "$st" = "OK ok" ] || res=FAIL
    [ "$ms" -le $((B_DNS + 700)) ] || res=SLOW
    check "DNS slow (+700 ms < dns_timeout): vps $st" test "$res" = ok
    answers_status || res=FAIL
    row "DNS slow (+700 ms)" "vps OK ok, dns rtt>=700" $((B_DNS + 700)) "$ms" "$res"
else
    row "DNS slow (+700 ms)" "vps OK ok, dns rtt>=700" $((B_DNS + 700)) "-" FAIL
fi
lab unfault dns slow >/dev/null

for f in "NXDOMAIN:remove:dns_nxdomain" "SERVFAIL:servfail:dns_servfail" \
    "REFUSED:refuse:dns_refused" "truncated answer (TC):truncate:dns_truncated"; do
    IFS=: read -r label sub reason <<<"$f"
    start_case "DNS $label"
    now
    lab fault dns "$sub" vps >/dev/null
    expect "DNS $label" vps OK "$reason" $B_DNS
    check "DNS $label: resolver reason $reason, the last good answer kept" \
        test "$(resolver "['reason']") $(resolver "['stale']") $(srv vps "['in_use']")" = "$reason True $LAB_VPS_MASTER4"
    lab unfault dns >/dev/null
    ctl recheck vps >/dev/null
    recover vps
done

# ========================================================================== the VPS API
# The fake VPS's hang modes and a new certificate act on new connections, and the daemon
# keeps its API connections alive between rounds (interval 2 s < its 4 s idle limit): those
# cases first drop the connections the way a restarted omr-admin does (`api master
# restart`), then set the mode. The credentials (POST /token, GET /status) are confirmed
# every 300 s or after a recheck: the cases about them (invalid JSON, API restart) ask for
# a recheck, and their bound is one round: timeout + 1 s.
B_RECHECK=3000
api_case() { # LABEL MODE STATUS REASON [restart|recheck]
    start_case "API $1"
    now
    [ "${5:-}" = restart ] && lab fault api master restart >/dev/null
    lab fault api master "$2" >/dev/null
    local b=$B_API
    if [ "${5:-}" = recheck ]; then
        ctl recheck vps >/dev/null
        b=$B_RECHECK
    fi
    expect "API $1" vps "$3" "$4" "$b"
    lab unfault api master >/dev/null
    # A credentials note stays until the credentials are confirmed again (300 s): recheck.
    [ "${5:-}" = recheck ] && ctl recheck vps >/dev/null
    recover vps
}
api_case refused refuse ERROR tcp_refused
api_case "hanging after accept" hang-accept ERROR tls_handshake restart
api_case "hanging mid-handshake" hang-handshake ERROR tls_handshake restart
api_case "HTTP 500" status500 ERROR http_status
# GET / answers 200 (reachable, like the shell's curl); /token and /status cannot be parsed.
api_case "invalid JSON" badjson OK http_bad_response recheck
api_case "oversized body" oversize ERROR http_bad_response

start_case "API wrong password"
uci_override "$CONF/openmptcprouter" server vps "option password 'wrong-$$'"
now
ctl reload >/dev/null
expect "API wrong password" vps OK api_auth_rejected $B_API
check "wrong password: vps stays current" test "$(srv vps "['current']")" = True
cp -p "$W/openmptcprouter.good" "$CONF/openmptcprouter"
ctl reload >/dev/null
recover vps

start_case "API certificate changed under pin"
now
lab fault api master cert alt >/dev/null
lab fault api master restart >/dev/null # the new key is served on new connections
expect "API cert changed under pin" vps ERROR tls_pin_mismatch $B_API
check "pin mismatch: the backup is current" test "$(srv vps_backup "['current']")" = True
lab unfault api master >/dev/null
recover vps

start_case "API restart"
stat_of() { lab vpsctl master stats | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
issued0=$(stat_of tokens_issued)
tr0=$(srv vps "['transitions']")
now
lab fault api master restart >/dev/null
ctl recheck vps >/dev/null
issued_gt() { [ "$(stat_of tokens_issued)" -gt "$1" ]; }
res=ok
wait_for $((B_RECHECK / 1000)) "API restart: the old token refused, a new one issued" issued_gt "$issued0" || res=FAIL
ms=$(($(now_ms) - T0))
check "API restart: vps still OK ok, no transition" test "$(srv vps "['status']+' '+d['servers']['vps']['reason']") $(srv vps "['transitions']")" = "OK ok $tr0" || res=FAIL
answers_status || res=FAIL
check "API restart: the renewal is logged" logged "vps: the API no longer accepted our token (restarted?); got a new one" || res=FAIL
row "API restart" "vps OK ok, new token" $B_RECHECK "$ms" "$res"

# ========================================================================== ICMP
start_case "30 % loss"
now
lab fault loss wan2 30 >/dev/null
expect "30 % loss" wan2 ERROR quality_loss $B_QUAL
check "30 % loss: wan1 unaffected" test "$(ifc wan1 "['status']")" = OK
lab unfault loss wan2 >/dev/null
recover wan2

start_case "100 % loss"
now
lab fault loss wan1 100 >/dev/null
expect "100 % loss" wan1 ERROR target_timeout $B_IFACE
lab unfault loss wan1 >/dev/null
recover wan1

# Forged replies, from the probed target's address (tools/lab.d/icmp_forge.py). The daemon
# uses datagram ping sockets here (the lab's ping_group_range): the kernel delivers only
# replies carrying the socket's own echo id, so the wrong-id forgeries never reach it, and
# drops ICMP messages shorter than the 8-byte header before any socket sees them; what it
# does see: wrong sequence numbers (ignored.foreign), replies with 4 bytes of data instead
# of 56 (ignored.malformed) and duplicates (ignored.duplicate).
ign() { ifc wan1 "['probes']['ignored']['$1']"; }
forge_stat() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['$1'])" "$LAB_STATE/forge-wan1.json" 2>/dev/null || echo 0; }
start_case "forged ICMP replies + black hole"
f0=$(ign foreign)
m0=$(ign malformed)
now
lab fault forge wan1 on >/dev/null
lab fault blackhole wan1 on >/dev/null
expect "forged replies (blackhole)" wan1 ERROR target_timeout $B_IFACE
check "forger answered requests ($(forge_stat requests) requests, $(forge_stat wrong_seq) wrong-seq, $(forge_stat truncated) truncated)" test "$(forge_stat requests)" -gt 0
check "wrong sequence numbers counted as ignored.foreign ($f0 -> $(ign foreign))" test "$(ign foreign)" -gt "$f0"
check "short replies counted as ignored.malformed ($m0 -> $(ign malformed))" test "$(ign malformed)" -gt "$m0"
check "forged replies logged as ignored" grep -q "wan1/ipv4: .*seq .* matches no probe\|wan1/ipv4: echo reply for seq .* carries 4 bytes" "$DAEMON_LOG"
lab unfault blackhole wan1 >/dev/null
lab unfault forge wan1 >/dev/null
recover wan1

start_case "forged duplicates of genuine replies"
d0=$(ign duplicate)
tr0=$(ifc wan1 "['transitions']")
now
lab fault forge wan1 on --duplicates >/dev/null
dup_grew() { [ "$(ign duplicate)" -gt "$d0" ]; }
res=ok
wait_for 5 "duplicates: ignored.duplicate grows" dup_grew || res=FAIL
ms=$(($(now_ms) - T0))
st=$(ifc wan1 "['status']+' '+d['interfaces']['wan1']['reason']+' loss '+str(d['interfaces']['wan1']['loss_pct'])")
check "duplicates: wan1 stays OK ok with loss 0 ($st)" test "${st% loss *}" = "OK ok" -a "$(echo "${st#* loss }" | cut -d. -f1)" = 0 || res=FAIL
check "duplicates: no transition while they arrive" test "$(ifc wan1 "['transitions']")" = "$tr0"
answers_status || res=FAIL
row "forged duplicates (no blackhole)" "wan1 OK ok, loss 0" 5000 "$ms" "$res"
lab unfault forge wan1 >/dev/null

# ========================================================================== flap storm
# 100 carrier flaps/s for 2 s on wan1's ISP side, ending down. Then: ERROR link_down at
# once (B_LINK after the storm); CPU bound: 200 flaps make ~800 netlink messages (link,
# address and route changes); at a generous 0.5 ms each the daemon may spend 0.4 s, so
# 1 s of CPU (half a core over the storm) is the bound.
start_case "100 flaps/s storm"
ISP1=$LAB_NS_ISP1
c0=$(cpu_ticks)
# One `ip -batch` process reads the commands as they are written: no fork per flap.
storm() {
    # 200 flaps on a fixed 10 ms schedule (bash's $EPOCHREALTIME: no fork per reading)
    local t0=${EPOCHREALTIME/./} n
    for n in $(seq 0 199); do
        while [ "${EPOCHREALTIME/./}" -lt $((t0 + n * 10000)) ]; do :; done # pacing, nothing to await
        printf 'link set cust down\nlink set cust up\n'
    done
    printf 'link set cust down\n'
    echo "$((n + 1)) $(((${EPOCHREALTIME/./} - t0) / 1000))" >"$W/out/flaps"
}
storm | ip -n "$ISP1" -batch - 2>/dev/null
read -r flaps storm_ms <"$W/out/flaps"
now
expect "flap storm, ends down ($flaps flaps)" wan1 ERROR link_down $B_LINK
c1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
cpu_ms=$(((c1 - c0) * 1000 / hz))
check "flap storm: $flaps flaps in $storm_ms ms (100/s: 200 in <= 2100 ms)" test "$flaps" = 200 -a "$storm_ms" -le 2100
res=ok
[ "$cpu_ms" -le 1000 ] || res=FAIL
check "flap storm: daemon CPU $cpu_ms ms <= 1000 ms" test "$res" = ok
row "flap storm CPU ($flaps flaps)" "cpu <= 1000 ms" 1000 "$cpu_ms" "$res"
now
lab unfault carrier wan1 >/dev/null
# up again: the flap hold (250 ms), then a cycle: interval + 1 s
expect "flap storm, then up" wan1 OK ok 3000

# ========================================================================== hooks
hook_case() { # LABEL MARKER
    start_case "hook that $1"
    touch "$W/$2"
    now
    lab fault blackhole wan1 on >/dev/null
    expect "hook that $1" wan1 ERROR target_timeout $B_IFACE
}
hook_case hangs hang
wait_for 10 "hanging hook started" test -s "$W/out/hang.pid"
hp=$(cat "$W/out/hang.pid" 2>/dev/null)
rm -f "$W/hang"
wait_for 8 "the hung hook was killed (hook_timeout 2 s + grace)" sh -c "! kill -0 ${hp:-1} 2>/dev/null"
check "hook timeout logged" grep -q "timed out after .* (limit 2.0 s)" "$DAEMON_LOG"
lab unfault blackhole wan1 >/dev/null
recover wan1

hook_case crashes crash
wait_for 5 "the crashing hook ran" test -s "$W/out/crash.pids"
wait_for 5 "its crash (SIGSEGV) is logged" grep -q "killed by signal 11" "$DAEMON_LOG"
rm -f "$W/crash"
lab unfault blackhole wan1 >/dev/null
recover wan1

log0=$(stat -c %s "$DAEMON_LOG")
rss0=$(awk '/VmRSS/{print $2}' "/proc/$DAEMON_PID/status")
hook_case "prints megabytes" flood
wait_for 10 "the flooding hook finished (4 MB read and dropped)" test -s "$W/out/flood.runs"
rm -f "$W/flood"
lab unfault blackhole wan1 >/dev/null
recover wan1
runs=$(wc -l <"$W/out/flood.runs")
grown=$(($(stat -c %s "$DAEMON_LOG") - log0))
rss1=$(awk '/VmRSS/{print $2}' "/proc/$DAEMON_PID/status")
# 200 lines of at most 900 bytes per hook run are logged: 180 kB per run, plus the rest
check "flood: the log grew ${grown} bytes for $runs runs of 4 MB (<= 200 kB per run)" test "$grown" -le $((runs * 200000 + 100000))
check "flood: RSS ${rss0} -> ${rss1} kB (< +4 MB)" test "$rss1" -lt $((rss0 + 4096))
nl=$(grep -c "post-tracking-10-faulty: wan1\[[0-9]*\]: [0-9]\{4\} xxxx" "$DAEMON_LOG")
check "flood: $nl of its $((runs * 4000)) lines logged (200 per run: max_lines_per_hook)" test "$nl" = $((runs * 200))
sup=$(grep -o "[0-9]* more lines suppressed ([0-9]* bytes of output)" "$DAEMON_LOG" | tail -n 1)
check "flood: the rest is summed up in one line (${sup:-none})" test "${sup%% *}" = 3800

# ========================================================================== control socket
# A client asks for watch and status replies and never reads them: the daemon must keep
# answering others and tracking, and drop it when its output queue (1 MiB) is full.
start_case "control client that never reads"
"$PY" - "$DAEMON_SOCK" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.setblocking(False)
req = b'{"cmd":"watch"}\n' + b'{"cmd":"status"}\n' * 2000
try:
    s.send(req)
except OSError:
    pass
time.sleep(120)  # connected, never reads
EOF
STALL_PID=$!
HELPER_PIDS="$HELPER_PIDS $STALL_PID"
# When the daemon closes it: the time its log says so (event-driven, tail -F).
(timeout 60 tail -n 0 -F "$DAEMON_LOG" 2>/dev/null |
    grep -q -m1 "control: client .* has not read for\|does not read its replies; dropping it" &&
    now_ms >"$W/out/stall.closed") &
HELPER_PIDS="$HELPER_PIDS $!"
now
lab fault blackhole wan1 on >/dev/null
expect "client never reads (wan1 black-holed meanwhile)" wan1 ERROR target_timeout $B_IFACE
STALL_T0=$T0
# It stays connected through the next cases; the daemon closes it after its idle limit
# (30 s without reading), checked at the end.
lab unfault blackhole wan1 >/dev/null
recover wan1

# ========================================================================== SIGHUP, broken config
start_case "SIGHUP with a broken config under load"
# wan2, not wan1: wan1 has the default route the system resolver's queries take, so a
# black hole there would add dns_timeout to vps.
lab fault blackhole wan2 on >/dev/null
lab fault api master refuse >/dev/null
ctl wait wan2 ERROR --reason target_timeout --timeout 15 >/dev/null 2>&1
ctl wait vps ERROR --reason tcp_refused --timeout 15 >/dev/null 2>&1
printf "\nconfig interface 'wan2'\n\toption timeout 'soon'\n\toption 'broken\n" >>"$CONF/omr-tracker"
before=$(ifc wan2 "['status']+' '+d['interfaces']['wan2']['reason']")/$(ifc wan1 "['status']")/$(srv vps "['status']+' '+d['servers']['vps']['reason']")
now
kill -HUP "$DAEMON_PID"
res=ok
wait_for 3 "broken config: the reload error is logged" logged "reload: invalid configuration" || res=FAIL
ms=$(($(now_ms) - T0))
after=$(ifc wan2 "['status']+' '+d['interfaces']['wan2']['reason']")/$(ifc wan1 "['status']")/$(srv vps "['status']+' '+d['servers']['vps']['reason']")
check "broken config: states unchanged ($before -> $after)" test "$before" = "$after" || res=FAIL
check "broken config: still running (pid $DAEMON_PID)" kill -0 "$DAEMON_PID" || res=FAIL
answers_status || res=FAIL
row "SIGHUP broken config" "error logged, states kept" 3000 "$ms" "$res"
lab unfault api master >/dev/null
expect "... old config still tracks: API back" vps OK ok $((B_API + 1000))
n0=$(grep -c "reloaded " "$DAEMON_LOG")
cp "$W/omr-tracker.good" "$CONF/omr-tracker"
uci_override "$CONF/omr-tracker" interface wan2 "option timeout '2'"
now
kill -HUP "$DAEMON_PID"
reloaded() { [ "$(grep -c "reloaded " "$DAEMON_LOG")" -gt "$n0" ]; }
wait_for 3 "fixed config + SIGHUP: reloaded" reloaded
check "the reload says wan2 changed" sh -c "grep 'reloaded ' '$DAEMON_LOG' | tail -n 1 | grep -q 'changed wan2'"
lab unfault blackhole wan2 >/dev/null
recover wan2

# ========================================================================== status dir read-only
start_case "status file's directory not writable"
write_error() { [ "$(jq_status "d['daemon']['status_write_error']")" != None ]; }
file_says() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["interfaces"]["wan1"]["status"]==sys.argv[2] else 1)' "$SD/status.json" "$1" 2>/dev/null; }
check "status file written (wan1 OK)" file_says OK
mount -o remount,ro "$SD" # the superblock: read-only in the daemon's mount namespace too
now
lab fault blackhole wan1 on >/dev/null
expect "status dir read-only" wan1 ERROR target_timeout $B_IFACE
wait_for 3 "the write failure is in daemon.status_write_error" write_error
check "the write failure is logged" grep -q "status: .*status.json.*; retrying at the next change" "$DAEMON_LOG"
check "the file still holds the last written state (wan1 OK)" file_says OK
mount -o remount,rw "$SD"
lab unfault blackhole wan1 >/dev/null
recover wan1
wait_for 3 "writable again: the file follows (wan1 OK)" file_says OK
no_write_error() { ! write_error; }
wait_for 5 "writable again: daemon.status_write_error cleared" no_write_error
check "writable again: logged" logged "is written again"

# ========================================================================== the end
res=ok
wait_for 35 "the client that never reads was closed by the daemon" test -s "$W/out/stall.closed" || res=FAIL
ms=$(($(cat "$W/out/stall.closed" 2>/dev/null || now_ms) - STALL_T0))
kill "$STALL_PID" 2>/dev/null
wait "$STALL_PID" 2>/dev/null
answers_status || res=FAIL
row "control client never reads: dropped" "closed, others served" 31000 "$ms" "$res"
[ "$ms" -le 31000 ] || bad "stalled client closed after $ms ms (idle limit 30 s + 1 s)"
check "no password in the daemon's log" sh -c "! grep -qF \"\$(cat '$LAB_PASSWORD_FILE')\" '$DAEMON_LOG'"
daemon_stop
echo
printf '%-50s | %-30s | %8s | %8s | %s\n' case expected "bound ms" "measured" ok
printf '%s\n' "$(printf '%.0s-' $(seq 1 116))"
for r in "${ROWS[@]}"; do
    IFS='|' read -r c e b m o <<<"$r"
    printf '%-50s | %-30s | %8s | %8s | %s\n' "$c" "$e" "$b" "$m" "$o"
done
echo "total: $(elapsed)"
