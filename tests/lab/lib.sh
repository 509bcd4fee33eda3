# shellcheck shell=bash
# Shared by the lab tests (tests/lab/*_test.sh): skip rules, checks, waiting with deadlines,
# and the final check that `tools/lab down` left nothing behind.
#
#   . "$(dirname "$0")/lib.sh"
#   lab_test_init links            # lab name t-links-$$, trap EXIT -> down + final check
#   lab up ...; check "desc" cmd...; wait_for 2 "desc" cmd...; finish

SRC=${OMRT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB_TOOL=$SRC/tools/lab
FAILS=0
CHECKS=0
LAB_PIDS_SEEN=""
LAB_TEST_NAMES=""

skip() {
    echo "SKIP: $*"
    exit 77
}

# Every lab test needs root, network namespaces and the lab's tools.
require_lab() {
    [ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
    local t
    for t in ip nft dnsmasq openssl curl dig ping ss setsid flock; do
        command -v "$t" >/dev/null || skip "missing $t (tools/install-deps)"
    done
    local probe=omrt-labprobe-$$
    ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
    ip netns del "$probe"
    [ -c /dev/net/tun ] || skip "no /dev/net/tun"
}

# lab_test_init NAME: the main lab of this test is t-NAME-$$ (callable as `lab ...`).
lab_test_init() {
    require_lab
    LAB_NAME=t-$1-$$
    export LAB_NAME
    unset LAB_STATE
    LAB_TEST_NAMES=$LAB_NAME
    trap lab_test_exit EXIT
    trap 'exit 130' INT TERM
}

lab() { "$LAB_TOOL" "$@"; }

# Another lab in the same test (parallel labs): NAME, cleaned up at exit too.
lab_also() {
    LAB_TEST_NAMES="$LAB_TEST_NAMES $1"
}

remember_pids() { # snapshot the recorded pids of every lab of this test
    local n p
    for n in $LAB_TEST_NAMES; do
        for p in $(LAB_NAME=$n "$LAB_TOOL" pids 2>/dev/null | cut -d' ' -f1); do
            case " $LAB_PIDS_SEEN " in *" $p "*) ;; *) LAB_PIDS_SEEN="$LAB_PIDS_SEEN $p" ;; esac
        done
    done
}

T_START=$(($(date +%s%N) / 1000000))
elapsed() { # seconds since the test started, for the log
    local ms=$(($(date +%s%N) / 1000000 - T_START))
    printf '%3d.%01ds' $((ms / 1000)) $((ms % 1000 / 100))
}
ok() {
    CHECKS=$((CHECKS + 1))
    echo "ok   [$(elapsed)] $*"
}
bad() {
    CHECKS=$((CHECKS + 1))
    FAILS=$((FAILS + 1))
    echo "FAIL [$(elapsed)] $*"
}

# check DESC CMD...: CMD must succeed
check() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
# check_not DESC CMD...: CMD must fail
check_not() {
    local d=$1
    shift
    if "$@"; then bad "$d"; else ok "$d"; fi
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for SECONDS DESC CMD...: polls CMD (20 ms) until it succeeds; prints the time taken.
# Sets WAITED_MS.
wait_for() {
    local limit_ms=$(($1 * 1000)) d=$2 t0
    shift 2
    t0=$(now_ms)
    while ! "$@" >/dev/null 2>&1; do
        if [ $(($(now_ms) - t0)) -ge "$limit_ms" ]; then
            WAITED_MS=$(($(now_ms) - t0))
            bad "$d (not within ${limit_ms} ms)"
            return 1
        fi
        sleep 0.02
    done
    WAITED_MS=$(($(now_ms) - t0))
    ok "$d (${WAITED_MS} ms)"
}

# Helpers that run inside the lab (router namespace unless told otherwise).
rx() { lab exec "$@"; }
ping_ok() { # [ping args...] HOST: one echo answered within 1 s
    rx ping -c 1 -W 1 -q "$@" >/dev/null 2>&1
}
ping_fails() { ! ping_ok "$@"; }
link_flags() { rx ip -o link show "$1" | sed 's/.*<\([^>]*\)>.*/\1/'; }
has_flag() { [[ ",$(link_flags "$1")," == *",$2,"* ]]; }
ifindex() { rx cat "/sys/class/net/$1/ifindex"; }

# The final check, run at exit: down, then no namespace and no recorded pid may remain.
lab_test_exit() {
    local rc=$? n p left
    trap - EXIT
    remember_pids
    for n in $LAB_TEST_NAMES; do
        LAB_NAME=$n "$LAB_TOOL" down >/dev/null || bad "lab $n: down failed"
    done
    for n in $LAB_TEST_NAMES; do
        left=$(ip netns list | awk '{print $1}' | grep -E "^$n-(r|net|isp[0-9])$" || true)
        if [ -n "$left" ]; then bad "after down: namespaces left: $left"; else ok "after down: no namespace of $n left"; fi
        if [ -e "/run/omr-lab/$n" ] || [ -e "/etc/netns/$n-r" ]; then
            bad "after down: files of $n left"
        fi
    done
    left=""
    for p in $LAB_PIDS_SEEN; do
        # a zombie has ended (PID 1 here may reap late)
        if kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
            left="$left $p"
        fi
    done
    if [ -n "$left" ]; then bad "after down: recorded pids still alive:$left"; else ok "after down: none of the recorded pids (${LAB_PIDS_SEEN# }) is alive"; fi
    echo "$CHECKS checks, $FAILS failed"
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then exit "$rc"; fi
    [ "$FAILS" = 0 ] || exit 1
    exit "$rc"
}
