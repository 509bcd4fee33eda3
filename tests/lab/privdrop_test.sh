#!/usr/bin/env bash
# Privilege drop (issue 4, "Privileges"; issue 10): `-u nobody` leaves only CAP_NET_RAW;
# without ping_group_range the daemon probes through raw sockets with that capability,
# with it through datagram ping sockets; the control socket stays usable by root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
lab_test_init privdrop
W=$(mktemp -d /tmp/omrt-privdrop-XXXXXX)
trap 'daemon_stop; rm -rf "$W"; lab_test_exit' EXIT
id nobody >/dev/null 2>&1 || skip "no user nobody"
lab up --no-ping-group >/dev/null || { bad "lab up"; exit 1; }
check "router's ping_group_range is the kernel default (1 0)" \
    sh -c "ip netns exec $LAB_NAME-r cat /proc/sys/net/ipv4/ping_group_range | grep -q '^1[[:space:]]*0'"

CONF=$W/config
daemon_config "$CONF"
mkdir -p "$W/run"
chmod 0777 "$W/run" # the status file is written as nobody
chmod 0755 "$W"
uci_override "$CONF/omr-tracker" daemon daemon "option status_file '$W/run/status.json'" \
    "option hooks_dir '$W/nohooks'" "option user 'nobody'"
daemon_start "$CONF" || exit 1
wait_for 5 "dropped to nobody" grep -q "running as nobody" "$DAEMON_LOG"
uid=$(awk '/^Uid:/ {print $2, $3, $4}' "/proc/$DAEMON_PID/status")
capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$DAEMON_PID/status")
capprm=$(awk '/^CapPrm:/ {print $2}' "/proc/$DAEMON_PID/status")
check "uid/euid/suid 65534 ($uid)" test "$uid" = "65534 65534 65534"
check "only CAP_NET_RAW effective ($capeff)" test "$capeff" = 0000000000002000
check "only CAP_NET_RAW permitted ($capprm)" test "$capprm" = 0000000000002000
expect_state wan1 OK 15 "wan1 OK as nobody"
expect_state wan2 OK 15 "wan2 OK as nobody"
check "raw sockets, with the reason" grep -q "using raw sockets" "$DAEMON_LOG"
wait_for 10 "status file written as nobody" test -s "$W/run/status.json"
check "status file owned by nobody" test "$(stat -c %u "$W/run/status.json")" = 65534
check "control socket still answers root" ctl status
lab fault blackhole wan1 on >/dev/null
expect_state wan1 ERROR target_timeout 40 "still tracking: black hole seen as nobody"
lab unfault blackhole wan1 >/dev/null
daemon_stop

# With ping_group_range covering nobody's group: datagram ping sockets, no raw needed.
ip netns exec "$LAB_NAME-r" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
daemon_start "$CONF" || exit 1
expect_state wan1 OK 15 "wan1 OK as nobody with ping sockets"
check "datagram ping sockets used" grep -q "using datagram ping sockets" "$DAEMON_LOG"
