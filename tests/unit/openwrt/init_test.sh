#!/bin/sh
# openwrt/files/omr-tracker.init under a stand-in rc.common (fake-rc/rc.common) that records
# what would go to procd: the instance and its parameters, the reload triggers, the
# validation of every section of the shipped config, the IFACE forms of start/restart/
# reload and start_interface (a recheck through omr-trackerctl, a start only when the daemon
# is not running and its configuration is valid), and the well-formedness of every
# validation type (validate_data's grammar).
set -u
: "${OMRT_SOURCE_DIR:?run through ctest}"
command -v python3 >/dev/null 2>&1 || { echo "skipped: no python3"; exit 77; }
INIT="$OMRT_SOURCE_DIR/openwrt/files/omr-tracker.init"
RC="$OMRT_SOURCE_DIR/tests/unit/openwrt/fake-rc/rc.common"

T=$(mktemp -d /tmp/omrt-init-XXXXXX)
trap 'rm -rf "$T"' EXIT
export FAKE_UCI_LOG="$T/calls" FAKE_SPECS="$T/specs" UCI_DIR="$T/config"
mkdir -p "$UCI_DIR" "$T/bin"
cp "$OMRT_SOURCE_DIR/openwrt/files/omr-tracker.config" "$UCI_DIR/omr-tracker"
printf "\nconfig interface 'wan1'\n\toption enabled '1'\n" >>"$UCI_DIR/omr-tracker"
cp "$OMRT_SOURCE_DIR/tests/unit/openwrt/fake-bin/logger" "$T/bin/"
# omr-trackerctl and omr-trackerd stand-ins: record, answer with FAKE_CTL_RC/FAKE_CHECK_RC.
printf '#!/bin/sh\necho "ctl $*" >>"$FAKE_UCI_LOG"\nexit ${FAKE_CTL_RC:-0}\n' >"$T/bin/ctl"
printf '#!/bin/sh\necho "daemon $*" >>"$FAKE_UCI_LOG"\nexit ${FAKE_CHECK_RC:-0}\n' >"$T/bin/daemon"
chmod +x "$T/bin/"*
export PATH="$T/bin:$PATH" TEST_CTL="$T/bin/ctl" TEST_PROG="$T/bin/daemon"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }
# rc ARGS...: runs the init script's action with the calls going to $T/calls (emptied).
rc() {
    : >"$FAKE_UCI_LOG"
    sh "$RC" "$INIT" "$@" >"$T/out" 2>&1 || fail "'$*' failed: $(cat "$T/out")"
}
expect() {
    cat >"$T/want"
    if ! diff -u "$T/want" "$FAKE_UCI_LOG" >"$T/diff"; then
        cat "$T/diff" >&2
        fail "$1: calls differ (- expected, + actual)"
    fi
    pass "$1"
}

# The counts are the number of options per section type (test_openwrt checks the specs).
n() { grep -c "^$1 " "$FAKE_SPECS"; }
: >"$FAKE_SPECS"
rc start
cat >"$T/head" <<'EOF'
procd_open_service omr-tracker.init
validate omr-tracker defaults defaults D
validate omr-tracker interface wan1 I
validate omr-tracker server server S
validate omr-tracker proxy proxy P
procd_open_instance omr-trackerd
procd_set_param command T/bin/daemon
procd_set_param stderr 1
procd_set_param respawn
procd_set_param term_timeout 2
procd_set_param reload_signal HUP
procd_set_param file /etc/config/omr-tracker /etc/config/network /etc/config/openmptcprouter
procd_close_instance
procd_add_reload_trigger omr-tracker network openmptcprouter
procd_open_validate
validate-spec omr-tracker defaults D
validate-spec omr-tracker interface I
validate-spec omr-tracker server S
validate-spec omr-tracker proxy P
validate-spec omr-tracker gre G
validate-spec omr-tracker daemon M
procd_close_validate
procd_close_service set
EOF
sed -e "s|T/bin|$T/bin|" -e "s/ D$/ $(n defaults)/" -e "s/ I$/ $(n interface)/" \
    -e "s/ S$/ $(n server)/" -e "s/ P$/ $(n proxy)/" -e "s/ G$/ $(n gre)/" \
    -e "s/ M$/ $(n daemon)/" "$T/head" | expect "start: one instance, respawn, HUP reloads, triggers, every section validated"
[ "$(n defaults)" -gt 30 ] && [ "$(n daemon)" -gt 3 ] || fail "too few validation specs"

# Every type must parse in validate_data's grammar: NAME:TYPE, TYPE = WORD or
# WORD(ARG,...), ARG = TYPE, a number or a "string".
python3 - "$FAKE_SPECS" <<'PY' || fail "a validation type does not parse"
import re, sys
words = {"bool", "string", "uinteger", "range", "and", "or", "list", "ip4addr", "ip6addr",
         "hostname", "host"}
tok = re.compile(r'\s*(?:(\d+)|("[^"\\]*")|([a-z0-9]+)|(.))')
def parse(s, i):
    m = tok.match(s, i)
    if m.group(3):
        assert m.group(3) in words, "unknown type " + m.group(3)
        i = m.end()
        if s[i:i + 1] == "(":
            i += 1
            while True:
                m2 = tok.match(s, i)
                if m2.group(1) or m2.group(2):
                    i = m2.end()
                else:
                    i = parse(s, i)
                if s[i] == ",":
                    i += 1
                    continue
                assert s[i] == ")", "expected ) at %d in %s" % (i, s)
                return i + 1
        return i
    raise AssertionError("bad token at %d in %s" % (i, s))
for line in open(sys.argv[1]):
    kind, spec = line.split(" ", 1)
    name, _, typ = spec.strip().partition(":")
    assert re.fullmatch(r"[a-z_0-9]+", name), name
    end = parse(typ, 0)
    assert end == len(typ), "trailing text in " + typ
PY
pass "every validation type is well-formed"

FAKE_INVALID=server rc start
grep -q "^logger omr-tracker: omr-tracker.server: invalid option(s)" "$FAKE_UCI_LOG" ||
    fail "invalid section not logged: $(cat "$FAKE_UCI_LOG")"
grep -q "^procd_open_instance omr-trackerd$" "$FAKE_UCI_LOG" || fail "not started after a warning"
pass "a section that fails validation is logged; the daemon (stricter) decides"

rc start wan1
sed -i 's/^\(validate-spec omr-tracker [a-z]*\) [0-9]*$/\1 X/' "$FAKE_UCI_LOG"
expect "start IFACE: a recheck, procd method add without an instance" <<'EOF'
procd_open_service omr-tracker.init
ctl -t 5 recheck wan1
procd_add_reload_trigger omr-tracker network openmptcprouter
procd_open_validate
validate-spec omr-tracker defaults X
validate-spec omr-tracker interface X
validate-spec omr-tracker server X
validate-spec omr-tracker proxy X
validate-spec omr-tracker gre X
validate-spec omr-tracker daemon X
procd_close_validate
procd_close_service add
EOF

rc restart omrvpn
expect "restart IFACE (the omrvpn hotplug): a recheck, nothing stopped" <<'EOF'
ctl -t 5 recheck omrvpn
EOF
rc reload wan2
expect "reload IFACE: a recheck" <<'EOF'
ctl -t 5 recheck wan2
EOF

FAKE_RUNNING=1 rc reload
expect "reload while running: SIGHUP" <<'EOF'
procd_running omr-tracker omr-trackerd
procd_send_signal omr-tracker omr-trackerd HUP
EOF
rc reload
grep -q "^procd_running omr-tracker omr-trackerd$" "$FAKE_UCI_LOG" &&
    grep -q "^procd_open_instance omr-trackerd$" "$FAKE_UCI_LOG" || fail "reload while stopped did not start"
pass "reload while stopped: start"

rc restart
grep -q "^procd_kill omr-tracker.init $" "$FAKE_UCI_LOG" && grep -q "^procd_open_instance" "$FAKE_UCI_LOG" ||
    fail "restart did not stop and start: $(cat "$FAKE_UCI_LOG")"
pass "restart: stop and start"

rc start_interface wan1
expect "start_interface with the daemon answering: only the recheck" <<'EOF'
ctl -t 5 recheck wan1
EOF
FAKE_CTL_RC=1 FAKE_RUNNING=1 rc start_interface wan9
expect "start_interface of a name the daemon does not track: nothing more" <<'EOF'
ctl -t 5 recheck wan9
procd_running omr-tracker omr-trackerd
EOF
FAKE_CTL_RC=1 FAKE_CHECK_RC=1 rc start_interface wan1
expect "start_interface with the daemon down and an invalid configuration: no start" <<'EOF'
ctl -t 5 recheck wan1
procd_running omr-tracker omr-trackerd
daemon --check-config
EOF
FAKE_CTL_RC=1 rc start_interface wan1
head -n 4 "$FAKE_UCI_LOG" >"$T/first"
diff -u - "$T/first" <<'EOF' || fail "start_interface with the daemon down did not start it"
ctl -t 5 recheck wan1
procd_running omr-tracker omr-trackerd
daemon --check-config
procd_open_service omr-tracker.init
EOF
grep -q "^procd_open_instance omr-trackerd$" "$FAKE_UCI_LOG" || fail "no instance started"
pass "start_interface with the daemon down and a valid configuration: started"
if sh "$RC" "$INIT" start_interface >/dev/null 2>&1; then fail "start_interface without IFACE succeeded"; fi
pass "start_interface without IFACE: usage error"
echo "openwrt init: all checks passed"
