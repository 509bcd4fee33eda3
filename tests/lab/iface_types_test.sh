#!/usr/bin/env bash
# Probe types other than ping (reference §3.3): `dns` (a query to the tracking hosts through
# the WAN) and `httping` (an HTTPS round trip to the VPS API through the WAN), each OK in
# the lab and ERROR when what it checks breaks; `none` (the gateway only).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"
lab_test_init types
W=$(mktemp -d /tmp/omrt-types-XXXXXX)
trap 'daemon_stop; rm -rf "$W"; lab_test_exit' EXIT
lab up >/dev/null || { bad "lab up"; exit 1; }

# --- type dns: the lab's DNS server is the tracking host, asked for the VPS name
CONF=$W/dns
daemon_config "$CONF"
uci_override "$CONF/omr-tracker" defaults defaults "option type 'dns'" "option failure_interval '3'" \
    "option dns_query_name 'vps.lab.test'" "list hosts '198.51.100.53'" "option family 'ipv4'"
uci_override "$CONF/omr-tracker" interface wan1 "option family 'ipv4'"
uci_override "$CONF/omr-tracker" interface wan2 "option family 'ipv4'"
# `list hosts` in a re-opened section appends: keep only the DNS server.
sed -i "/list hosts '198.51.100.[123]'/d" "$CONF/omr-tracker"
check "dns configuration valid" "$DAEMON" --check-config -C "$CONF" >/dev/null 2>&1
daemon_start "$CONF" || exit 1
expect_state wan1 OK 15 "type dns: wan1 OK (query answered through wan1)"
msg=$(field wan1 message)
check "message names the DNS server ($msg)" grep -q "host 198.51.100.53 answers via wan1" <<<"$msg"
lab fault dns stop >/dev/null
expect_state wan1 ERROR 30 "type dns: DNS server stopped -> wan1 ERROR"
lab fault dns start >/dev/null
expect_state wan1 OK 30 "type dns: DNS server back -> wan1 OK"
daemon_stop

# --- type httping: HTTPS to the VPS API port through each WAN
CONF=$W/http
daemon_config "$CONF"
uci_override "$CONF/omr-tracker" defaults defaults "option type 'httping'" "option failure_interval '3'"
daemon_start "$CONF" || exit 1
expect_state wan1 OK 15 "type httping: wan1 OK"
msg=$(field wan1 message)
check "an HTTPS round trip decided ($msg)" grep -q "server 198.51.100.1[01] answers via wan1" <<<"$msg"
lab fault api master refuse >/dev/null
lab fault api backup refuse >/dev/null
# The public hosts serve no HTTPS either: nothing answers through wan1.
expect_state wan1 ERROR 40 "type httping: both APIs refusing -> ERROR"
lab unfault api master >/dev/null
lab unfault api backup >/dev/null
expect_state wan1 OK 30 "type httping: APIs back -> OK"
daemon_stop

# --- type none: the gateway decides
CONF=$W/none
daemon_config "$CONF"
uci_override "$CONF/omr-tracker" defaults defaults "option type 'none'" "option failure_interval '3'" "option tries '2'"
daemon_start "$CONF" || exit 1
expect_state wan1 OK 15 "type none: wan1 OK"
lab fault blackhole wan1 on >/dev/null
# A negative observation: long enough for 2 tries (2 s timeout, 1 s apart) to fail twice.
check_not "type none: an upstream black hole does not matter (no ERROR within 10 s)" \
    ctl wait wan1 ERROR --timeout 10
lab unfault blackhole wan1 >/dev/null
lab fault carrier wan1 down >/dev/null
expect_state wan1 ERROR link_down 5 "type none: carrier loss -> ERROR"
lab fault carrier wan1 up >/dev/null
expect_state wan1 OK 15 "type none: back"
