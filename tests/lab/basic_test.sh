#!/bin/bash
# tools/lab itself: up/down (twice, idempotent), status, exec, env, the topology (every WAN,
# v4 and v6, DNS, both VPSes), ping_group_range on/off, the UCI config, exit codes.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
lab_test_init basic

check "help exits 0" bash -c "$LAB_TOOL help | grep -q 'fault NAME'"
check "an unknown command exits 2" bash -c "$LAB_TOOL frobnicate 2>/dev/null; [ \$? = 2 ]"
check "a fault on a lab that is not up exits 3" bash -c "$LAB_TOOL fault carrier wan1 down 2>/dev/null; [ \$? = 3 ]"
check "status of a lab that is not up exits 1" bash -c "$LAB_TOOL status >/dev/null; [ \$? = 1 ]"
check "down of a lab that is not up: ok" bash -c "$LAB_TOOL down | grep -q 'nothing to do'"

T0=$(now_ms)
OUT=$(lab up --wans 3 --ttl 3)
RC=$?
T=$(($(now_ms) - T0))
check "up --wans 3 succeeds in ${T} ms (< 5000)" test "$RC" = 0 -a "$T" -lt 5000
remember_pids
printf '    | %s\n' "${OUT//$'\n'/$'\n    | '}"
check "the summary names the config dir" bash -c "echo '$OUT' | grep -q '/config'"
check "up twice: 'already up', exit 0" bash -c "$LAB_TOOL up --wans 3 | grep -q 'already up'"
check "status exits 0" bash -c "$LAB_TOOL status >/dev/null"
eval "$(lab env)"
for ns in "$LAB_NS_ROUTER" "$LAB_NS_NET" "$LAB_NS_ISP1" "$LAB_NS_ISP2" "$LAB_NS_ISP3"; do
    check "namespace $ns exists" test -e "/run/netns/$ns"
done
check "config-dir prints the config dir" test "$(lab config-dir)" = "$LAB_STATE/config"
check "state-dir prints the state dir" test "$(lab state-dir)" = "/run/omr-lab/$LAB_NAME"

# topology: every WAN reaches every kind of target, v4 and v6
for w in 1 2 3; do
    check "wan$w: 10.10$w.0.2/24 and 2001:db8:10$w::2/64" bash -c "$LAB_TOOL exec ip -o addr show wan$w | grep -q ' 10.10$w.0.2/24' && $LAB_TOOL exec ip -o addr show wan$w | grep -q ' 2001:db8:10$w::2/64'"
    check "wan$w: default route metric $w (v4, v6)" bash -c "$LAB_TOOL exec ip route show default | grep -q 'via 10.10$w.0.1 dev wan$w metric $w' && $LAB_TOOL exec ip -6 route show default | grep -q 'via 2001:db8:10$w::1 dev wan$w metric $w'"
    check "wan$w: pings host$w (v4)" ping_ok -I "wan$w" "198.51.100.$w"
    check "wan$w: pings host$w (v6)" ping_ok -6 -I "wan$w" "2001:db8:100::$w"
    C=$(rx curl -s -k --max-time 3 --interface "wan$w" "https://$LAB_VPS_BACKUP4:65500/clienthost")
    check "wan$w: the backup VPS sees 10.10$w.0.2 ($C)" test "$C" = "{\"client_host\":\"10.10$w.0.2\"}"
done
check "the first default route is wan1's" bash -c "$LAB_TOOL exec ip route get 198.51.100.1 | grep -q 'dev wan1'"
check "keep_addr_on_down=1 in the router" test "$(rx sysctl -n net.ipv6.conf.all.keep_addr_on_down)" = 1
check "rp_filter=0 in an ISP" test "$(rx isp2 sysctl -n net.ipv4.conf.all.rp_filter)" = 0
check "forwarding on in an ISP" test "$(rx isp3 sysctl -n net.ipv4.ip_forward)" = 1
check "exec net: the internet owns the VPS addresses" bash -c "$LAB_TOOL exec net ip -o addr show lo | grep -q 198.51.100.10/32"
check "dns by name through the router's resolver (getent)" bash -c "$LAB_TOOL exec getent ahostsv4 vps.lab.test | grep -q 198.51.100.10"
check "ttl 3 in the answers" bash -c "$LAB_TOOL exec dig +noall +answer host1.lab.test | awk '{print \$2}' | grep -qx 3"
check "master and backup answer on v6 by name" bash -c "$LAB_TOOL exec curl -s -6 --cacert $LAB_CA https://vps.lab.test:65500/ | grep -q Welcome && $LAB_TOOL exec curl -s -6 --cacert $LAB_CA https://vps-backup.lab.test:65500/ | grep -q Welcome"

# loss 100 %: everything dropped (numgen's range is 0..99, so 100 is a plain drop)
lab fault loss wan1 100
check "loss wan1 100: no reply" ping_fails -I wan1 198.51.100.1
lab unfault loss wan1
check "unfault loss: replies again" ping_ok -I wan1 198.51.100.1

# forged ICMP replies (lab.d/icmp_forge.py in the ISP namespace)
forge_stat() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$LAB_STATE/forge-wan1.json" "$1" 2>/dev/null || echo 0; }
lab fault forge wan1 on
remember_pids
lab fault blackhole wan1 on
# ping sees the first forgery that passes the kernel's id filter, the wrong sequence (1001);
# it may exit on it, before the short one arrives, so what else was sent is checked at the
# forger (its counters), not in ping's output.
out=$(rx ping -c 1 -W 1 -I wan1 198.51.100.1 2>&1)
check "forge: ping sees a forged reply with a wrong sequence" bash -c "echo '$out' | grep -q 'icmp_seq=1001'"
check "forge: one request, four forgeries (wrong id, wrong seq, short, truncated)" test "$(forge_stat requests) $(forge_stat wrong_id) $(forge_stat wrong_seq) $(forge_stat short) $(forge_stat truncated)" = "1 1 1 1 1"
check "forge: listed in faults" bash -c "$LAB_TOOL faults | grep -q 'forge wan1 on'"
lab unfault blackhole wan1
lab fault forge wan1 on --duplicates
rx ping -c 1 -W 1 -I wan1 198.51.100.1 >/dev/null 2>&1
wait_for 2 "forge --duplicates: two copies of a correct reply sent" bash -c "[ \"\$(python3 -c 'import json; print(json.load(open(\"$LAB_STATE/forge-wan1.json\"))[\"duplicate\"])' 2>/dev/null)\" = 2 ]"
lab unfault forge wan1
check "unfault forge: the forger is gone" bash -c "! $LAB_TOOL pids | grep -q forge-wan1"

# unprivileged ICMP: ping_group_range set in the router only
icmp_dgram() { # NS: can an ICMP datagram socket (what omr-trackerd uses) be opened there?
    rx "$1" /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)' 2>/dev/null
}
check "ping_group_range '0 2147483647' in the router" bash -c "[ \"\$($LAB_TOOL exec sysctl -n net.ipv4.ping_group_range | xargs)\" = '0 2147483647' ]"
check "ICMP datagram socket opens in the router" icmp_dgram r
check_not "... but not in an ISP (kernel default)" icmp_dgram isp1
check "the host's ping_group_range is untouched" test "$(sysctl -n net.ipv4.ping_group_range | xargs)" = "$(ip netns exec "$LAB_NS_NET" sysctl -n net.ipv4.ping_group_range | xargs)"

# the UCI config, as OMR ships it
CFG=$LAB_STATE/config
check "config: network, omr-tracker, openmptcprouter exist" test -s "$CFG/network" -a -s "$CFG/omr-tracker" -a -s "$CFG/openmptcprouter"
check "config: wan1 multipath master, wan2/wan3 on" bash -c "grep -A12 \"config interface 'wan1'\" $CFG/network | grep -q \"multipath 'master'\" && grep -A12 \"config interface 'wan3'\" $CFG/network | grep -q \"multipath 'on'\""
check "config: globals multipath enable" grep -q "option multipath 'enable'" "$CFG/network"
check "config: tracker hosts are the lab hosts" bash -c "grep -c \"list hosts '198.51.100.\" $CFG/omr-tracker | grep -qx 3 && grep -c \"list hosts6 '2001:db8:100::\" $CFG/omr-tracker | grep -qx 3"
check "config: shipped defaults (tries 3, interval 2, failure_interval 20)" bash -c "grep -q \"option tries '3'\" $CFG/omr-tracker && grep -q \"option interval '2'\" $CFG/omr-tracker && grep -q \"option failure_interval '20'\" $CFG/omr-tracker"
check "config: server type apiping" bash -c "grep -A3 \"config server 'server'\" $CFG/omr-tracker | grep -q \"option type 'apiping'\""
check "config: daemon socket inside the state dir" grep -q "option socket_path '$LAB_STATE/run/omr-trackerd.sock'" "$CFG/omr-tracker"
check "config: vps master with the lab password" bash -c "grep -A8 \"config server 'vps'\" $CFG/openmptcprouter | grep -q \"option password '\$(cat $LAB_PASSWORD_FILE)'\""
check "config: vps_backup backup 1, ip vps-backup.lab.test" bash -c "grep -A8 \"config server 'vps_backup'\" $CFG/openmptcprouter | grep -q \"option backup '1'\" && grep -q \"list ip 'vps-backup.lab.test'\" $CFG/openmptcprouter"
check "config: disable_ipv6 0, vpn glorytun-tcp" bash -c "grep -q \"option disable_ipv6 '0'\" $CFG/openmptcprouter && grep -q \"option vpn 'glorytun-tcp'\" $CFG/openmptcprouter"
check "config: every line is UCI (config/option/list/comment/blank)" bash -c "! grep -hvE \"^(config [a-z_]+( '[a-z_0-9]+')?|	(option|list) [a-z_0-9]+ '[^']*'|#.*|)\$\" $CFG/network $CFG/omr-tracker $CFG/openmptcprouter | grep -q ."
check "config: the password file is private" test "$(stat -c %a "$CFG/openmptcprouter")" = 600

# a process started through `lab exec` is ended by down too
rx sleep 300 &
EXEC_PID=$!
disown "$EXEC_PID" # ended by down, not by us: no job report
wait_for 2 "a process started with lab exec runs in the router" bash -c "ip netns pids $LAB_NS_ROUTER | grep -q ."

OUT=$(lab down)
check "down: '$OUT'" test "$OUT" = "lab $LAB_NAME: down"
check "down: the lab exec'd process is gone" bash -c "! kill -0 $EXEC_PID 2>/dev/null || grep -q '^State:.*Z' /proc/$EXEC_PID/status"
check "down twice: nothing to do" bash -c "$LAB_TOOL down | grep -q 'nothing to do'"
check "down: /etc/netns/$LAB_NAME-r gone" test ! -e "/etc/netns/$LAB_NAME-r"

# --no-ping-group: the kernel default in the router
lab up --no-ping-group >/dev/null || bad "up --no-ping-group"
remember_pids
check "--no-ping-group: router keeps '1 0'" bash -c "[ \"\$($LAB_TOOL exec sysctl -n net.ipv4.ping_group_range | xargs)\" = '1 0' ]"
check_not "--no-ping-group: no ICMP datagram socket, even for root" icmp_dgram r
check "--no-ping-group: only 2 WANs by default" bash -c "! $LAB_TOOL exec ip link show wan3 2>/dev/null"
