#!/bin/bash
# The fork-per-probe way, for tools/bench (section 1): what the shell tracker does for
# every echo it sends (reference omr-tracker.md §3.3, §6.1 row 10): one `ping` process
# and the grep/awk/tr pipelines that parse its output, paced at RATE probes per second.
# The three `uci get ...proto` the shell also runs per probe are left out (no UCI here),
# so this is a lower bound of the shell's cost.
#
#   fork_probe.sh DEVICE RATE COUNT TARGET...
#
# Sends COUNT probes, round-robin over the targets. The pacing sleeps with bash's `read -t`
# on a pipe that never has data (no `sleep` process). Prints "sent N ok M".
set -u
dev=$1 rate=$2 n=$3
shift 3
targets=("$@")
exec 3<> <(:) # a descriptor nobody writes to: `read -t` on it is a sleep without a fork
period=$((1000000 / rate))
next=${EPOCHREALTIME/./}
ok=0
for ((i = 0; i < n; i++)); do
    host=${targets[i % ${#targets[@]}]}
    ret=$(ping -B -I "$dev" -w 1 -c 1 -s 56 -t 60 -Q 184 "$host" 2>&1)
    if echo "$ret" | grep -q "Address not available"; then
        echo "fork_probe: $dev cannot bind" >&2
    fi
    loss=$(echo "$ret" | awk '/packet loss/ {print $6}' | tr -d '%')
    latency=$(echo "$ret" | awk -F/ '/rtt/ {print int($5)}' | tr -d '\n')
    [ "$loss" = 0 ] && [ -n "$latency" ] && ok=$((ok + 1))
    next=$((next + period))
    now=${EPOCHREALTIME/./}
    if [ "$now" -lt "$next" ]; then
        d=$((next - now))
        read -r -t "$((d / 1000000)).$(printf '%06d' $((d % 1000000)))" -u 3 || true
    fi
done
echo "sent $n ok $ok"
