#!/bin/bash
# Link faults of tools/lab, each shown with real tools: carrier, admin, blackhole, loss,
# latency, addr, gateway, recreate.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
lab_test_init links

lab up >/dev/null || { bad "lab up"; exit 1; }
remember_pids
H1=198.51.100.1
H6=2001:db8:100::1
check "wan1 and wan2 reach a public host (v4)" ping_ok -I wan1 $H1
check "wan2 reaches a public host (v6)" ping_ok -6 -I wan2 $H6

# --- carrier: the ISP side goes down, the router sees NO-CARRIER ---------------------------
lab fault carrier wan1 down
check "carrier down: wan1 is NO-CARRIER" has_flag wan1 NO-CARRIER
check "carrier down: wan1 keeps its IPv6 address" bash -c "$LAB_TOOL exec ip -6 addr show wan1 | grep -q 2001:db8:101::2/64"
check_not "carrier down: ping over wan1 fails" ping_ok -I wan1 $H1
check "carrier down: ping over wan2 still works" ping_ok -I wan2 $H1
check "faults lists it" bash -c "$LAB_TOOL faults | grep -qx 'carrier wan1 down'"
lab fault carrier wan1 up
wait_for 3 "carrier up: wan1 LOWER_UP again" has_flag wan1 LOWER_UP
wait_for 3 "carrier up: ping over wan1 works" ping_ok -I wan1 $H1
wait_for 3 "carrier up: v6 over wan1 works" ping_ok -6 -I wan1 $H6

# --- admin: router side down; up restores the routes --------------------------------------
lab fault admin wan2 down
check_not "admin down: wan2 not UP" has_flag wan2 UP
check_not "admin down: ping over wan2 fails" ping_ok -I wan2 $H1
lab fault admin wan2 up
check "admin up: default route via wan2 back" bash -c "$LAB_TOOL exec ip route show default | grep -q 'via 10.102.0.1 dev wan2 metric 2'"
check "admin up: v6 default route via wan2 back" bash -c "$LAB_TOOL exec ip -6 route show default | grep -q 'via 2001:db8:102::1 dev wan2 metric 2'"
wait_for 3 "admin up: ping over wan2 works" ping_ok -I wan2 $H1
wait_for 3 "admin up: v6 over wan2 works" ping_ok -6 -I wan2 $H6

# --- blackhole: carrier up, upstream dropped by the ISP -----------------------------------
lab fault blackhole wan1 on
check "blackhole: wan1 still LOWER_UP" has_flag wan1 LOWER_UP
check_not "blackhole: ping over wan1 fails (v4)" ping_ok -I wan1 $H1
check_not "blackhole: ping over wan1 fails (v6)" ping_ok -6 -I wan1 $H6
check "blackhole: the ISP gateway still answers" ping_ok -I wan1 10.101.0.1
check "blackhole: wan2 unaffected" ping_ok -I wan2 $H1
lab fault blackhole wan1 off
check "blackhole off: ping over wan1 works" ping_ok -I wan1 $H1

# --- loss: PCT % of upstream packets, nftables numgen --------------------------------------
loss_pct() { # WAN COUNT -> integer loss % reported by ping
    rx ping -I "$1" -c "$2" -i 0.002 -W 1 -q $H1 2>/dev/null |
        sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' | cut -d. -f1
}
lab fault loss wan2 30
L=$(loss_pct wan2 400)
check "loss 30: measured ${L}% over 400 pings (20..40)" test "${L:-0}" -ge 20 -a "${L:-100}" -le 40
L1=$(loss_pct wan1 100)
check "loss 30 on wan2: wan1 loses ${L1}% (0)" test "${L1:-100}" -eq 0
lab fault loss wan2 off
L=$(loss_pct wan2 200)
check "loss off: ${L}% lost (<= 1)" test "${L:-100}" -le 1

# --- latency: TUN delay line in the ISP ---------------------------------------------------
rtt_ms() { # [ping args] HOST -> average RTT in whole ms
    rx ping -c 5 -i 0.05 -W 2 -q "$@" 2>/dev/null | sed -n 's|.* = [0-9.]*/\([0-9]*\)[0-9.]*/.*|\1|p'
}
B=$(rtt_ms -I wan1 $H1)
check "latency: baseline RTT ${B} ms (< 10)" test "${B:-99}" -lt 10
lab fault latency wan1 80
remember_pids
R=$(rtt_ms -I wan1 $H1)
check "latency 80: wan1 RTT ${R} ms (80..140)" test "${R:-0}" -ge 80 -a "${R:-999}" -lt 140
R6=$(rtt_ms -6 -I wan1 $H6)
check "latency 80: wan1 v6 RTT ${R6} ms (80..140)" test "${R6:-0}" -ge 80 -a "${R6:-999}" -lt 140
R2=$(rtt_ms -I wan2 $H1)
check "latency 80 on wan1: wan2 RTT ${R2} ms (< 10)" test "${R2:-99}" -lt 10
T0=$(now_ms)
rx curl -s -k --interface wan1 -o /dev/null https://198.51.100.10:65500/
T=$(($(now_ms) - T0))
check "latency 80: an HTTPS GET over wan1 takes ${T} ms (>= 240: TCP + TLS + HTTP round trips)" test "$T" -ge 240
lab fault latency wan1 off
R=$(rtt_ms -I wan1 $H1)
check "latency off: wan1 RTT ${R} ms (< 10)" test "${R:-99}" -lt 10

# --- addr: the router's address on a WAN changes -------------------------------------------
clienthost() { # WAN [-6]: the address the VPS sees
    local url=https://198.51.100.10:65500/clienthost
    [ "${2:-}" = -6 ] && url="https://[2001:db8:100::10]:65500/clienthost"
    rx curl -s -k --max-time 3 --interface "$1" "$url"
}
lab fault addr wan1 10.101.0.77
lab fault addr wan1 2001:db8:101::77
check "addr: wan1 has 10.101.0.77, not .2" bash -c "$LAB_TOOL exec ip -4 -o addr show wan1 | grep -q ' 10.101.0.77/24' && ! $LAB_TOOL exec ip -4 -o addr show wan1 | grep -q ' 10.101.0.2/'"
check "addr: wan1 has 2001:db8:101::77" bash -c "$LAB_TOOL exec ip -6 -o addr show wan1 | grep -q '2001:db8:101::77/64'"
C=$(clienthost wan1)
check "addr: /clienthost over wan1 = $C" test "$C" = '{"client_host":"10.101.0.77"}'
C=$(clienthost wan1 -6)
check "addr: /clienthost over wan1 v6 = $C" test "$C" = '{"client_host":"2001:db8:101::77"}'
check "addr: default route over wan1 still there" bash -c "$LAB_TOOL exec ip route show default | grep -q 'dev wan1'"
check "addr: a WAN address outside the subnet is refused (exit 2)" bash -c "$LAB_TOOL fault addr wan1 10.109.0.5 2>/dev/null; [ \$? = 2 ]"
lab unfault addr wan1
C=$(clienthost wan1)
check "unfault addr: /clienthost over wan1 = $C" test "$C" = '{"client_host":"10.101.0.2"}'

# --- gateway: the default route moves to another gateway -----------------------------------
lab fault gateway wan2 10.102.0.254
lab fault gateway wan2 2001:db8:102::fe
check "gateway: default via 10.102.0.254 dev wan2" bash -c "$LAB_TOOL exec ip route show default | grep -q 'via 10.102.0.254 dev wan2 metric 2'"
check "gateway: v6 default via 2001:db8:102::fe dev wan2" bash -c "$LAB_TOOL exec ip -6 route show default | grep -q 'via 2001:db8:102::fe dev wan2'"
check "gateway: the ISP owns 10.102.0.254" bash -c "$LAB_TOOL exec isp2 ip -4 -o addr show cust | grep -q 10.102.0.254/24"
check "gateway: ping over wan2 works through it" ping_ok -I wan2 $H1
check "gateway: v6 ping over wan2 works through it" ping_ok -6 -I wan2 $H6
check "gateway: the neighbour 10.102.0.254 is in use" bash -c "$LAB_TOOL exec ip neigh show dev wan2 | grep -q '^10.102.0.254 '"
lab unfault gateway wan2
check "unfault gateway: default via 10.102.0.1 again" bash -c "$LAB_TOOL exec ip route show default | grep -q 'via 10.102.0.1 dev wan2 metric 2'"
check "unfault gateway: the ISP no longer has .254" bash -c "! $LAB_TOOL exec isp2 ip -o addr show cust | grep -q 10.102.0.254"

# --- recreate: same name, new ifindex, addresses and routes restored ---------------------
lab fault latency wan2 40 # a fault on the ISP side must survive the new veth
remember_pids
I0=$(ifindex wan2)
lab fault recreate wan2
I1=$(ifindex wan2)
check "recreate: wan2 has a new ifindex ($I0 -> $I1)" test "$I0" != "$I1"
check "recreate: wan2 has its addresses" bash -c "$LAB_TOOL exec ip -o addr show wan2 | grep -q ' 10.102.0.2/24' && $LAB_TOOL exec ip -o addr show wan2 | grep -q 2001:db8:102::2/64"
check "recreate: default routes via wan2 restored" bash -c "$LAB_TOOL exec ip route show default | grep -q 'dev wan2' && $LAB_TOOL exec ip -6 route show default | grep -q 'dev wan2'"
wait_for 3 "recreate: ping over wan2 works" ping_ok -I wan2 $H1
wait_for 3 "recreate: v6 ping over wan2 works" ping_ok -6 -I wan2 $H6
R=$(rtt_ms -I wan2 $H1)
check "recreate: the ISP's latency fault still applies (${R} ms >= 40)" test "${R:-0}" -ge 40
lab unfault all
check "unfault all: no fault left" test -z "$(lab faults)"
R=$(rtt_ms -I wan2 $H1)
check "unfault all: wan2 RTT ${R} ms (< 10)" test "${R:-99}" -lt 10
