#include "core/procstat.h"

#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <sys/resource.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Defined by the ASan/LSan runtime when it is linked in; null otherwise.
extern "C" size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

namespace core {

namespace {

int64_t heap_in_use()
{
    if (__sanitizer_get_current_allocated_bytes)
        return int64_t(__sanitizer_get_current_allocated_bytes());
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    // Small chunks in use plus mmap()ed large ones. It walks the arena's bins, which
    // costs microseconds for a heap this size.
    struct mallinfo2 mi = mallinfo2();
    return int64_t(mi.uordblks + mi.hblkhd);
#else
    return -1;
#endif
}

} // namespace

ProcStat read_proc_self()
{
    ProcStat st;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        st.cpu_ms = uint64_t(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
                    uint64_t(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
        st.vol_ctxsw = uint64_t(ru.ru_nvcsw);
        st.nonvol_ctxsw = uint64_t(ru.ru_nivcsw);
    }
    if (FILE *f = std::fopen("/proc/self/status", "re")) {
        char line[128];
        while (std::fgets(line, sizeof(line), f)) {
            unsigned long long v;
            if (std::sscanf(line, "VmRSS: %llu kB", &v) == 1) {
                st.rss_kb = v;
                break;
            }
        }
        std::fclose(f);
    }
    if (DIR *d = opendir("/proc/self/fd")) {
        while (struct dirent *e = readdir(d))
            if (e->d_name[0] != '.')
                st.open_fds++;
        closedir(d);
        if (st.open_fds > 0)
            st.open_fds--; // the directory stream itself
    }
    st.heap_bytes = heap_in_use();
    return st;
}

} // namespace core
