#!/usr/bin/env bash
# The interface tracker in the lab (issue 4): both WANs OK; wan1 black-holed with carrier
# up -> ERROR target_timeout after the configured tries while wan2 stays OK; restored ->
# OK; 30 % loss with check_quality -> quality_loss; the hooks' exact environment; a hook
# that hangs is killed at its timeout while probing goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
lab_test_init iface
W=$(mktemp -d /tmp/omrt-iface-XXXXXX)
trap 'daemon_stop; rm -rf "$W"; lab_test_exit' EXIT

lab up >/dev/null || { bad "lab up"; exit 1; }

# --- the daemon's configuration: the lab's OMR config, hooks of this test
CONF=$W/config
daemon_config "$CONF"
mkdir -p "$W/hooks" "$W/out"
cat >"$W/hooks/10-env" <<HOOK
#!/bin/sh
# Records the environment of every run, per interface and status.
env | sort >"$W/out/env.\$OMR_TRACKER_INTERFACE.\$OMR_TRACKER_STATUS"
echo "\$(date +%s%N) \$OMR_TRACKER_PREV_STATUS>\$OMR_TRACKER_STATUS" >>"$W/out/runs.\$OMR_TRACKER_INTERFACE"
HOOK
cat >"$W/hooks/20-hang" <<HOOK
#!/bin/sh
# Hangs while the marker exists (for wan1 only), to be killed at hook_timeout.
if [ "\$OMR_TRACKER_INTERFACE" = wan1 ] && [ -e "$W/hang" ]; then
    echo \$\$ >"$W/out/hang.pid"
    sleep 1000
fi
HOOK
echo "not executable: must be skipped" >"$W/hooks/30-not-executable"
chmod +x "$W/hooks/10-env" "$W/hooks/20-hang"
uci_override "$CONF/omr-tracker" daemon daemon "option hooks_dir '$W/hooks'" "option hook_timeout '2'"
# Faster recovery than the shipped 20 s, so the test is short; tries/timeout/interval stay.
uci_override "$CONF/omr-tracker" defaults defaults "option failure_interval '4'"
check "test configuration is valid" "$DAEMON" --check-config -C "$CONF" >/dev/null 2>&1

daemon_start "$CONF" || exit 1

# --- both WANs OK
expect_state wan1 OK 15 "wan1 OK"
expect_state wan2 OK 15 "wan2 OK"

# --- hooks: the exact variable set of reference §4.2 with the right values
expect_env() { # FILE VAR VALUE
    local got
    got=$(sed -n "s/^$2=//p" "$1")
    if [ "$got" = "$3" ]; then ok "hook env $2=$3"; else bad "hook env $2: '$got', want '$3'"; fi
}
wait_for 10 "post-tracking hook ran for wan1" test -s "$W/out/env.wan1.OK"
E=$W/out/env.wan1.OK
want_vars="INTERFACE DEVICE PREV_DEVICE DEVICE_IP DEVICE_IP6 PREV_DEVICE_IP PREV_DEVICE_IP6
DEVICE_GATEWAY DEVICE_GATEWAY6 STATUS PREV_STATUS STATUS_MSG LATENCY LOSS HOST HOST6 HOSTS HOSTS6
LIST_HOSTS LIST_HOSTS6 TYPE FAMILY TIMEOUT COUNT SIZE MAX_TTL TRIES TRIES_UP INTERVAL
INTERVAL_TRIES FAILURE_INTERVAL WAIT_TEST CHECK_QUALITY FAILURE_LOSS FAILURE_LATENCY RECOVERY_LOSS
RECOVERY_LATENCY RELIABILITY SERVER_TEST SERVER_HTTP_TEST IPV6 PROTO NO_BIND TABLE REASON"
missing=""
for v in $want_vars; do grep -q "^OMR_TRACKER_$v=" "$E" || missing="$missing $v"; done
if [ -z "$missing" ]; then ok "every OMR_TRACKER_* variable of §4.2 is exported"; else bad "missing:$missing"; fi
extra=$(grep -v -e '^OMR_TRACKER_' -e '^PATH=' -e '^PWD=' -e '^SHLVL=' -e '^_=' "$E" | cut -d= -f1 | tr '\n' ' ')
if [ -z "$extra" ]; then ok "nothing else inherited"; else bad "unexpected variables: $extra"; fi
expect_env "$E" OMR_TRACKER_INTERFACE wan1
expect_env "$E" OMR_TRACKER_DEVICE wan1
expect_env "$E" OMR_TRACKER_DEVICE_IP 10.101.0.2
expect_env "$E" OMR_TRACKER_DEVICE_GATEWAY 10.101.0.1
expect_env "$E" OMR_TRACKER_DEVICE_IP6 2001:db8:101::2
expect_env "$E" OMR_TRACKER_DEVICE_GATEWAY6 2001:db8:101::1
expect_env "$E" OMR_TRACKER_STATUS OK
expect_env "$E" OMR_TRACKER_TYPE ping
expect_env "$E" OMR_TRACKER_FAMILY ipv4ipv6
expect_env "$E" OMR_TRACKER_TRIES 3
expect_env "$E" OMR_TRACKER_TRIES_UP 5
expect_env "$E" OMR_TRACKER_TIMEOUT 2
expect_env "$E" OMR_TRACKER_COUNT 2
expect_env "$E" OMR_TRACKER_INTERVAL 2
expect_env "$E" OMR_TRACKER_FAILURE_INTERVAL 4
expect_env "$E" OMR_TRACKER_PROTO static
expect_env "$E" OMR_TRACKER_IPV6 1
expect_env "$E" OMR_TRACKER_REASON ok
expect_env "$E" OMR_TRACKER_HOSTS "198.51.100.1 198.51.100.2 198.51.100.3"
lat=$(sed -n 's/^OMR_TRACKER_LATENCY=//p' "$E")
check "LATENCY is an integer of ms ($lat)" test -n "$lat" -a "$lat" -ge 0 2>/dev/null
first_prev=$(head -n 1 "$W/out/runs.wan1" | cut -d' ' -f2)
check "first run sees PREV_STATUS empty (shell: no transition on the first cycle)" test "$first_prev" = ">OK"
runs=$(wc -l <"$W/out/runs.wan1")
wait_for 10 "hooks run again every cycle (periodic)" sh -c "[ \$(wc -l <'$W/out/runs.wan1') -gt $runs ]"
check "non-executable file skipped" test ! -e "$W/out/ran-30"

# --- wan1 black-holed with carrier up -> ERROR target_timeout; wan2 unaffected
t0=$(now_ms)
lab fault blackhole wan1 on >/dev/null
expect_state wan1 ERROR target_timeout 40 "wan1 ERROR target_timeout after the black hole"
t1=$(now_ms)
echo "     black hole -> ERROR: $((t1 - t0)) ms (tries 3, timeout 2 s, interval_tries 1 s; shell: 20-25 s)"
check "detection within tries x (2 timeouts + interval_tries) + one interval" test $((t1 - t0)) -le 18000
msg=$(field wan1 message)
check "message names the evidence ($msg)" sh -c "echo '$msg' | grep -q 'attempts failed via wan1' && echo '$msg' | grep -q 'gateway 10.101.0.1 answers'"
check "wan2 stayed OK" test "$(field wan2 status)" = OK
check "wan2 had no transition" test "$(field wan2 transitions)" = 1
wait_for 10 "transition hook saw PREV_STATUS=OK STATUS=ERROR" grep -q "OK>ERROR" "$W/out/runs.wan1"
expect_env "$W/out/env.wan1.ERROR" OMR_TRACKER_REASON target_timeout
sm=$(sed -n 's/^OMR_TRACKER_STATUS_MSG=//p' "$W/out/env.wan1.ERROR")
check "STATUS_MSG worded like the shell tracker ($sm)" sh -c "echo '$sm' | grep -q 'check error' && echo '$sm' | grep -q 'ping from 10.101.0.2 error ('"

lab unfault blackhole wan1 >/dev/null
expect_state wan1 OK 20 "wan1 OK again after the repair"
wait_for 10 "transition hook saw ERROR>OK" grep -q "ERROR>OK" "$W/out/runs.wan1"

# --- a hook that hangs: killed at hook_timeout (2 s); probing goes on meanwhile
touch "$W/hang"
wait_for 10 "hanging hook started" test -s "$W/out/hang.pid"
hang_pid=$(cat "$W/out/hang.pid")
t0=$(now_ms)
lab fault blackhole wan1 on >/dev/null
expect_state wan1 ERROR target_timeout 40 "wan1 still judged (ERROR) while its hook hangs"
rm -f "$W/hang"
wait_for 10 "the hung hook was killed" sh -c "! kill -0 $hang_pid 2>/dev/null"
check "the kill is logged with the hook name" grep -q "20-hang.*timed out\|timed out.*20-hang" "$DAEMON_LOG"
lab unfault blackhole wan1 >/dev/null
expect_state wan1 OK 20 "wan1 OK again"

# --- 30 % loss with check_quality -> quality_loss
daemon_stop
uci_override "$CONF/omr-tracker" interface wan1 "option check_quality '1'" "option failure_loss '20'" "option recovery_loss '5'"
daemon_start "$CONF" || exit 1
expect_state wan1 OK 15 "wan1 OK with check_quality"
lab fault loss wan1 30 >/dev/null
expect_state wan1 ERROR quality_loss 90 "30 % loss -> ERROR quality_loss"
msg=$(field wan1 message)
check "message gives the measured loss ($msg)" sh -c "echo '$msg' | grep -q '% loss to'"
check "wan2 stayed OK under wan1's loss" test "$(field wan2 status)" = OK
lab unfault loss wan1 >/dev/null

daemon_stop
check "no password in the daemon's log" sh -c "! grep -qF \"\$(cat $(lab state-dir)/vps-password 2>/dev/null || echo none-set)\" '$DAEMON_LOG'"
