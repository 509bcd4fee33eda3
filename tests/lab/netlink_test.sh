#!/usr/bin/env bash
# Netlink reactions in the lab (issue 7): carrier down -> ERROR link_down at once and the
# hooks started; carrier up -> OK after the probe burst; an address change -> probes from
# the new source; a default-route change -> the new gateway; the device deleted and
# re-created -> tracking resumes on the new ifindex; a flap storm -> the right final state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
lab_test_init netlink
W=$(mktemp -d /tmp/omrt-netlink-XXXXXX)
trap 'daemon_stop; rm -rf "$W"; lab_test_exit' EXIT

lab up >/dev/null || { bad "lab up"; exit 1; }
CONF=$W/config
daemon_config "$CONF"
mkdir -p "$W/hooks" "$W/out"
cat >"$W/hooks/10-record" <<HOOK
#!/bin/sh
echo "\$(date +%s%N) \$OMR_TRACKER_INTERFACE \$OMR_TRACKER_PREV_STATUS>\$OMR_TRACKER_STATUS \$OMR_TRACKER_REASON ip=\$OMR_TRACKER_DEVICE_IP gw=\$OMR_TRACKER_DEVICE_GATEWAY prev_ip=\$OMR_TRACKER_PREV_DEVICE_IP" >>"$W/out/runs"
HOOK
chmod +x "$W/hooks/10-record"
uci_override "$CONF/omr-tracker" daemon daemon "option hooks_dir '$W/hooks'"
uci_override "$CONF/omr-tracker" defaults defaults "option failure_interval '5'"
daemon_start "$CONF" || exit 1
expect_state wan1 OK 15 "wan1 OK"
expect_state wan2 OK 15 "wan2 OK"

# --- carrier loss (peer side): link_down at once, no waiting for probe timeouts
t0=$(now_ms)
lab fault carrier wan1 down >/dev/null
expect_state wan1 ERROR link_down 5 "carrier loss -> ERROR link_down"
t1=$(now_ms)
echo "     carrier loss -> ERROR seen by the test: $((t1 - t0)) ms (incl. the lab command)"
check "well under one probe timeout (2 s)" test $((t1 - t0)) -lt 1500
wait_for 5 "the transition hook ran with REASON link_down" grep -q "wan1 OK>ERROR link_down" "$W/out/runs"
check "wan2 unaffected" test "$(field wan2 status)" = OK

# --- carrier back: a probe burst, OK without waiting for failure_interval (5 s)
t0=$(now_ms)
lab fault carrier wan1 up >/dev/null
expect_state wan1 OK 10 "carrier back -> OK"
t1=$(now_ms)
echo "     carrier up -> OK seen by the test: $((t1 - t0)) ms"
check "OK again before failure_interval would have retried" test $((t1 - t0)) -lt 5000

# --- address change: the probes move to the new source address
lab fault addr wan1 10.101.0.7 >/dev/null
wait_for 10 "a hook saw the new address" grep -q "wan1 OK>OK ok ip=10.101.0.7 .*prev_ip=10.101.0.2" "$W/out/runs"
wait_for 5 "the ICMP socket re-bound to 10.101.0.7" grep -q "wan1/ipv4: icmp socket open.*source 10.101.0.7" "$DAEMON_LOG"
expect_state wan1 OK 10 "wan1 OK from its new address"
lab unfault addr wan1 >/dev/null

# --- default route change: the new gateway is used (and probed)
lab fault gateway wan1 10.101.0.254 >/dev/null
wait_for 10 "a hook saw the new gateway" grep -q "wan1 OK>OK ok .*gw=10.101.0.254" "$W/out/runs"
check "status still OK" test "$(field wan1 status)" = OK
lab unfault gateway wan1 >/dev/null

# --- the device deleted and re-created with a new ifindex: tracking resumes
old_idx=$(ifindex wan1)
lab fault recreate wan1 >/dev/null
new_idx=$(ifindex wan1)
check "re-created with a new ifindex ($old_idx -> $new_idx)" test "$old_idx" != "$new_idx"
expect_state wan1 OK 15 "wan1 tracked again on the new device"
check "the deletion was seen (a transition through ERROR)" grep -q "wan1 OK>ERROR" "$W/out/runs"

# --- a flap storm: 5 s of carrier toggling on the ISP side, then the final state counts
isp=$LAB_NAME-isp1
cpu0=$(awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat")
end=$(($(now_ms) + 5000))
n=0
while [ "$(now_ms)" -lt "$end" ]; do
    ip -n "$isp" link set cust down
    ip -n "$isp" link set cust up
    n=$((n + 1))
done
cpu1=$(awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat")
echo "     flap storm: $n down/up pairs in 5 s; daemon CPU $(((cpu1 - cpu0) * 10)) ms"
check "the storm cost the daemon < 1 s of CPU" test $(((cpu1 - cpu0) * 10)) -lt 1000
expect_state wan1 OK 15 "after a storm ending up: OK"
end=$(($(now_ms) + 2000))
while [ "$(now_ms)" -lt "$end" ]; do
    ip -n "$isp" link set cust up
    ip -n "$isp" link set cust down
done
expect_state wan1 ERROR link_down 5 "after a storm ending down: ERROR link_down"
ip -n "$isp" link set cust up
expect_state wan1 OK 15 "and OK once it stays up"
kill -0 "$DAEMON_PID" && ok "daemon alive after the storms"
