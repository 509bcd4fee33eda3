# shellcheck shell=bash
# The soak's hook directories (sourced by tools/soak): soak_write_hooks DIR OUT writes
# DIR/post-tracking.d and DIR/server-post-tracking.d, each with
#   10-count  appends one line per run to OUT/runs (the runs are counted at the end)
#   20-fail   exits 1
#   30-hang   sleeps far past hook_timeout: killed by the daemon every run
#   40-loud   prints ~1 MB: five 200 kB lines (cut at 900 bytes in the log) and 300 short
#             lines (200 logged per hook, the rest counted), and one _log line
soak_write_hooks() {
    local dir=$1 out=$2 d
    for d in post-tracking.d server-post-tracking.d; do
        mkdir -p "$dir/$d"
        cat >"$dir/$d/10-count" <<HOOK
#!/bin/sh
echo "\$(date +%s) $d \${OMR_TRACKER_INTERFACE:-\$OMR_TRACKER_SERVER} \$OMR_TRACKER_STATUS" >>"$out/runs"
HOOK
        cat >"$dir/$d/20-fail" <<'HOOK'
#!/bin/sh
echo "failing on purpose" >&2
exit 1
HOOK
        cat >"$dir/$d/30-hang" <<'HOOK'
#!/bin/sh
sleep 600
HOOK
        cat >"$dir/$d/40-loud" <<'HOOK'
#!/bin/sh
for i in 1 2 3 4 5; do
    head -c 200000 /dev/zero | tr '\0' x
    echo
done
i=0
while [ $i -lt 300 ]; do
    echo "loud line $i"
    i=$((i + 1))
done
_log "loud hook done" 2>/dev/null || true
HOOK
        chmod +x "$dir/$d/10-count" "$dir/$d/20-fail" "$dir/$d/30-hang" "$dir/$d/40-loud"
    done
}
