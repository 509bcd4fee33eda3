// One logging sink for the whole daemon (STYLE.md §13).
//
// Levels are syslog's. Output goes to syslog (/dev/log, written directly so each line
// can carry its own tag: "omr-trackerd", "OMR-Tracker-Server", "post-tracking-003-up"),
// or to stderr with -f. Formats are printf-checked; user data is never a format.
// An identical line repeated within kRepeatWindowS is counted, not written again, and
// reported as "last message repeated N times" (like syslogd), so a failure that recurs
// every probe cannot flood a router's small log buffer.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <syslog.h>

namespace core {

enum class LogSink { Syslog, Stderr, None };

// |ident| is the default tag. Safe to call again (reload, tests).
void log_init(const char *ident, LogSink sink, int max_level);
void log_set_level(int max_level);
int log_level();
// Parses "debug", "info", "notice", "warning", "err" (also numbers 0..7); -1 if unknown.
int log_level_from_name(const char *name);
inline bool log_enabled(int level)
{
    return level <= log_level();
}

void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_write_tag(int level, const char *tag, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void log_vwrite(int level, const char *tag, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

// Lines written / suppressed as repeats since start, for status and tests.
struct LogCounters {
    uint64_t written = 0;
    uint64_t suppressed = 0;
};
LogCounters log_counters();

// Throttle for one recurring condition (e.g. "sendto failed on wan1"): allow() is true at
// most once per interval and then hands back how many occurrences it swallowed since the
// last allowed one, for the caller to mention ("... (12 more since)").
class LogLimiter {
public:
    explicit LogLimiter(int64_t interval_us = 60 * 1000000LL) : interval_us_(interval_us) {}
    bool allow(int64_t now_mono_us, unsigned *suppressed = nullptr);

private:
    int64_t interval_us_;
    int64_t last_us_ = INT64_MIN / 2;
    unsigned suppressed_ = 0;
};

} // namespace core

#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        if (core::log_enabled(level))                                                              \
            core::log_write(level, __VA_ARGS__);                                                   \
    } while (0)
#define LOGE(...) LOG_AT(LOG_ERR, __VA_ARGS__)
#define LOGW(...) LOG_AT(LOG_WARNING, __VA_ARGS__)
#define LOGN(...) LOG_AT(LOG_NOTICE, __VA_ARGS__)
#define LOGI(...) LOG_AT(LOG_INFO, __VA_ARGS__)
#define LOGD(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)
