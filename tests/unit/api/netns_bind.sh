#!/bin/sh
# The API client bound to a WAN device, in three network namespaces made here:
#   client ns  va1 10.91.1.1/24 2001:db8:91:1::1/64  <->  vb1 10.91.1.2 2001:db8:91:1::2  server ns
#              va2 10.91.2.1/24 2001:db8:91:2::1/64  <->  vd2 10.91.2.2 2001:db8:91:2::2  dead-end ns
# fakevps listens in the server ns. Bound to va1 the client reaches it. Bound to va2 it
# cannot: there is no route there, and the kernel's fallback for a device-bound socket
# (destination assumed on-link) finds nobody on that link. 10.91.3.5 is routed via va2
# to the dead end, which does not forward: silence, tcp_timeout.
# Needs root (namespaces); exits 77 (skipped) otherwise. Everything is deleted on exit.
set -eu

[ "$(id -u)" = 0 ] || { echo "netns_bind: needs root, skipped"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "netns_bind: no ip(8), skipped"; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "netns_bind: no openssl, skipped"; exit 77; }
: "${OMRT_BUILD_DIR:?}" "${OMRT_SOURCE_DIR:?}"
bin=$OMRT_BUILD_DIR/tests/unit/api/test_api_netns
vps=$OMRT_SOURCE_DIR/tools/fakevps.py
[ -x "$bin" ] || { echo "netns_bind: $bin not built" >&2; exit 1; }
[ -f "$vps" ] || { echo "netns_bind: tools/fakevps.py missing, skipped"; exit 77; }

C=omrt-api-$$-c
S=omrt-api-$$-s
D=omrt-api-$$-d
T=$(mktemp -d /tmp/omrt-api-netns-XXXXXX)
vps_pid=""
cleanup() {
    [ -n "$vps_pid" ] && kill "$vps_pid" 2>/dev/null && wait "$vps_pid" 2>/dev/null
    ip netns del "$C" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
    ip netns del "$D" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$C" 2>/dev/null || { echo "netns_bind: cannot create namespaces, skipped"; exit 77; }
ip netns add "$S"
ip netns add "$D"
ip link add va1 netns "$C" type veth peer name vb1 netns "$S"
ip link add va2 netns "$C" type veth peer name vd2 netns "$D"
for ns in "$C" "$S" "$D"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1
    ip -n "$ns" link set lo up
done
ip -n "$C" addr add 10.91.1.1/24 dev va1
ip -n "$C" addr add 10.91.2.1/24 dev va2
ip -n "$C" addr add 2001:db8:91:1::1/64 dev va1 nodad
ip -n "$C" addr add 2001:db8:91:2::1/64 dev va2 nodad
ip -n "$S" addr add 10.91.1.2/24 dev vb1
ip -n "$S" addr add 2001:db8:91:1::2/64 dev vb1 nodad
ip -n "$D" addr add 10.91.2.2/24 dev vd2
ip -n "$D" addr add 2001:db8:91:2::2/64 dev vd2 nodad
for l in va1 va2; do ip -n "$C" link set "$l" up; done
ip -n "$S" link set vb1 up
ip -n "$D" link set vd2 up
ip -n "$C" route add 10.91.3.0/24 via 10.91.2.2 dev va2
# Right after "link up" the first neighbour solicitation can be lost (the solicited-node
# group is joined asynchronously): wait until both families answer on the right link.
if command -v ping >/dev/null 2>&1; then
    ip netns exec "$C" ping -4 -c 1 -W 5 -I va1 10.91.1.2 >/dev/null
    ip netns exec "$C" ping -6 -c 1 -W 5 -I va1 2001:db8:91:1::2 >/dev/null
fi

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 30 \
    -subj /CN=www.openmptcprouter.vps >"$T/openssl.log" 2>&1
printf 'netns-pass word&=\n' > "$T/password"
ip netns exec "$S" python3 "$vps" serve --bind 10.91.1.2,2001:db8:91:1::2 --port 65500 \
    --cert "$T/cert.pem" --key "$T/key.pem" --password-file "$T/password" \
    --pidfile "$T/pid" --log "$T/fakevps.log" &
vps_pid=$!
i=0
while [ ! -f "$T/pid" ]; do
    i=$((i + 1))
    if [ $i -gt 1500 ] || ! kill -0 "$vps_pid" 2>/dev/null; then
        echo "netns_bind: fakevps did not start" >&2
        cat "$T/fakevps.log" >&2 || true
        exit 1
    fi
    sleep 0.01
done

rc=0
ip netns exec "$C" env OMRT_NETNS_RIGHT=va1 OMRT_NETNS_WRONG=va2 \
    OMRT_NETNS_SERVER4=10.91.1.2 OMRT_NETNS_SERVER6=2001:db8:91:1::2 \
    OMRT_NETNS_CLIENT4=10.91.1.1 OMRT_NETNS_CLIENT6=2001:db8:91:1::1 \
    OMRT_NETNS_BLACKHOLE=10.91.3.5 OMRT_NETNS_PORT=65500 \
    OMRT_NETNS_PASSWORD='netns-pass word&=' "$bin" || rc=$?
[ $rc = 0 ] || cat "$T/fakevps.log" >&2 || true
exit $rc
