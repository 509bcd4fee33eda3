#!/bin/sh
# openwrt/files/server-post-tracking.d/020-alert on the host: a temporary UCI tree (read by
# fake-bin/uci), a stand-in sendmail that records what it is given, and the
# administrator's script_alert commands recording what they see. Each scenario runs the
# hook as omr-trackerd's runner does (sourced by a shell, `_log` defined, OMR_TRACKER_* in
# the environment) and compares the exact mails and commands run:
#   down at start, down again (nothing), up, up again (nothing), events other than
#   "status" (nothing), the shell's default texts vs the templates with placeholders,
#   data that looks like shell code (never run), mail off or without a recipient.
set -u
: "${OMRT_SOURCE_DIR:?run through ctest}"
[ -x /usr/bin/python3 ] || { echo "skipped: no /usr/bin/python3 (fake-bin/uci needs it)"; exit 77; }
HOOK="$OMRT_SOURCE_DIR/openwrt/files/server-post-tracking.d/020-alert"
if [ -z "${HOOK_SHELL:-}" ]; then
    for HOOK_SHELL in sh bash busybox; do
        [ "$HOOK_SHELL" = busybox ] && { busybox sh -c true 2>/dev/null || continue; }
        command -v "$HOOK_SHELL" >/dev/null 2>&1 || continue
        echo "--- hook sourced by $HOOK_SHELL"
        HOOK_SHELL=$HOOK_SHELL "$0" || exit 1
    done
    exit 0
fi

T=$(mktemp -d /tmp/omrt-alert-XXXXXX)
trap 'rm -rf "$T"' EXIT
export OMR_ROOT="$T/root"
export FAKE_UCI_LOG="$T/uci-calls"
C="$OMR_ROOT/etc/config"
mkdir -p "$C" "$T/bin"
# sendmail: "sendmail ARGS" then the mail, then "."
cat >"$T/bin/sendmail" <<'EOF'
#!/bin/sh
{ echo "sendmail $*"; cat; echo "."; } >>"$ALERTS"
EOF
chmod +x "$T/bin/sendmail"
PATH="$T/bin:$OMRT_SOURCE_DIR/tests/unit/openwrt/fake-bin:$PATH"
export PATH
export ALERTS="$T/alerts"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
pass() { echo "ok: $*"; }

# config MAIL_ALERT TO [TEMPLATES]: the UCI files of one scenario.
config() {
    {
        printf "config defaults 'defaults'\n\toption interval '2'\n"
        if [ "${3:-}" = templates ]; then
            cat <<'UCI'
	option mail_down_subject '%SYSNAME%: %INTERFACE% (%DEVICE%) down'
	option mail_down_message 'Why: %MESSAGE% - %MESSAGE%'
	option mail_up_subject '%INTERFACE% is back on %SYSNAME%'
	option mail_up_message 'Address %DEVICE%.'
UCI
        fi
        cat <<UCI

config server 'server'
	option mail_alert '$1'

config proxy 'proxy'
	option script_alert_down 'printf "down: %s %s %s [%s]\\n" "\$OMR_TRACKER_SERVER" "\$OMR_TRACKER_SERVER_IP" "\$OMR_TRACKER_REASON" "\$OMR_TRACKER_STATUS_MSG" >>"\$ALERTS"'
	option script_alert_up 'echo "up: \$OMR_TRACKER_SERVER \$OMR_TRACKER_SERVER_IP" >>"\$ALERTS"'
UCI
    } >"$C/omr-tracker"
    printf "config system\n\toption hostname 'router7'\n" >"$C/system"
    if [ -n "$2" ]; then
        printf "config mail 'default'\n\toption to '%s'\n" "$2" >"$C/mail"
    else
        rm -f "$C/mail"
    fi
}

# run STATUS PREV [VAR=VALUE...]: the hook for server vps (198.51.100.10).
run() {
    local st=$1 prev=$2
    shift 2
    : >"$ALERTS"
    env -i PATH="$PATH" OMR_ROOT="$OMR_ROOT" FAKE_UCI_LOG="$FAKE_UCI_LOG" ALERTS="$ALERTS" \
        OMR_TRACKER_EVENT=status OMR_TRACKER_SERVER=vps OMR_TRACKER_SERVER_IP=198.51.100.10 \
        OMR_TRACKER_STATUS="$st" OMR_TRACKER_PREV_STATUS="$prev" \
        OMR_TRACKER_REASON=tcp_timeout OMR_TRACKER_STATUS_MSG="no answer via wan1, wan2" "$@" \
        $HOOK_SHELL $([ "$HOOK_SHELL" = busybox ] && echo sh) \
        -c '_log() { echo "_log: $*" >>"$ALERTS"; }; . "$0"' "$HOOK" >"$T/out" 2>&1 ||
        fail "hook exited non-zero: $(cat "$T/out")"
    [ -s "$T/out" ] && fail "hook printed: $(cat "$T/out")"
    return 0
}
# expect TITLE: what the last run mailed and ran must equal stdin.
expect() {
    cat >"$T/want"
    if ! diff -u "$T/want" "$ALERTS" >"$T/diff"; then
        cat "$T/diff" >&2
        fail "$1: alerts differ (- expected, + actual)"
    fi
    pass "$1"
}

config 1 admin@example.org
run ERROR ""
expect "down at start: the shell's mail, then the administrator's command" <<'EOF'
sendmail admin@example.org
Subject: router7: Server vps (198.51.100.10) is down

Server vps (198.51.100.10) is down: no answer via wan1, wan2.
.
down: vps 198.51.100.10 tcp_timeout [no answer via wan1, wan2]
EOF
run ERROR OK
expect "down after OK" <<'EOF'
sendmail admin@example.org
Subject: router7: Server vps (198.51.100.10) is down

Server vps (198.51.100.10) is down: no answer via wan1, wan2.
.
down: vps 198.51.100.10 tcp_timeout [no answer via wan1, wan2]
EOF
run ERROR ERROR
expect "still down: nothing (the shell alerted every cycle)" </dev/null
run OK ERROR
expect "back up" <<'EOF'
sendmail admin@example.org
Subject: router7: Server vps (198.51.100.10) is UP

Detected that server vps (198.51.100.10) is up again.
.
up: vps 198.51.100.10
EOF
run OK OK
expect "still up: nothing" </dev/null
run OK ""
expect "up at start: nothing (like the interfaces' first OK)" </dev/null
run ERROR OK OMR_TRACKER_EVENT=current
expect "a change of the server in use is not an alert" </dev/null
run ERROR OK OMR_TRACKER_EVENT=address
expect "an address change is not an alert" </dev/null

config 1 admin@example.org templates
run ERROR OK
expect "templates: every placeholder, twice" <<'EOF'
sendmail admin@example.org
Subject: router7: Server vps (198.51.100.10) down

Why: no answer via wan1, wan2 - no answer via wan1, wan2
.
down: vps 198.51.100.10 tcp_timeout [no answer via wan1, wan2]
EOF
run OK ERROR
expect "templates: up" <<'EOF'
sendmail admin@example.org
Subject: Server vps is back on router7

Address 198.51.100.10.
.
up: vps 198.51.100.10
EOF
# A message that looks like shell code and like a placeholder: text, never run.
# shellcheck disable=SC2016 # literal on purpose
run ERROR OK OMR_TRACKER_STATUS_MSG='$(touch '"$T"'/ran) `touch '"$T"'/ran2` %DEVICE% & \1 "q"'
[ ! -e "$T/ran" ] && [ ! -e "$T/ran2" ] || fail "data in the message was executed"
expect "data that looks like code or a placeholder stays text" <<EOF
sendmail admin@example.org
Subject: router7: Server vps (198.51.100.10) down

Why: \$(touch $T/ran) \`touch $T/ran2\` %DEVICE% & \\1 "q" - \$(touch $T/ran) \`touch $T/ran2\` %DEVICE% & \\1 "q"
.
down: vps 198.51.100.10 tcp_timeout [\$(touch $T/ran) \`touch $T/ran2\` %DEVICE% & \\1 "q"]
EOF

config 0 admin@example.org
run ERROR OK
expect "mail_alert 0: the command only" <<'EOF'
down: vps 198.51.100.10 tcp_timeout [no answer via wan1, wan2]
EOF
config 1 ""
run OK ERROR
expect "no mail.default.to: the command only" <<'EOF'
up: vps 198.51.100.10
EOF
rm -f "$T/bin/sendmail"
printf '#!/bin/sh\ncat >/dev/null\nexit 1\n' >"$T/bin/sendmail"
chmod +x "$T/bin/sendmail"
config 1 admin@example.org
run ERROR OK
expect "sendmail failing: said with _log, the command still runs" <<'EOF'
_log: server vps: the down mail to admin@example.org was not sent
down: vps 198.51.100.10 tcp_timeout [no answer via wan1, wan2]
EOF
# No script_alert options: nothing, exit 0.
printf "config server 'server'\n\toption mail_alert '0'\n" >"$C/omr-tracker"
run ERROR OK
expect "no alert configured: nothing" </dev/null
echo "all passed ($HOOK_SHELL)"
