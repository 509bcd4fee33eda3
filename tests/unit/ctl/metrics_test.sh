#!/bin/sh
# omr-trackerctl metrics: the exposition of a real omr-trackerd and of crafted status
# documents, every byte checked by the strict parser promparse.py (which first proves on
# itself that it refuses bad input); --output replaces the file atomically; a daemon that
# cannot be asked (gone, or a stale status file) gives omrt_up 0 and exit 1.
set -u
. "$OMRT_SOURCE_DIR/tests/system/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "skipped: no python3"; exit 77; }
PARSE="$OMRT_SOURCE_DIR/tests/unit/ctl/promparse.py"

T=$(mktemp -d /tmp/omrt-metrics-XXXXXX)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# SIGTERM and wait for the exit (lib.sh's wait_exit leaves a `sleep` holding ctest's pipe).
stop_daemon() {
    kill -TERM "$PID"
    timeout 5 tail --pid="$PID" -f /dev/null
    wait "$PID"
    PID=""
}

# check SAMPLES_FILE PYTHON: runs PYTHON with `s` = the parsed samples and helpers
#   v(name, **labels) -> the value of that one series (AssertionError if absent or repeated)
#   has(name, **labels) -> whether it exists
check() {
    python3 - "$1" "$2" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
def find(name, **labels):
    return [x for x in s if x["name"] == name and all(x["labels"].get(k) == v for k, v in labels.items())]
def v(name, **labels):
    f = find(name, **labels)
    assert len(f) == 1, "%s%s: %d series" % (name, labels, len(f))
    return f[0]["value"]
def has(name, **labels):
    return bool(find(name, **labels))
exec(sys.argv[2])
PY
}

python3 "$PARSE" --self-test || fail "the parser accepts what it must refuse"

# --- a real daemon
CONF="$T/config"
mkdir -p "$CONF"
cp "$OMRT_SOURCE_DIR"/tests/data/config/omr/* "$CONF/"
SOCK="$T/ctl.sock"
LOG="$T/daemon.log"
"$DAEMON" -f -C "$CONF" -s "$SOCK" -o "$T/status.json" 2>"$LOG" &
PID=$!
wait_log "$LOG" "starting:" 10 || fail "daemon did not start"

"$CTL" -s "$SOCK" metrics >"$T/m1" 2>"$T/m1.err" || fail "metrics failed: $(cat "$T/m1.err")"
python3 "$PARSE" "$T/m1" >"$T/s1" || fail "real exposition refused by the strict parser"
version=$("$DAEMON" -V | cut -d' ' -f2)
check "$T/s1" "
assert v('omrt_up') == 1
assert v('omrt_build_info', version='$version') == 1
for i in ('wan1', 'wan2', 'omrvpn'):
    assert v('omrt_interface_up', interface=i) in (0, 1)
    assert sum(v('omrt_interface_state', interface=i, state=k) for k in ('OK', 'ERROR', 'UNKNOWN')) == 1, i
    assert v('omrt_interface_transitions_total', interface=i) >= 0
    assert v('omrt_interface_last_change_timestamp_seconds', interface=i) > 1.5e9
assert v('omrt_interface_info', interface='wan1', device='eth1') == 1
assert v('omrt_server_info', server='vps', host='192.0.2.10', role='master') == 1
assert v('omrt_server_current', server='vps') in (0, 1)
assert v('omrt_server_checks_total', server='vps') >= 0
assert v('omrt_server_api_checks_total', server='vps') >= 0
assert v('omrt_process_resident_memory_bytes') > 1e5
assert 1e4 < v('omrt_process_heap_bytes') < v('omrt_process_resident_memory_bytes')
assert v('omrt_process_open_fds') >= 3
assert v('omrt_process_cpu_seconds_total') >= 0
assert v('omrt_uptime_seconds') >= 0
assert v('omrt_loop_lag_seconds') >= 0
" || fail "real exposition lacks series or has wrong values"
pass "metrics of a running daemon: strict format, every interface and server, daemon figures"

# --- --output: atomic replacement, readable by the collector, nothing left behind
mkdir -p "$T/textfile"
OUT="$T/textfile/omr-trackerd.prom"
echo "old" >"$OUT"
"$CTL" -s "$SOCK" metrics --output "$OUT" >"$T/o.stdout" || fail "metrics --output failed"
[ -s "$T/o.stdout" ] && fail "metrics --output also printed to stdout"
python3 "$PARSE" "$OUT" >/dev/null || fail "the --output file is refused by the parser"
[ "$(stat -c %a "$OUT")" = 644 ] || fail "--output mode is $(stat -c %a "$OUT"), not 644"
[ "$(ls "$T/textfile")" = "omr-trackerd.prom" ] || fail "temporary files left: $(ls "$T/textfile")"
if "$CTL" -s "$SOCK" metrics --output "$T/no/such/dir/x.prom" 2>"$T/o.err"; then
    fail "--output into a missing directory succeeded"
fi
grep -q "$T/no/such/dir/x.prom" "$T/o.err" || fail "--output error does not name the file: $(cat "$T/o.err")"
pass "--output writes the file atomically (mode 644, no temporary left), errors name the file"

# --- the daemon gone: omrt_up 0, exit 1, and the collector's file no longer holds old data
stop_daemon
if "$CTL" -s "$SOCK" metrics >"$T/m2" 2>"$T/m2.err"; then fail "metrics exit 0 without a daemon"; fi
python3 "$PARSE" "$T/m2" >"$T/s2" || fail "down exposition refused"
check "$T/s2" "assert v('omrt_up') == 0 and len(s) == 1" || fail "down exposition is not just omrt_up 0"
if "$CTL" -s "$SOCK" metrics --output "$OUT" 2>/dev/null; then fail "--output exit 0 without a daemon"; fi
python3 "$PARSE" "$OUT" >"$T/s3" || fail "down --output file refused"
check "$T/s3" "assert v('omrt_up') == 0 and len(s) == 1" || fail "stale numbers left in the --output file"
pass "no daemon: omrt_up 0, exit 1, --output file replaced"

# --- crafted documents through --status-file: escaping, UTF-8, optional fields, bad values
python3 - "$T/doc.json" "$$" <<'PY'
import json, sys
path, pid = sys.argv[1], int(sys.argv[2])
doc = {
    "interfaces": {
        'we"ird\\name': {"status": "OK", "reason": "ok", "message": "", "device": "dev\nice",
                         "latency_ms": 12.5, "loss_pct": 25, "jitter_ms": 0.25,
                         "since": 1700000000, "transitions": 3,
                         "probes": {"sent": 40, "replies": 30, "timeouts": 9, "errors": 1,
                                    "ignored": {"foreign": 5, "duplicate": 2, "late": 0,
                                                "malformed": 7, "unknown_kind": 3}}},
        "wan2": {"status": "ERROR", "reason": "link_down", "device": "\u00e9th2",
                 "latency_ms": None, "loss_pct": 150, "jitter_ms": "fast",
                 "since": 0, "transitions": -4},
        "wan3": {"status": "SOMETHING", "device": "BADBYTE"},
    },
    "servers": {
        "vps": {"status": "OK", "reason": "ok", "name": "vps.example", "current": True,
                "master": True, "backup": False, "since": 1700000001, "transitions": 2,
                "dns": {"queries": 41, "failures": 2},
                "api": {"checks": 12, "failures": 1, "latency_ms": 150}},
        "vps2": {"status": "ERROR", "master": False, "backup": True, "dns": {"queries": -1},
                 "api": "none"},
        # As omr-trackerd writes it: DNS per entry and resolver, flat api_checks, lanes.
        "vps3": {"status": "OK", "master": False, "backup": True, "checks": 30, "api_checks": 28,
                 "failovers": 1,
                 "dns": [{"entry": "vps3.example", "resolvers": [
                             {"queries_a": 10, "queries_aaaa": 9, "failures": 0, "changes": 2},
                             {"queries_a": 5, "queries_aaaa": 4, "failures": 3, "changes": 1}]},
                         {"entry": "bad", "resolvers": [{"queries_a": "x"}]}],
                 "wans": [{"wan": "wan1", "ok": True, "rtt_ms": 20},
                          {"wan": "wan2", "ok": False, "rtt_ms": None},
                          {"wan": "wan1", "ok": False}]},
    },
    "daemon": {"pid": pid, "version": "9.9.9", "uptime_s": 100, "cpu_ms": 1500, "rss_kb": 2048,
               "heap_bytes": 734003, "loop_lag_ms": 2.5, "open_fds": 9, "status_writes": 7,
               "status_write_error": "cannot write /var/run/x"},
}
text = json.dumps(doc, ensure_ascii=False)
# A duplicated key (the first one wins) and a raw byte that is not UTF-8.
text = text.replace('"wan3":', '"wan2": {"status": "OK"}, "wan3":', 1)
data = text.encode("utf-8").replace(b"BADBYTE", b"bad\xffbyte")
open(path, "wb").write(data)
PY
"$CTL" metrics --status-file "$T/doc.json" >"$T/m4" 2>"$T/m4.err" || fail "metrics --status-file failed: $(cat "$T/m4.err")"
python3 "$PARSE" "$T/m4" >"$T/s4" || fail "exposition of the crafted document refused"
check "$T/s4" "
w = 'we\"ird\\\\name'
assert v('omrt_interface_up', interface=w) == 1
assert v('omrt_interface_info', interface=w, device='dev\nice', reason='ok') == 1
assert v('omrt_interface_latency_seconds', interface=w) == 0.0125
assert v('omrt_interface_loss_ratio', interface=w) == 0.25
assert v('omrt_interface_jitter_seconds', interface=w) == 0.00025
assert v('omrt_interface_transitions_total', interface=w) == 3
assert v('omrt_interface_probes_sent_total', interface=w) == 40
assert v('omrt_interface_probe_results_total', interface=w, result='timeout') == 9
for k, n in (('foreign', 5), ('duplicate', 2), ('late', 0), ('malformed', 7)):
    assert v('omrt_interface_ignored_packets_total', interface=w, kind=k) == n, k
assert not has('omrt_interface_ignored_packets_total', interface=w, kind='unknown_kind')
assert not has('omrt_interface_ignored_packets_total', interface='wan2')
assert v('omrt_interface_last_change_timestamp_seconds', interface=w) == 1700000000
assert v('omrt_interface_up', interface='wan2') == 0
assert v('omrt_interface_state', interface='wan2', state='ERROR') == 1
assert v('omrt_interface_info', interface='wan2', device='\u00e9th2') == 1
for f in ('latency_seconds', 'loss_ratio', 'jitter_seconds', 'transitions_total', 'last_change_timestamp_seconds'):
    assert not has('omrt_interface_' + f, interface='wan2'), f
assert v('omrt_interface_state', interface='wan3', state='UNKNOWN') == 1
assert v('omrt_interface_info', interface='wan3', device='bad\ufffdbyte') == 1
assert v('omrt_server_info', server='vps', host='vps.example', role='master') == 1
assert v('omrt_server_info', server='vps2', role='backup') == 1
assert v('omrt_server_current', server='vps') == 1 and v('omrt_server_current', server='vps2') == 0
assert v('omrt_server_dns_queries_total', server='vps') == 41
assert v('omrt_server_dns_failures_total', server='vps') == 2
assert v('omrt_server_api_checks_total', server='vps') == 12
assert v('omrt_server_api_check_failures_total', server='vps') == 1
assert v('omrt_server_api_latency_seconds', server='vps') == 0.15
assert not has('omrt_server_dns_queries_total', server='vps2')
assert not has('omrt_server_api_checks_total', server='vps2')
assert v('omrt_server_dns_queries_total', server='vps3') == 28
assert v('omrt_server_dns_changes_total', server='vps3') == 3
assert v('omrt_server_dns_consecutive_failures', server='vps3') == 3
assert not has('omrt_server_dns_failures_total', server='vps3')
assert v('omrt_server_api_checks_total', server='vps3') == 28
assert v('omrt_server_checks_total', server='vps3') == 30
assert v('omrt_server_failovers_total', server='vps3') == 1
assert v('omrt_server_interface_up', server='vps3', interface='wan1') == 1
assert v('omrt_server_interface_up', server='vps3', interface='wan2') == 0
assert v('omrt_server_interface_rtt_seconds', server='vps3', interface='wan1') == 0.02
assert not has('omrt_server_interface_rtt_seconds', server='vps3', interface='wan2')
assert v('omrt_build_info', version='9.9.9') == 1
assert v('omrt_process_cpu_seconds_total') == 1.5
assert v('omrt_process_resident_memory_bytes') == 2097152
assert v('omrt_process_heap_bytes') == 734003
assert v('omrt_loop_lag_seconds') == 0.0025
assert v('omrt_status_file_writes_total') == 7
assert v('omrt_status_file_write_error') == 1
" || fail "crafted document: wrong series"
pass "crafted document: label escaping, U+FFFD for bad bytes, both dns/api forms, lanes, bad values skipped"

# A status file whose daemon is gone is stale.
sh -c 'exit 0' &
dead=$!
wait "$dead"
sed "s/\"pid\": $$,/\"pid\": $dead,/" "$T/doc.json" >"$T/stale.json"
grep -q "\"pid\": $dead," "$T/stale.json" || fail "could not make the stale document"
if "$CTL" metrics --status-file "$T/stale.json" >"$T/m5" 2>"$T/m5.err"; then fail "stale status file accepted"; fi
grep -q "stale" "$T/m5.err" || fail "stale status file not reported: $(cat "$T/m5.err")"
python3 "$PARSE" "$T/m5" >"$T/s5" && check "$T/s5" "assert v('omrt_up') == 0 and len(s) == 1" ||
    fail "stale status file did not give omrt_up 0"
pass "stale status file: omrt_up 0, exit 1"
echo "metrics: all checks passed"
