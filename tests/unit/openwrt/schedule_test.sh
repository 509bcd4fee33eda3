#!/bin/sh
# openwrt/files/omr-schedule-010-services.sed on a stand-in for omr-schedule's
# 010-services (same shapes of tests, written for this test): the proxy-tracker checks that
# restart omr-tracker get the omr-trackerd guard, the Shadowsocks restart checks and the
# per-interface check do not, applying it twice changes nothing more, and the result,
# run with stand-ins for pgrep, uci and the init script, restarts omr-tracker only
# without omr-trackerd.
set -u
: "${OMRT_SOURCE_DIR:?run through ctest}"
SED="$OMRT_SOURCE_DIR/openwrt/files/omr-schedule-010-services.sed"
T=$(mktemp -d /tmp/omrt-sched-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cat >"$T/010-services" <<'SH'
if [ -f "$R/init.d/shadowsocks-libev" ] && [ "$(pgrep -f omr-tracker-ss)" = "" ] && [ "$(pgrep -f ss-redir)" = "" ]; then
	_log "ss dead"
fi
if [ "$(uci -q get v2ray.main.enabled)" = "1" ] && [ "$(pgrep -f omr-tracker-v2ray)" = "" ] && [ "$(pgrep -f '/etc/init.d/omr-tracker')" = "" ]; then
	_log "restart for v2ray"
fi
if [ "$(uci -q get xray.main.enabled)" = "1" ] && [ "$(pgrep -f omr-tracker-xray)" = "" ] && [ "$(pgrep -f '/etc/init.d/omr-tracker')" = "" ]; then
	_log "restart for xray"
fi
if [ "$(uci -q get shadowsocks-libev.sss0.key)" != "" ] && [ "$(pgrep -f omr-tracker-ss)" = "" ] && [ "$(pgrep -f '/etc/init.d/omr-tracker')" = "" ]; then
	_log "restart for ss"
fi
restart_omrtracker() {
	[ -n "$(pgrep -f $1)" ] && return
	_log "start_interface $1"
}
restart_omrtracker wan1
SH

sed -E -f "$SED" "$T/010-services" >"$T/once"
sed -E -f "$SED" "$T/once" >"$T/twice"
cmp -s "$T/once" "$T/twice" || fail "applying twice changed more: $(diff "$T/once" "$T/twice")"
diff "$T/010-services" "$T/once" | grep '^>' >"$T/changed"
[ "$(wc -l <"$T/changed")" = 3 ] || fail "expected 3 changed lines, got: $(cat "$T/changed")"
for t in v2ray xray ss; do
    grep -qF "[ ! -x /usr/sbin/omr-trackerd ] && [ \"\$(pgrep -f omr-tracker-$t)\" = \"\" ] && [ \"\$(pgrep -f '/etc/init.d/omr-tracker')\"" "$T/changed" ||
        fail "the $t restart check is not guarded: $(cat "$T/changed")"
done
grep -q 'ss-redir' "$T/changed" && fail "the Shadowsocks restart check was changed"
grep -q 'pgrep -f \$1' "$T/changed" && fail "the per-interface check was changed"
sh -n "$T/once" || fail "the result is not valid sh"
echo "ok: the three proxy-tracker restart checks are guarded, nothing else; idempotent"

# Run it: pgrep finds nothing, every proxy is enabled. D stands for /usr/sbin/omr-trackerd.
mkdir -p "$T/bin" "$T/init.d"
printf '#!/bin/sh\nexit 1\n' >"$T/bin/pgrep"
printf '#!/bin/sh\necho 1\n' >"$T/bin/uci"
chmod +x "$T/bin/"*
: >"$T/init.d/shadowsocks-libev"
run() {
    sed "s|/usr/sbin/omr-trackerd|$1|" "$T/once" >"$T/run.sh"
    PATH="$T/bin:$PATH" R="$T" sh -c '_log() { echo "$*"; }; . "$0"' "$T/run.sh"
}
run "$T/no-such-daemon" >"$T/without"
printf '%s\n' "ss dead" "restart for v2ray" "restart for xray" "restart for ss" \
    "start_interface wan1" | diff -u - "$T/without" || fail "without omr-trackerd the checks changed"
printf '#!/bin/sh\n' >"$T/daemon" && chmod +x "$T/daemon"
run "$T/daemon" >"$T/with"
printf '%s\n' "ss dead" "start_interface wan1" | diff -u - "$T/with" ||
    fail "with omr-trackerd a proxy-tracker check still restarts omr-tracker"
echo "ok: with omr-trackerd no restart for missing proxy trackers; without it as before"
