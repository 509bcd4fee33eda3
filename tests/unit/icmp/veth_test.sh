#!/bin/sh
# Builds the topology described in veth_test.cc in four private network namespaces
# (omrt-icmp-<pid>-{r,m,v,w}), runs test_icmp_veth inside R, and always deletes the
# namespaces (and the veths with them). Exit 77 (skipped) when not root or without ip(8).
set -u

[ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "skipped: no ip(8)"; exit 77; }
BIN=${OMRT_BUILD_DIR:-.}/tests/unit/icmp/test_icmp_veth
[ -x "$BIN" ] || { echo "missing $BIN (build target test_icmp_veth)"; exit 1; }

P=omrt-icmp-$$
R=$P-r M=$P-m V=$P-v W=$P-w
cleanup() {
    for n in $R $M $V $W; do ip netns del "$n" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add $R && ip netns add $M && ip netns add $V && ip netns add $W ||
    { echo "skipped: cannot create network namespaces"; exit 77; }

set -e
link() { # link <ns-a> <if-a> <ns-b> <if-b>
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
}
addr() { # addr <ns> <if> <net> <host>
    ip -n "$1" addr add "10.79.$3.$4/24" dev "$2"
    ip -n "$1" addr add "2001:db8:79:$3::$4/64" dev "$2" nodad
    ip -n "$1" link set "$2" up
}
for n in $R $M $V $W; do
    ip -n $n link set lo up
    ip netns exec $n sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1
    ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done

link $R wan1 $M m1
link $R wan2 $W w1
link $M m2 $V v1
addr $R wan1 1 2
addr $M m1 1 1
addr $R wan2 2 2
addr $W w1 2 1
addr $M m2 9 1
addr $V v1 9 2
for h in 3 4; do
    ip -n $V addr add 10.79.9.$h/24 dev v1
    ip -n $V addr add 2001:db8:79:9::$h/64 dev v1 nodad
done
ip -n $M link set m2 mtu 1280
ip -n $V link set v1 mtu 1280

ip -n $R route add default via 10.79.1.1 dev wan1 metric 10
ip -n $R route add default via 10.79.2.1 dev wan2 metric 20
ip -n $R -6 route add default via 2001:db8:79:1::1 dev wan1 metric 10
ip -n $R -6 route add default via 2001:db8:79:2::1 dev wan2 metric 20
ip netns exec $M sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n $M route add unreachable 10.79.8.0/24
ip -n $M -6 route add unreachable 2001:db8:79:8::/64
ip -n $V route add default via 10.79.9.1
ip -n $V -6 route add default via 2001:db8:79:9::1
ip -n $W route add blackhole default
ip -n $W -6 route add blackhole default
# Ping sockets in R only; the host's value is not touched.
ip netns exec $R sysctl -qw net.ipv4.ping_group_range="0 2147483647"
set +e

# Wait (bounded) until neighbours resolve both ways, so the first probe is not the one
# that pays for ARP/ND.
ok=0
for i in $(seq 1 50); do
    if ip netns exec $R ping -c1 -W1 -I wan1 10.79.9.2 >/dev/null 2>&1 &&
        ip netns exec $R ping -6 -c1 -W1 -I wan1 2001:db8:79:9::2 >/dev/null 2>&1; then
        ok=1
        break
    fi
done
[ $ok = 1 ] || { echo "topology not reachable"; exit 1; }

ip netns exec $R env OMRT_ICMP_VETH=1 "$BIN"
