#!/bin/sh
# openwrt/files/server-post-tracking.d/010-set-ip on the host: a temporary UCI tree, the
# stand-ins of fake-bin/ for uci (which records every change) and logger, and init scripts
# that record their calls. Each scenario runs the hook the way omr-trackerd does (sourced
# by a shell, OMR_TRACKER_* in the environment) and compares the exact sequence of log
# lines, UCI changes, commits and service calls with the expected one:
#   master up the first time, the same again (nothing), master down, backup up,
#   master back, backup no longer current, master down twice, wrong inputs.
set -u
: "${OMRT_SOURCE_DIR:?run through ctest}"
[ -x /usr/bin/python3 ] || { echo "skipped: no /usr/bin/python3 (fake-bin/uci needs it)"; exit 77; }
HOOK="$OMRT_SOURCE_DIR/openwrt/files/server-post-tracking.d/010-set-ip"
# Every scenario under each shell that may source the hook: sh (dash here, ash on a
# router) and bash (omr-trackerd's runner prefers /bin/bash).
if [ -z "${HOOK_SHELL:-}" ]; then
    for HOOK_SHELL in sh bash busybox; do
        [ "$HOOK_SHELL" = busybox ] && { busybox sh -c true 2>/dev/null || continue; }
        command -v "$HOOK_SHELL" >/dev/null 2>&1 || continue
        echo "--- hook sourced by $HOOK_SHELL"
        HOOK_SHELL=$HOOK_SHELL "$0" || exit 1
    done
    exit 0
fi
FAKE="$OMRT_SOURCE_DIR/tests/unit/openwrt/fake-bin"

T=$(mktemp -d /tmp/omrt-hooks-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMR_ROOT="$T/root"
export FAKE_UCI_LOG="$T/calls"
PATH="$FAKE:$PATH"
export PATH
C="$OMR_ROOT/etc/config"
mkdir -p "$C" "$OMR_ROOT/etc/init.d"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }

for s in shadowsocks-libev shadowsocks-rust openvpn unbound dnsmasq v2ray xray glorytun \
    glorytun-udp dsvpn mlvpn mptcpovervpn openmptcprouter-vps; do
    printf '#!/bin/sh\necho "init.d %s $*" >>"$FAKE_UCI_LOG"\n' "$s" >"$OMR_ROOT/etc/init.d/$s"
    chmod +x "$OMR_ROOT/etc/init.d/$s"
done

cat >"$C/openmptcprouter" <<'UCI'
config settings 'settings'
	option proxy 'shadowsocks'
	option vpn 'openvpn'

config server 'vps'
	option master '1'
	option backup '0'
	option current '0'
	list ip '192.0.2.10'

config server 'vps2'
	option master '0'
	option backup '1'
	option current '0'
	list ip '198.51.100.20'

config omr 'omr'
	option detected_public_ipv4 '203.0.113.7'
	option detected_ss_ipv4 '192.0.2.10'
UCI
cat >"$C/shadowsocks-libev" <<'UCI'
config server 'sss0'
	option server '192.168.1.3'
	option disabled '1'

config server 'sss1'
	option server '192.0.2.99'

config ss_redir 'hi'
	option server 'sss0'
	option disabled '1'

config ss_redir
	option server 'sss0'
	option disabled '1'

config ss_redir
	option server 'sss1'
	option disabled '0'
UCI
cat >"$C/shadowsocks-rust" <<'UCI'
config server 'sss0'
	option server '192.168.1.3'
	option disabled '1'

config ss_redir 'hi'
	option server 'sss0'
	option disabled '1'
UCI
cat >"$C/openvpn" <<'UCI'
config openvpn 'omr'
	option enabled '0'
	list remote '192.168.1.3'
UCI
cat >"$C/v2ray" <<'UCI'
config outbound 'omrout'
	option s_vmess_address '192.168.1.3'
	option s_vless_address '192.168.1.3'
	option s_trojan_address '192.168.1.3'
	option s_socks_address '192.168.1.3'
UCI
cat >"$C/xray" <<'UCI'
config outbound 'omrout'
	option s_vmess_address '192.168.1.3'
	option s_vless_address '192.168.1.3'
	option s_vless_reality_address '192.168.1.3'
	option s_trojan_address '192.168.1.3'
	option s_socks_address '192.168.1.3'
	option s_shadowsocks_address '192.168.1.3'
UCI
for p in glorytun glorytun-udp dsvpn; do
    printf "config %s 'vpn'\n\toption host '192.168.1.3'\n" "$p" >"$C/$p"
done
printf "config mlvpn 'general'\n\toption host '192.168.1.3'\n" >"$C/mlvpn"

# run NAME [VAR=VALUE...]: the hook with exactly these OMR_TRACKER_* variables, sourced
# like omr-trackerd's runner does; its calls go to $T/calls (emptied first).
run() {
    : >"$FAKE_UCI_LOG"
    env -i PATH="$PATH" OMR_ROOT="$OMR_ROOT" FAKE_UCI_LOG="$FAKE_UCI_LOG" "$@" \
        $HOOK_SHELL $([ "$HOOK_SHELL" = busybox ] && echo sh) -c '. "$0"' "$HOOK" >"$T/out" 2>&1 || fail "hook exited non-zero: $(cat "$T/out")"
    [ -s "$T/out" ] && fail "hook printed: $(cat "$T/out")"
    return 0
}
# expect TITLE: the calls of the last run must equal stdin, line by line.
expect() {
    cat >"$T/want"
    if ! diff -u "$T/want" "$FAKE_UCI_LOG" >"$T/diff"; then
        cat "$T/diff" >&2
        fail "$1: calls differ (- expected, + actual)"
    fi
    pass "$1"
}
get() { uci -q -c "$C" get "$1"; }

MASTER="OMR_TRACKER_SERVER=vps OMR_TRACKER_SERVER_IP=192.0.2.10 OMR_TRACKER_SERVER_HOST=192.0.2.10
 OMR_TRACKER_SERVER_MASTER=1 OMR_TRACKER_SERVER_BACKUP=0 OMR_TRACKER_SERVER_INDEX=0"
BACKUP="OMR_TRACKER_SERVER=vps2 OMR_TRACKER_SERVER_IP=198.51.100.20
 OMR_TRACKER_SERVER_HOST=198.51.100.20 OMR_TRACKER_SERVER_MASTER=0 OMR_TRACKER_SERVER_BACKUP=1
 OMR_TRACKER_SERVER_INDEX=0"

# shellcheck disable=SC2086
run $MASTER OMR_TRACKER_STATUS=OK OMR_TRACKER_PREV_STATUS=UNKNOWN OMR_TRACKER_SERVER_CURRENT=1 \
    OMR_TRACKER_REASON=ok OMR_TRACKER_STATUS_MSG="API answers" OMR_TRACKER_SERVER_PREV_IP=
expect "master up the first time: everything points at it" <<'EOF'
logger OMR-Tracker-Server: Master server vps up (192.0.2.10), set it back
uci set shadowsocks-libev.sss0.server=192.0.2.10
uci set shadowsocks-rust.sss0.server=192.0.2.10
uci delete openvpn.omr.remote
uci add_list openvpn.omr.remote=192.0.2.10
uci set openmptcprouter.vps.current=1
uci delete openmptcprouter.omr.detected_ss_ipv4
uci delete openmptcprouter.omr.detected_public_ipv4
uci commit openmptcprouter
uci set xray.omrout.s_vmess_address=192.0.2.10
uci set xray.omrout.s_vless_address=192.0.2.10
uci set xray.omrout.s_vless_reality_address=192.0.2.10
uci set xray.omrout.s_trojan_address=192.0.2.10
uci set xray.omrout.s_socks_address=192.0.2.10
uci set xray.omrout.s_shadowsocks_address=192.0.2.10
uci set v2ray.omrout.s_vmess_address=192.0.2.10
uci set v2ray.omrout.s_vless_address=192.0.2.10
uci set v2ray.omrout.s_trojan_address=192.0.2.10
uci set v2ray.omrout.s_socks_address=192.0.2.10
uci set glorytun.vpn.host=192.0.2.10
uci set glorytun-udp.vpn.host=192.0.2.10
uci set dsvpn.vpn.host=192.0.2.10
uci set mlvpn.general.host=192.0.2.10
uci commit v2ray
uci commit xray
uci commit glorytun
uci commit glorytun-udp
uci commit dsvpn
uci commit mlvpn
uci commit openvpn
init.d openmptcprouter-vps get_openvpn_key vps
init.d v2ray restart
init.d xray restart
init.d glorytun restart
init.d glorytun-udp restart
init.d mlvpn restart
init.d dsvpn restart
init.d mptcpovervpn restart
uci set shadowsocks-libev.sss0.disabled=0
uci set openvpn.omr.enabled=1
uci set shadowsocks-libev.hi.disabled=0
uci set shadowsocks-libev.@ss_redir[1].disabled=0
uci set shadowsocks-rust.hi.disabled=0
uci commit shadowsocks-libev
uci commit shadowsocks-rust
uci commit openvpn
init.d shadowsocks-libev restart
init.d shadowsocks-rust restart
init.d openvpn restart omr
init.d unbound restart
init.d dnsmasq restart
EOF
[ "$(get glorytun-udp.vpn.host)" = 192.0.2.10 ] || fail "glorytun-udp host not written (A.8)"
[ "$(get openvpn.omr.remote)" = 192.0.2.10 ] || fail "openvpn remote list is $(get openvpn.omr.remote)"
[ "$(get shadowsocks-libev.sss1.server)" = 192.0.2.99 ] || fail "sss1 touched"
[ -z "$(uci -q -c "$C" changes shadowsocks-libev openvpn openmptcprouter v2ray)" ] ||
    fail "uncommitted changes left"

# shellcheck disable=SC2086
run $MASTER OMR_TRACKER_STATUS=OK OMR_TRACKER_PREV_STATUS=OK OMR_TRACKER_SERVER_CURRENT=1 \
    OMR_TRACKER_SERVER_PREV_IP=192.0.2.10
expect "the same state again changes nothing" </dev/null

# shellcheck disable=SC2086
run $MASTER OMR_TRACKER_STATUS=ERROR OMR_TRACKER_PREV_STATUS=OK OMR_TRACKER_SERVER_CURRENT=0 \
    OMR_TRACKER_REASON=api_timeout OMR_TRACKER_SERVER_PREV_IP=192.0.2.10
expect "master down: its proxy redirections off, not current" <<'EOF'
logger OMR-Tracker-Server: Master server vps down (192.0.2.10)
uci set shadowsocks-libev.hi.disabled=1
uci set shadowsocks-libev.@ss_redir[1].disabled=1
uci set shadowsocks-rust.hi.disabled=1
uci set openmptcprouter.vps.current=0
uci commit openmptcprouter
uci commit shadowsocks-libev
uci commit shadowsocks-rust
init.d shadowsocks-libev restart
init.d shadowsocks-rust restart
init.d openvpn restart omr
init.d unbound restart
init.d dnsmasq restart
EOF

# shellcheck disable=SC2086
run $BACKUP OMR_TRACKER_STATUS=OK OMR_TRACKER_PREV_STATUS=OK OMR_TRACKER_SERVER_CURRENT=1 \
    OMR_TRACKER_SERVER_PREV_IP=198.51.100.20
expect "backup up while the master is down: use the backup" <<'EOF'
logger OMR-Tracker-Server: Use backup server vps2 (198.51.100.20)
uci set shadowsocks-libev.sss0.server=198.51.100.20
uci set shadowsocks-rust.sss0.server=198.51.100.20
uci delete openvpn.omr.remote
uci add_list openvpn.omr.remote=198.51.100.20
uci set openmptcprouter.vps2.current=1
uci commit openmptcprouter
uci set xray.omrout.s_vmess_address=198.51.100.20
uci set xray.omrout.s_vless_address=198.51.100.20
uci set xray.omrout.s_vless_reality_address=198.51.100.20
uci set xray.omrout.s_trojan_address=198.51.100.20
uci set xray.omrout.s_socks_address=198.51.100.20
uci set xray.omrout.s_shadowsocks_address=198.51.100.20
uci set v2ray.omrout.s_vmess_address=198.51.100.20
uci set v2ray.omrout.s_vless_address=198.51.100.20
uci set v2ray.omrout.s_trojan_address=198.51.100.20
uci set v2ray.omrout.s_socks_address=198.51.100.20
uci set glorytun.vpn.host=198.51.100.20
uci set glorytun-udp.vpn.host=198.51.100.20
uci set dsvpn.vpn.host=198.51.100.20
uci set mlvpn.general.host=198.51.100.20
uci commit v2ray
uci commit xray
uci commit glorytun
uci commit glorytun-udp
uci commit dsvpn
uci commit mlvpn
uci commit openvpn
init.d openmptcprouter-vps get_openvpn_key vps2
init.d v2ray restart
init.d xray restart
init.d glorytun restart
init.d glorytun-udp restart
init.d mlvpn restart
init.d dsvpn restart
init.d mptcpovervpn restart
uci set shadowsocks-libev.hi.disabled=0
uci set shadowsocks-libev.@ss_redir[1].disabled=0
uci set shadowsocks-rust.hi.disabled=0
uci commit shadowsocks-libev
uci commit shadowsocks-rust
init.d shadowsocks-libev restart
init.d shadowsocks-rust restart
init.d openvpn restart omr
init.d unbound restart
init.d dnsmasq restart
EOF

# shellcheck disable=SC2086
run $MASTER OMR_TRACKER_STATUS=OK OMR_TRACKER_PREV_STATUS=ERROR OMR_TRACKER_SERVER_CURRENT=1 \
    OMR_TRACKER_SERVER_PREV_IP=192.0.2.10
expect "master back: set it back, the backup no longer current (A.8 _disable_current)" <<'EOF'
logger OMR-Tracker-Server: Master server vps up (192.0.2.10), set it back
uci set shadowsocks-libev.sss0.server=192.0.2.10
uci set shadowsocks-rust.sss0.server=192.0.2.10
uci delete openvpn.omr.remote
uci add_list openvpn.omr.remote=192.0.2.10
uci set openmptcprouter.vps.current=1
uci commit openmptcprouter
uci set xray.omrout.s_vmess_address=192.0.2.10
uci set xray.omrout.s_vless_address=192.0.2.10
uci set xray.omrout.s_vless_reality_address=192.0.2.10
uci set xray.omrout.s_trojan_address=192.0.2.10
uci set xray.omrout.s_socks_address=192.0.2.10
uci set xray.omrout.s_shadowsocks_address=192.0.2.10
uci set v2ray.omrout.s_vmess_address=192.0.2.10
uci set v2ray.omrout.s_vless_address=192.0.2.10
uci set v2ray.omrout.s_trojan_address=192.0.2.10
uci set v2ray.omrout.s_socks_address=192.0.2.10
uci set glorytun.vpn.host=192.0.2.10
uci set glorytun-udp.vpn.host=192.0.2.10
uci set dsvpn.vpn.host=192.0.2.10
uci set mlvpn.general.host=192.0.2.10
uci commit v2ray
uci commit xray
uci commit glorytun
uci commit glorytun-udp
uci commit dsvpn
uci commit mlvpn
uci commit openvpn
init.d openmptcprouter-vps get_openvpn_key vps
init.d v2ray restart
init.d xray restart
init.d glorytun restart
init.d glorytun-udp restart
init.d mlvpn restart
init.d dsvpn restart
init.d mptcpovervpn restart
uci set openmptcprouter.vps2.current=0
uci commit openmptcprouter
uci commit shadowsocks-libev
uci commit shadowsocks-rust
init.d shadowsocks-libev restart
init.d shadowsocks-rust restart
init.d openvpn restart omr
init.d unbound restart
init.d dnsmasq restart
EOF
[ "$(get openmptcprouter.vps.current)$(get openmptcprouter.vps2.current)" = 10 ] ||
    fail "current flags after the master came back: vps=$(get openmptcprouter.vps.current) vps2=$(get openmptcprouter.vps2.current)"

# shellcheck disable=SC2086
run $BACKUP OMR_TRACKER_STATUS=OK OMR_TRACKER_PREV_STATUS=OK OMR_TRACKER_SERVER_CURRENT=0 \
    OMR_TRACKER_SERVER_PREV_IP=198.51.100.20
expect "a healthy backup that is not current is left alone" </dev/null

# shellcheck disable=SC2086
run $MASTER OMR_TRACKER_STATUS=ERROR OMR_TRACKER_PREV_STATUS=OK OMR_TRACKER_SERVER_CURRENT=0 \
    OMR_TRACKER_SERVER_PREV_IP=192.0.2.10
grep -q "^logger OMR-Tracker-Server: Master server vps down (192.0.2.10)$" "$FAKE_UCI_LOG" ||
    fail "master down not logged"
# shellcheck disable=SC2086
run $MASTER OMR_TRACKER_STATUS=ERROR OMR_TRACKER_PREV_STATUS=ERROR OMR_TRACKER_SERVER_CURRENT=0 \
    OMR_TRACKER_SERVER_PREV_IP=192.0.2.10
expect "the same down state again: no second log line" </dev/null
# shellcheck disable=SC2086
run $BACKUP OMR_TRACKER_STATUS=ERROR OMR_TRACKER_PREV_STATUS=OK OMR_TRACKER_SERVER_CURRENT=0 \
    OMR_TRACKER_SERVER_PREV_IP=198.51.100.20
grep -q "^logger OMR-Tracker-Server: Backup server vps2 down (198.51.100.20)$" "$FAKE_UCI_LOG" ||
    fail "backup down not logged: $(cat "$FAKE_UCI_LOG")"
pass "down lines for master and backup"

# Run by omr-trackerd (OMR_TRACKER_EVENT set): it logged the line itself; the changes are
# the same.
# shellcheck disable=SC2086
run $BACKUP OMR_TRACKER_STATUS=OK OMR_TRACKER_PREV_STATUS=ERROR OMR_TRACKER_SERVER_CURRENT=1 \
    OMR_TRACKER_SERVER_PREV_IP=198.51.100.20 OMR_TRACKER_EVENT=current
grep -q "^logger" "$FAKE_UCI_LOG" && fail "logged although omr-trackerd did: $(grep '^logger' "$FAKE_UCI_LOG")"
grep -q "^uci set shadowsocks-libev.sss0.server=198.51.100.20$" "$FAKE_UCI_LOG" ||
    fail "no switch to the backup when run by omr-trackerd"
pass "run by omr-trackerd: the same changes, no second log line"

# Inputs the hook must ignore.
for bad in "OMR_TRACKER_SERVER= OMR_TRACKER_SERVER_IP=192.0.2.10 OMR_TRACKER_SERVER_MASTER=1" \
    "OMR_TRACKER_SERVER=vps OMR_TRACKER_SERVER_IP= OMR_TRACKER_SERVER_MASTER=1" \
    "OMR_TRACKER_SERVER=vps OMR_TRACKER_SERVER_IP=192.0.2.10 OMR_TRACKER_SERVER_MASTER=0" \
    "OMR_TRACKER_SERVER=vps OMR_TRACKER_SERVER_IP=192.0.2.10 OMR_TRACKER_SERVER_MASTER=1 OMR_TRACKER_SERVER_INDEX=x"; do
    # shellcheck disable=SC2086
    run $bad OMR_TRACKER_STATUS=OK OMR_TRACKER_SERVER_CURRENT=1
    [ -s "$FAKE_UCI_LOG" ] && fail "hook acted on: $bad"
done
# shellcheck disable=SC2086
run $MASTER OMR_TRACKER_STATUS=UNKNOWN OMR_TRACKER_SERVER_CURRENT=1
[ -s "$FAKE_UCI_LOG" ] && fail "hook acted on status UNKNOWN"
pass "no name, no address, no role, bad index or unknown status: nothing done"
echo "openwrt hooks: all checks passed"
