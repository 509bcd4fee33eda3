// What the daemon costs, read from the kernel's own accounting (for status "daemon").
#pragma once

#include <cstdint>

namespace core {

struct ProcStat {
    uint64_t cpu_ms = 0;       // user + system CPU time of this process
    uint64_t rss_kb = 0;       // VmRSS
    uint64_t vol_ctxsw = 0;    // voluntary context switches (~ wakeups)
    uint64_t nonvol_ctxsw = 0; // involuntary ones
    unsigned open_fds = 0;     // entries of /proc/self/fd
    // Bytes the daemon allocated and has not freed: the sanitizer allocator's count in a
    // sanitizer build, glibc's mallinfo2() otherwise; -1 where neither exists (musl).
    // Unlike VmRSS it does not move with freed pages the allocator keeps, so a leak
    // shows as a trend here first (tools/soak).
    int64_t heap_bytes = -1;
};

// Reads /proc/self; fields it cannot read stay 0.
ProcStat read_proc_self();

} // namespace core
