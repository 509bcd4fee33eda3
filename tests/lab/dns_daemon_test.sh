#!/usr/bin/env bash
# DNS inside the daemon (issue 5), against the lab's dnsmasq (TTL 2 s):
#  1. system resolver, dns_ttl_floor 2 (= the TTL): the query budget in steady state (at
#     most one query per name per type per TTL, counted in dnsmasq's query log); a DDNS
#     change followed within TTL + 1 s, the server check then uses the new address and the
#     server hooks get EVENT=address with SERVER_PREV_IP; NXDOMAIN -> dns_nxdomain, the
#     last good answer kept and marked stale; the DNS server stopped -> dns_timeout, stale.
#  2. dns_per_wan '1' with the shipped floor (5 s): one context per WAN, each bound to its
#     device (queries arrive from each WAN's address, although the default route is
#     wan1's); the budget is then one query per name per type per WAN per 5 s; wan2's path
#     cut -> wan2's context times out while wan1's answers, and the server stays OK.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
lab_test_init dnsd
W=$(mktemp -d /tmp/omrt-dnsd-XXXXXX)
cleanup() {
    # Only the test's own shell cleans up: a subshell forked from it (daemon_stop's
    # watchdog) that gets a signal before bash has reset the inherited traps would
    # otherwise run this and take the lab down under the running test.
    [ "$BASHPID" = "$$" ] || exit 0
    daemon_stop
    rm -rf "$W"
    lab_test_exit
}
trap cleanup EXIT

TTL=2
lab up --ttl $TTL >/dev/null || { bad "lab up"; exit 1; }
eval "$(lab env)"
PY=${PYTHON:-python3}

CONF=$W/config
daemon_config "$CONF"
mkdir -p "$W/hooks" "$W/out"
cat >"$W/hooks/10-record" <<HOOK
#!/bin/sh
f="$W/out/env.\$OMR_TRACKER_SERVER.\$OMR_TRACKER_EVENT"
env | sort >"\$f.tmp" && mv "\$f.tmp" "\$f"
echo "\$OMR_TRACKER_EVENT \$OMR_TRACKER_SERVER ip=\$OMR_TRACKER_SERVER_IP prev=\$OMR_TRACKER_SERVER_PREV_IP" >>"$W/out/runs"
HOOK
chmod +x "$W/hooks/10-record"
uci_override "$CONF/omr-tracker" daemon daemon "option server_hooks_dir '$W/hooks'" "option dns_ttl_floor '$TTL'"
check "test configuration is valid" "$DAEMON" --check-config -C "$CONF" >/dev/null 2>&1

srv() { # SERVER PYTHON-EXPR (s = the server's object)
    ctl status --json | "$PY" -c 'import json,sys
s=json.load(sys.stdin)["servers"][sys.argv[1]]
print(eval(sys.argv[2]))' "$1" "$2"
}
resolver() { # CONTEXT PYTHON-EXPR (r = vps.lab.test's resolver object of that context)
    srv vps '[r for r in s["dns"][0]["resolvers"] if r["context"]=="'"$1"'"][0]'"$2"
}
nq() { # TYPE NAME [FROM]: queries in dnsmasq's log so far
    grep -c "query\[$1\] $2 from ${3:-}" "$LAB_DNS_LOG" || true
}
# For wait_for, which runs its command again each time (a "$(...)" argument would be
# expanded once): value_is WANT CMD... / value_ge MIN CMD...
value_is() {
    local want=$1
    shift
    [ "$("$@")" = "$want" ]
}
value_ge() {
    local min=$1 v
    shift
    v=$("$@")
    [ -n "$v" ] && [ "$v" -ge "$min" ]
}
in_use_is() { [ "$(srv vps 's["in_use"]')" = "$1" ]; }

daemon_start "$CONF" || exit 1
expect_state vps OK ok 15 "vps OK"
check "in use: $LAB_VPS_MASTER4" in_use_is "$LAB_VPS_MASTER4"
check "resolved by the system resolver: A and AAAA" test "$(resolver system '["addresses"]')" = "['$LAB_VPS_MASTER4', '$LAB_VPS_MASTER6']"
check "status shows the TTL as received ($TTL) and in use ($TTL)" test "$(resolver system '["record_ttl"]') $(resolver system '["ttl"]')" = "$TTL $TTL"

# --- steady-state query budget: one query per name per type per max(TTL, floor)
SPAN=20
a0=$(nq A vps.lab.test)
q0=$(nq AAAA vps.lab.test)
b0=$(nq A vps-backup.lab.test)
sleep $SPAN # the measurement window, not a wait for an event
a=$(($(nq A vps.lab.test) - a0))
q=$(($(nq AAAA vps.lab.test) - q0))
b=$(($(nq A vps-backup.lab.test) - b0))
max=$((SPAN / TTL + 1))
echo "     queries in ${SPAN} s at TTL ${TTL} s: vps.lab.test A $a, AAAA $q; vps-backup.lab.test A $b (budget $max each; the shell: one per cycle per name, without caching)"
check "vps.lab.test: A queries $a <= $max" test "$a" -le "$max"
check "vps.lab.test: AAAA queries $q <= $max" test "$q" -le "$max"
check "vps-backup.lab.test: A queries $b <= $max" test "$b" -le "$max"
check "and it does follow the TTL (A queries $a >= $((SPAN / TTL - 2)))" test "$a" -ge $((SPAN / TTL - 2))

# --- DDNS: the master's name moves to another address
: >"$W/out/runs"
lab fault dns set vps "$LAB_VPS_BACKUP4" >/dev/null
wait_for $((TTL + 1)) "DDNS change followed within TTL + 1 s: vps in use $LAB_VPS_BACKUP4" in_use_is "$LAB_VPS_BACKUP4"
DDNS_MS=$WAITED_MS
check "status: the addresses are the new answer" test "$(srv vps 's["addresses"]')" = "['$LAB_VPS_BACKUP4']"
check "vps still OK (checked at the new address)" test "$(srv vps 's["status"]+" "+s["reason"]')" = "OK ok"
check "lanes are at the new address" test "$(srv vps 'set(w["address"] for w in s["wans"])')" = "{'$LAB_VPS_BACKUP4'}"
wait_for 5 "server hook EVENT=address with SERVER_PREV_IP" grep -qx "address vps ip=$LAB_VPS_BACKUP4 prev=$LAB_VPS_MASTER4" "$W/out/runs"
check "the change is logged old -> new" grep -q "vps.lab.test: addresses changed $LAB_VPS_MASTER4, $LAB_VPS_MASTER6 → $LAB_VPS_BACKUP4 (via $LAB_DNS4 on system)" "$DAEMON_LOG"
check "and the move of the server" grep -q "vps: now using $LAB_VPS_BACKUP4 (was $LAB_VPS_MASTER4)" "$DAEMON_LOG"
lab unfault dns >/dev/null
wait_for $((TTL + 1)) "DDNS back: vps in use $LAB_VPS_MASTER4" in_use_is "$LAB_VPS_MASTER4"

# --- NXDOMAIN: the last good answer is kept, marked stale; the server stays OK (noted)
lab fault dns remove vps >/dev/null
expect_state vps OK dns_nxdomain $((TTL + 3)) "NXDOMAIN: vps OK, reason dns_nxdomain"
check "resolver: reason dns_nxdomain" test "$(resolver system '["reason"]')" = dns_nxdomain
check "resolver: the last good answer kept, stale" test "$(resolver system '["addresses"]') $(resolver system '["stale"]')" = "['$LAB_VPS_MASTER4', '$LAB_VPS_MASTER6'] True"
check "still checked at $LAB_VPS_MASTER4" in_use_is "$LAB_VPS_MASTER4"
check "message says so" sh -c "echo '$(srv vps 's["message"]')' | grep -q 'DNS for vps.lab.test failed (NXDOMAIN from $LAB_DNS4), using the last good answer (stale)'"
lab unfault dns >/dev/null
expect_state vps OK ok $((TTL + 3)) "name back: reason ok"
check "resolver fresh again" test "$(resolver system '["stale"]') $(resolver system '["reason"]')" = "False ok"

# --- the DNS server stopped: dns_timeout, stale
lab fault dns stop >/dev/null
# udns: 2 servers (v4 + v6), timeout 2 s, 2 tries -> ~6 s, after the next refresh (TTL)
expect_state vps OK dns_timeout $((TTL + 10)) "DNS server stopped: vps OK, reason dns_timeout"
check "resolver: dns_timeout, last good answer stale" test "$(resolver system '["reason"]') $(resolver system '["stale"]')" = "dns_timeout True"
check "logged with the server, the name and the DNS servers" grep -q "vps: DNS timeout for vps.lab.test via $LAB_DNS4, $LAB_DNS6 on system" "$DAEMON_LOG"
lab fault dns start >/dev/null
expect_state vps OK ok 15 "DNS server back: reason ok"

# ============================================================ 2. per-WAN resolution
daemon_stop
sed -i "/option dns_ttl_floor/d" "$CONF/omr-tracker" # the shipped floor (5 s)
uci_override "$CONF/omr-tracker" daemon daemon "option dns_per_wan '1'"
check "per-WAN configuration is valid" "$DAEMON" --check-config -C "$CONF" >/dev/null 2>&1
W1=10.101.0.2
W2=10.102.0.2
daemon_start "$CONF" || exit 1
expect_state vps OK ok 15 "per-WAN: vps OK"
check "one resolver context per WAN" test "$(srv vps 'sorted(r["context"] for r in s["dns"][0]["resolvers"])')" = "['wan1', 'wan2']"
wait_for 5 "queries arrive from wan1's address" value_ge 1 nq A vps.lab.test $W1
wait_for 5 "... and from wan2's (bound to wan2; wan1 has the default route)" value_ge 1 nq A vps.lab.test $W2
SPAN=20
FLOOR=5
a1=$(nq A vps.lab.test $W1)
a2=$(nq A vps.lab.test $W2)
sleep $SPAN # the measurement window
a1=$(($(nq A vps.lab.test $W1) - a1))
a2=$(($(nq A vps.lab.test $W2) - a2))
max=$((SPAN / FLOOR + 1))
echo "     per-WAN queries in ${SPAN} s at TTL ${TTL} s, floor ${FLOOR} s: vps.lab.test A via wan1 $a1, via wan2 $a2 (budget $max each)"
check "wan1 context: A queries $a1 <= $max (the floor holds a TTL of $TTL s)" test "$a1" -le "$max"
check "wan2 context: A queries $a2 <= $max" test "$a2" -le "$max"

lab fault blackhole wan2 on >/dev/null
n2=$(nq A vps.lab.test $W2)
wait_for 20 "wan2's path cut: the wan2 context times out" value_is dns_timeout resolver wan2 '["reason"]'
check "the wan2 context keeps its last answer, stale" test "$(resolver wan2 '["stale"]')" = True
check "the wan1 context still answers" test "$(resolver wan1 '["reason"]') $(resolver wan1 '["stale"]')" = "ok False"
check "no query from wan2's address reached the DNS server meanwhile" test "$(nq A vps.lab.test $W2)" = "$n2"
check "vps stays OK with a fresh answer (wan1's)" test "$(srv vps 's["status"]+" "+s["reason"]')" = "OK ok"
check "the wan2 timeout is logged with its context" grep -q "vps: DNS timeout for vps.lab.test via .* on wan2" "$DAEMON_LOG"
lab unfault blackhole wan2 >/dev/null
ctl recheck vps >/dev/null # re-resolves its name too, instead of waiting out the back-off
wait_for 15 "wan2's context answers again" value_is ok resolver wan2 '["reason"]'

echo "     DDNS follow time: ${DDNS_MS:-?} ms (TTL ${TTL} s)"
daemon_stop
