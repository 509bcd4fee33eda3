#!/bin/sh
# Per-device binding of the DNS resolver, proven in network namespaces of our own:
# R has two "WANs"; the name server (dnsmasq in S) is reachable only through wan-a,
# while R's main table routes it through wan-b (into T, which drops it). The gtest
# binary runs inside R (see lab_bind_test.cc). Exit 77 = skipped (not root, no netns,
# no dnsmasq).
set -u
BIN="${1:-${OMRT_BUILD_DIR:-.}/tests/unit/dns/test_dns_lab}"
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "skipped: no ip(8)"; exit 77; }
DNSMASQ=$(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || { echo "skipped: no dnsmasq"; exit 77; }
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }

P="omrt-dns-$$"
R="$P-r" S="$P-s" T="$P-t"
DIR=$(mktemp -d /tmp/omrt-dns-lab-XXXXXX)
DPID=""
# shellcheck disable=SC2317 # called through the trap
cleanup() {
    [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    for ns in "$R" "$S" "$T"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$R" 2>/dev/null || { echo "skipped: cannot create network namespaces"; exit 77; }
ip netns add "$S" && ip netns add "$T" || exit 1
set -e
# No duplicate address detection in these private links: a tentative link-local address
# would stall neighbour discovery (and the first IPv6 replies) for a second or two.
for ns in "$R" "$S" "$T"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n "$R" link add wan-a type veth peer name srv-a netns "$S"
ip -n "$R" link add wan-b type veth peer name dead-b netns "$T"
for ns in "$R" "$S" "$T"; do ip -n "$ns" link set lo up; done
ip -n "$R" addr add 10.79.1.1/24 dev wan-a
ip -n "$R" addr add 2001:db8:79:1::1/64 dev wan-a nodad
ip -n "$R" addr add 10.79.2.1/24 dev wan-b
ip -n "$R" addr add 2001:db8:79:2::1/64 dev wan-b nodad
ip -n "$S" addr add 10.79.1.2/24 dev srv-a
ip -n "$S" addr add 2001:db8:79:1::2/64 dev srv-a nodad
ip -n "$S" addr add 10.79.9.53/32 dev lo
ip -n "$S" addr add 2001:db8:79:9::53/128 dev lo
ip -n "$T" addr add 10.79.2.2/24 dev dead-b
ip -n "$T" addr add 2001:db8:79:2::2/64 dev dead-b nodad
ip -n "$R" link set wan-a up
ip -n "$R" link set wan-b up
ip -n "$S" link set srv-a up
ip -n "$T" link set dead-b up
# The main table prefers the dead WAN; wan-a's route is there but worse.
ip -n "$R" route add 10.79.9.0/24 via 10.79.2.2 dev wan-b metric 100
ip -n "$R" route add 10.79.9.0/24 via 10.79.1.2 dev wan-a metric 200
ip -n "$R" -6 route add 2001:db8:79:9::/64 via 2001:db8:79:2::2 dev wan-b metric 100
ip -n "$R" -6 route add 2001:db8:79:9::/64 via 2001:db8:79:1::2 dev wan-a metric 200
set +e
# Wait (bounded) until wan-a's far end answers on both families, so the tests do not
# measure the links coming up: a neighbour solicitation sent before the peer is ready
# is only retried after 1 s, as long as the resolver's timeout in the tests.
if command -v ping >/dev/null 2>&1; then
    for target in 10.79.1.2 2001:db8:79:1::2; do
        i=0
        until ip netns exec "$R" ping -c1 -W1 "$target" >/dev/null 2>&1; do
            i=$((i + 1))
            [ $i -lt 10 ] || { echo "link to $target did not come up"; exit 1; }
        done
    done
fi

ip netns exec "$S" "$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-resolv \
    --no-hosts --no-poll --bind-interfaces --listen-address=10.79.9.53 \
    --listen-address=2001:db8:79:9::53 --port=53 --local=/test/ --local-ttl=2 \
    --host-record=vps.test,198.51.100.10,2001:db8:100::10 --log-queries \
    --log-facility="$DIR/dnsmasq.log" --pid-file="$DIR/dnsmasq.pid" \
    --user=root --group=root >"$DIR/dnsmasq.out" 2>&1 &
DPID=$!
# Ready when it has logged its start (its sockets are bound by then); bounded wait.
i=0
until grep -q "started, version" "$DIR/dnsmasq.log" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$DPID" 2>/dev/null; then
        echo "dnsmasq did not start:"; cat "$DIR/dnsmasq.out" "$DIR/dnsmasq.log" 2>/dev/null
        exit 1
    fi
    sleep 0.05
done

OMRT_DNS_LAB=1 ip netns exec "$R" "$BIN"
rc=$?
echo "dnsmasq saw these queries (all must have come through wan-a, from 10.79.1.1 / 2001:db8:79:1::1):"
grep -o 'query\[[A-Z]*\] [^ ]* from [^ ]*' "$DIR/dnsmasq.log" | sort | uniq -c
if grep 'query\[' "$DIR/dnsmasq.log" | grep -qv -e 'from 10.79.1.1$' -e 'from 2001:db8:79:1::1$'; then
    echo "FAIL: a query reached the server from another source"
    rc=1
fi
exit $rc
