#!/usr/bin/env bash
# Security (issue 10) with the real daemon in the lab:
#  - the control socket is 0600 and refuses another uid: by its mode, and, with the mode
#    opened up, by its peer-credential check (SO_PEERCRED) — nothing is answered to uid 65534;
#  - hooks get data only through the environment: no arguments, and a value full of shell
#    syntax ($(...), backticks, quotes, ;|&) arrives verbatim without being executed;
#  - the VPS password (right and wrong) and every token the fake VPS issued appear nowhere
#    on the daemon's side: its debug log, status (socket, file, watch stream), metrics,
#    --check-config output, command line and environment, hook environments and outputs.
#    The daemon obtains tokens (start, recheck, API restart) and is refused (a wrong
#    password) during the test. Positive controls make sure the search itself works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
lab_test_init security
W=$(mktemp -d /tmp/omrt-security-XXXXXX)
WATCH_PID=""
stop_watch() { [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null; WATCH_PID=""; }
trap 'stop_watch; daemon_stop; rm -rf "$W"; lab_test_exit' EXIT
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
T_START_S=$(date +%s)

lab up >/dev/null || { bad "lab up"; exit 1; }
remember_pids
eval "$(lab env)"
PW=$(cat "$LAB_PASSWORD_FILE")
WRONG_PW="Wr0ng-$$-pass"
chmod 0755 "$W"

# --- configuration: hooks that record what they get; a network value full of shell syntax
CONF=$W/config
daemon_config "$CONF"
mkdir -p "$W/hooks/post-tracking.d" "$W/hooks/server-post-tracking.d" "$W/out"
# UCI single quotes, with '\'' for a quote: the value is
#   static $(touch W/pwned1) `touch W/pwned2` "dq" 'sq' ;|&<> ${HOME} \n
NASTY_UCI="static \$(touch $W/pwned1) \`touch $W/pwned2\` \"dq\" '\\''sq'\\'' ;|&<> \${HOME} \\n"
NASTY="static \$(touch $W/pwned1) \`touch $W/pwned2\` \"dq\" 'sq' ;|&<> \${HOME} \\n"
uci_override "$CONF/network" interface wan2 "option proto '$NASTY_UCI'"
for d in post-tracking.d server-post-tracking.d; do
    cat >"$W/hooks/$d/10-record" <<HOOK
#!/bin/sh
# Records its arguments, the value under test and its whole environment; prints a line
# (logged by the daemon) carrying the value.
key=\${OMR_TRACKER_INTERFACE:-\$OMR_TRACKER_SERVER}
echo "\$#" >"$W/out/argc.$d.\$key"
printf '%s' "\$OMR_TRACKER_PROTO" >"$W/out/proto.$d.\$key"
env >>"$W/out/env.$d"
echo "record: \$key proto=\$OMR_TRACKER_PROTO"
HOOK
    chmod +x "$W/hooks/$d/10-record"
done
uci_override "$CONF/omr-tracker" daemon daemon "option hooks_dir '$W/hooks/post-tracking.d'" \
    "option server_hooks_dir '$W/hooks/server-post-tracking.d'" "option status_file '$W/status.json'" \
    "option pin_file '$W/pins'"
check "test configuration is valid" "$DAEMON" --check-config -C "$CONF" >"$W/check-config.out" 2>&1

daemon_start "$CONF" || exit 1
"$CTL" -s "$DAEMON_SOCK" watch >"$W/watch.out" 2>&1 &
WATCH_PID=$!
expect_state wan1 OK 20 "wan1 OK"
expect_state wan2 OK 20 "wan2 OK (its proto is the nasty value)"
expect_state vps OK 30 "vps OK"

# --- the control socket
check "socket mode 0600 ($(stat -c %a "$DAEMON_SOCK"))" test "$(stat -c %a "$DAEMON_SOCK")" = 600
check "socket owned by root" test "$(stat -c %u "$DAEMON_SOCK")" = 0
check "root may use it" sh -c "\"$CTL\" -s \"$DAEMON_SOCK\" status >/dev/null"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
CTL_N=$W/omr-trackerctl
cp "$CTL" "$CTL_N"
chmod 0755 "$CTL_N"
check "uid 65534 can reach the socket's directory" as_nobody test -x "$(dirname "$DAEMON_SOCK")"
out=$(as_nobody "$CTL_N" -s "$DAEMON_SOCK" status 2>&1)
rc=$?
check "uid 65534: omr-trackerctl status fails (exit $rc: $out)" test "$rc" != 0
check "uid 65534: no status was printed" sh -c "! echo '$out' | grep -q wan1"
# Open the mode up: now only the peer-credential check stands in the way.
chmod 0666 "$DAEMON_SOCK"
REQ='{"cmd":"recheck"}'
reply=$(as_nobody /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(sys.argv[2].encode() + b"\n")
except OSError:
    pass
data = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
except OSError:
    pass
print(data.decode(errors="replace").strip())' "$DAEMON_SOCK" "$REQ" 2>&1)
chmod 0600 "$DAEMON_SOCK"
check "SO_PEERCRED: uid 65534 refused with a reason ($reply)" sh -c "echo '$reply' | grep -q 'permission denied: uid 65534'"
check "SO_PEERCRED: the request was not executed" sh -c "! echo '$reply' | grep -q '\"ok\":true'"
wait_for 5 "the refusal is logged with pid and uid" grep -q "control: refused client pid [0-9]* uid 65534" "$DAEMON_LOG"
check "root still served after the refusal" sh -c "\"$CTL\" -s \"$DAEMON_SOCK\" status >/dev/null"

# --- hooks: no arguments, values verbatim, nothing executed
wait_for 20 "the interface hook ran for wan2" test -s "$W/out/proto.post-tracking.d.wan2"
wait_for 30 "the server hook ran" sh -c "ls '$W/out/' | grep -q 'argc.server-post-tracking.d'"
for f in "$W"/out/argc.*; do
    check "no argument to $(basename "$f" | cut -d. -f2-) ($(cat "$f"))" test "$(cat "$f")" = 0
done
got=$(cat "$W/out/proto.post-tracking.d.wan2")
check "the shell syntax arrived verbatim in OMR_TRACKER_PROTO ($got)" test "$got" = "$NASTY"
check "nothing in it was executed" test ! -e "$W/pwned1" -a ! -e "$W/pwned2"
wait_for 10 "the hook's output line is logged verbatim" grep -qF "proto=$NASTY" "$DAEMON_LOG"
extra=$(cat "$W"/out/env.* | grep -v -e '^OMR_TRACKER_' -e '^PATH=' -e '^PWD=' -e '^SHLVL=' -e '^_=' |
    cut -d= -f1 | sort -u | tr '\n' ' ')
check "hook environments hold only PATH and OMR_TRACKER_* (${extra:-nothing else})" test -z "$extra"

# --- tokens: obtained at start, on a recheck, after an API restart; then a wrong password
stat_of() { lab vpsctl "$1" stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
issued0=$(stat_of master tokens_issued)
check "the daemon obtained a token at start (fake VPS issued $issued0)" test "$issued0" -ge 1
lab fault api master restart >/dev/null
ctl recheck vps >/dev/null
wait_for 30 "after an API restart and a recheck, a new token was issued" \
    sh -c "[ \$($LAB_TOOL vpsctl master stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"tokens_issued\"])') -gt $issued0 ]"
ctl status --json >"$W/status-after-restart.json"
sed -i "/^config server 'vps_backup'/,/^config/ s/option password '.*'/option password '$WRONG_PW'/" "$CONF/openmptcprouter"
check "the wrong password is in the config" grep -qF "$WRONG_PW" "$CONF/openmptcprouter"
ctl reload >"$W/reload.out" 2>&1
check "reload with the wrong password accepted" test $? = 0
ctl recheck vps_backup >/dev/null
reason_is() { [ "$(field "$1" reason 2>/dev/null)" = "$2" ]; }
wait_for 40 "vps_backup: api_auth_rejected with the wrong password" reason_is vps_backup api_auth_rejected
ctl status --json >"$W/status-wrong-password.json"
ctl status >"$W/status-table.txt"
if "$CTL" -h 2>&1 | grep -q metrics; then
    ctl metrics >"$W/metrics.txt" 2>&1
    check "metrics collected ($(wc -l <"$W/metrics.txt") lines)" test -s "$W/metrics.txt"
fi
cp "$W/status.json" "$W/status-file.json" 2>/dev/null
tr '\0' ' ' <"/proc/$DAEMON_PID/cmdline" >"$W/cmdline.txt"
tr '\0' '\n' <"/proc/$DAEMON_PID/environ" >"$W/environ.txt"
"$DAEMON" --check-config -C "$CONF" >"$W/check-config-2.out" 2>&1
stop_watch
issued=$(stat_of master tokens_issued)
T_END_S=$(date +%s)

# --- the search. Tokens: every JWT the fake VPS issues starts with the same header, and
# its payload is {"sub":"openmptcprouter","exp":NOW+86400} — all payloads the test's
# seconds can have are searched for too (a leak of a token's middle part).
PAT=$W/patterns
{
    echo "$PW"
    echo "$WRONG_PW"
    python3 - "$T_START_S" "$T_END_S" <<'PY'
import base64, json, sys
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
enc = lambda o: b64(json.dumps(o, separators=(",", ":")).encode())
print(enc({"alg": "HS256", "typ": "JWT"}))
for t in range(int(sys.argv[1]) - 5, int(sys.argv[2]) + 5):
    print(enc({"sub": "openmptcprouter", "exp": t + 86400}))
PY
} >"$PAT"
SEARCHED="$DAEMON_LOG $W/watch.out $W/status-after-restart.json $W/status-wrong-password.json
$W/status-table.txt $W/status-file.json $W/cmdline.txt $W/environ.txt $W/check-config.out
$W/check-config-2.out $W/reload.out $W/out/*"
[ -f "$W/metrics.txt" ] && SEARCHED="$SEARCHED $W/metrics.txt"
# Positive controls: the search finds the password in the config and a token we fetch.
check "control: the password is found in the config file" grep -qF -f "$PAT" "$CONF/openmptcprouter"
TOK=$(rx curl -s --cacert "$LAB_CA" --max-time 3 -d "username=openmptcprouter&password=$PW" \
    https://vps.lab.test:65500/token | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
echo "$TOK" >"$W/control-token"
check "control: a token the fake VPS issues is found" grep -qF -f "$PAT" "$W/control-token"
# shellcheck disable=SC2086 # the list of files
hits=$(grep -lF -f "$PAT" $SEARCHED 2>/dev/null)
# shellcheck disable=SC2086
jwt=$(grep -lE 'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}' $SEARCHED 2>/dev/null)
n=$(echo "$SEARCHED" | wc -w)
check "no password or token in $n daemon-side files ($issued tokens issued)${hits:+: found in $hits}" test -z "$hits"
check "nothing JWT-shaped in them${jwt:+: found in $jwt}" test -z "$jwt"
check "the daemon's log is the debug level one ($(wc -l <"$DAEMON_LOG") lines)" grep -q " debug " "$DAEMON_LOG"
daemon_stop
