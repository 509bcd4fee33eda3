#!/bin/sh
# Runs test_netlink_live inside a fresh network namespace pair (veths are made by the
# tests themselves). Needs root and `ip netns`; exits 77 (skipped) otherwise.
# Usage: netlink_live.sh [gtest args...]   (OMRT_BUILD_DIR set by CTest)
set -u
BIN=${OMRT_NL_LIVE_BIN:-${OMRT_BUILD_DIR:-.}/tests/unit/netlink/test_netlink_live}
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
command -v ip >/dev/null 2>&1 || { echo "skip: no ip(8)"; exit 77; }
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }

PFX=omrt-nl
# Namespaces of earlier runs that were killed before their trap ran (creator pid gone).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-[0-9]*-[ab]\$"); do
    pid=${ns#"$PFX"-}; pid=${pid%-*}
    kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null
done

A=$PFX-$$-a
B=$PFX-$$-b
cleanup() {
    for ns in "$A" "$B"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip netns add "$A" 2>/dev/null || { echo "skip: cannot create network namespaces"; exit 77; }
ip netns add "$B" || exit 1
ip -n "$A" link set lo up && ip -n "$B" link set lo up || exit 1
# Keep IPv6 addresses across link down (reference environment.md §3).
ip netns exec "$A" sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1 2>/dev/null

OMRT_NL_NS_A=$A OMRT_NL_NS_B=$B ip netns exec "$A" "$BIN" "$@"
