#!/bin/bash
# DNS of tools/lab: records and TTL, query log, and the faults dns stop|start, slow,
# set (DDNS), remove, unfault.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
lab_test_init dns

lab up --ttl 7 >/dev/null || { bad "lab up"; exit 1; }
remember_pids
eval "$(lab env)"

dig_short() { rx dig +time=1 +tries=1 +short "$@" 2>/dev/null; }
answers() { # NAME TYPE EXPECTED: the sorted answer equals EXPECTED
    [ "$(dig_short "$1" "$2" | sort | xargs)" = "$3" ]
}
status_of() { rx dig +time=1 +tries=1 "$@" 2>/dev/null | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }

check "vps.lab.test A" answers vps.lab.test A 198.51.100.10
check "vps.lab.test AAAA" answers vps.lab.test AAAA 2001:db8:100::10
check "vps-backup.lab.test A+AAAA" bash -c "[ \"\$($LAB_TOOL exec dig +short vps-backup.lab.test A vps-backup.lab.test AAAA | xargs)\" = '198.51.100.11 2001:db8:100::11' ]"
check "host2.lab.test AAAA" answers host2.lab.test AAAA 2001:db8:100::2
check "over the IPv6 server address too" bash -c "[ \"\$($LAB_TOOL exec dig +short @$LAB_DNS6 host3.lab.test A)\" = 198.51.100.3 ]"
check "TTL is the --ttl value (7)" bash -c "$LAB_TOOL exec dig +noall +answer vps.lab.test A | awk '{print \$2}' | grep -qx 7"
check "authoritative answer (aa flag)" bash -c "$LAB_TOOL exec dig vps.lab.test | grep -q 'flags: qr aa'"
check "unknown name -> NXDOMAIN" test "$(status_of nope.lab.test)" = NXDOMAIN
check "the router's resolv.conf points to the lab DNS" bash -c "$LAB_TOOL exec cat /etc/resolv.conf | grep -qx 'nameserver $LAB_DNS4'"
check "the host's resolv.conf is untouched" bash -c "! grep -q '$LAB_DNS4' /etc/resolv.conf"

# The query log counts queries (tests of the daemon use it).
nq() { grep -c "query\[A\] host1.lab.test from 10.101.0.2" "$LAB_DNS_LOG" || true; }
N0=$(nq)
dig_short host1.lab.test A >/dev/null
dig_short host1.lab.test A >/dev/null
wait_for 2 "query log counts 2 more queries for host1" bash -c "[ \$(grep -c 'query\[A\] host1.lab.test from 10.101.0.2' $LAB_DNS_LOG) -ge $((N0 + 2)) ]"

# --- DDNS: set / remove, picked up within 1 s (inotify) ------------------------------------
lab fault dns set vps 198.51.100.11,2001:db8:100::11
wait_for 1 "dns set: vps.lab.test A -> 198.51.100.11" answers vps.lab.test A 198.51.100.11
check "dns set: AAAA -> 2001:db8:100::11" answers vps.lab.test AAAA 2001:db8:100::11
lab fault dns set newhost.lab.test 198.51.100.2
wait_for 1 "dns set: a new name appears" answers newhost.lab.test A 198.51.100.2
check "dns set with a bad address is refused (exit 2)" bash -c "$LAB_TOOL fault dns set vps 1.2.3 2>/dev/null; [ \$? = 2 ]"
lab fault dns remove vps
wait_for 1 "dns remove: vps.lab.test -> NXDOMAIN" bash -c "[ \"\$($LAB_TOOL exec dig +time=1 +tries=1 vps.lab.test | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')\" = NXDOMAIN ]"
check "faults lists the DNS changes" bash -c "$LAB_TOOL faults | grep -q 'dns vps.lab.test removed'"
lab unfault dns remove vps
wait_for 1 "unfault dns remove: vps.lab.test back to the master" answers vps.lab.test A 198.51.100.10
lab unfault dns
wait_for 1 "unfault dns: newhost.lab.test gone" bash -c "[ -z \"\$($LAB_TOOL exec dig +short newhost.lab.test)\" ]"

# --- SERVFAIL, REFUSED, truncated answers (TC), from the real dnsmasq ----------------------
tc_flag() { rx dig +time=1 +tries=1 +ignore "$@" 2>/dev/null | grep -q '^;; flags: [a-z ]*\btc\b'; }
lab fault dns servfail vps
check "dns servfail: vps.lab.test -> SERVFAIL (relayed by dnsmasq)" test "$(status_of vps.lab.test)" = SERVFAIL
check "dns servfail: AAAA too" test "$(status_of vps.lab.test AAAA)" = SERVFAIL
check "dns servfail: other names unaffected" answers vps-backup.lab.test A 198.51.100.11
lab fault dns refuse vps-backup
check "dns refuse: vps-backup.lab.test -> REFUSED" test "$(status_of vps-backup.lab.test)" = REFUSED
lab fault dns truncate host1
check "dns truncate: TC without EDNS0 (512 bytes)" tc_flag +noedns host1.lab.test A
check "dns truncate: TC with EDNS0 (4096 asked, dnsmasq sends <= 1232)" tc_flag +bufsize=4096 host1.lab.test AAAA
check "dns truncate: the whole answer over TCP (100 A records)" test "$(dig_short +tcp host1.lab.test A | wc -l)" = 100
check "faults lists them" bash -c "$LAB_TOOL faults | grep -q 'vps.lab.test SERVFAIL' && $LAB_TOOL faults | grep -q 'REFUSED' && $LAB_TOOL faults | grep -q 'truncated'"
lab unfault dns servfail vps
check "unfault dns servfail: vps.lab.test answers again" answers vps.lab.test A 198.51.100.10
lab unfault dns
check "unfault dns: vps-backup answers again" answers vps-backup.lab.test A 198.51.100.11
check "unfault dns: host1 has its one address again" answers host1.lab.test A 198.51.100.1
check "unfault dns: the SERVFAIL upstream is stopped" bash -c "! $LAB_TOOL pids | grep -q dnsrcode"

# --- stop / start -------------------------------------------------------------------------
lab fault dns stop
check "dns stop: no answer (refused)" bash -c "! $LAB_TOOL exec dig +time=1 +tries=1 +short vps.lab.test A | grep -q '^198'"
check "dns stop: status says stopped" bash -c "$LAB_TOOL status | grep -q 'dnsmasq.*stopped'"
lab fault dns start
remember_pids
check "dns start: answers again" answers vps.lab.test A 198.51.100.10

# --- slow ---------------------------------------------------------------------------------
qtime() { # dig args -> query time in ms
    rx dig +time=3 +tries=1 "$@" 2>/dev/null | sed -n 's/;; Query time: \([0-9]*\) msec/\1/p'
}
T=$(qtime -b 0.0.0.0#5353 vps.lab.test)
check "before slow: query time ${T} ms (< 100)" test "${T:-999}" -lt 100
lab fault dns slow 400
remember_pids
T=$(qtime vps.lab.test)
check "dns slow 400: UDP query time ${T} ms (400..900)" test "${T:-0}" -ge 400 -a "${T:-9999}" -lt 900
T=$(qtime +tcp vps.lab.test)
check "dns slow 400: TCP query time ${T} ms (>= 400)" test "${T:-0}" -ge 400
T=$(qtime @"$LAB_DNS6" vps.lab.test AAAA)
check "dns slow 400: over IPv6 ${T} ms (>= 400)" test "${T:-0}" -ge 400
T=$(qtime -b 0.0.0.0#5353 vps.lab.test)
check "dns slow 400: from a port used before the fault too (${T} ms)" test "${T:-0}" -ge 400
check "dns slow: the answer is still right" answers vps.lab.test A 198.51.100.10
lab fault dns slow off
T=$(qtime -b 0.0.0.0#5353 vps.lab.test)
check "dns slow off: same client port fast again (${T} ms)" test "${T:-999}" -lt 100
lab fault dns slow 200
T=$(qtime -b 0.0.0.0#5353 vps.lab.test)
check "dns slow again: same client port slow again (${T} ms)" test "${T:-0}" -ge 200
lab unfault dns
check "unfault dns: no DNS fault left" test -z "$(lab faults)"
T=$(qtime vps.lab.test)
check "unfault dns: fast (${T} ms)" test "${T:-999}" -lt 100
