#include "core/log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

namespace core {

namespace {

constexpr int64_t kRepeatWindowS = 30;
constexpr size_t kLineMax = 1024;

struct State {
    char ident[48] = "omr-trackerd";
    LogSink sink = LogSink::Stderr;
    int level = LOG_INFO;
    int fd = -1; // /dev/log datagram socket, opened lazily
    // Repeat suppression: the last line written, per tag and level.
    char last_tag[48] = "";
    char last_msg[kLineMax] = "";
    int last_level = -1;
    int64_t last_s = 0;
    unsigned repeats = 0;
    LogCounters counters;
};

State g;

int64_t mono_s()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

const char *level_name(int level)
{
    static const char *const names[] = {"emerg",   "alert",  "crit", "err",
                                        "warning", "notice", "info", "debug"};
    return (level >= 0 && level <= 7) ? names[level] : "?";
}

void open_syslog()
{
    if (g.fd >= 0)
        return;
    g.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (g.fd < 0)
        return;
    struct sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, "/dev/log", sizeof(sa.sun_path) - 1);
    if (connect(g.fd, reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)) < 0) {
        close(g.fd);
        g.fd = -1;
    }
}

void emit(int level, const char *tag, const char *msg)
{
    int saved = errno;
    g.counters.written++;
    if (g.sink == LogSink::Stderr) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        localtime_r(&ts.tv_sec, &tm);
        char stamp[32];
        strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
        std::fprintf(stderr, "%s.%03ld %s %s: %s\n", stamp, long(ts.tv_nsec / 1000000),
                     level_name(level), tag, msg);
    } else if (g.sink == LogSink::Syslog) {
        open_syslog();
        // The classic BSD format every syslogd (and OpenWrt's logd) accepts:
        // "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG".
        char line[kLineMax + 128];
        time_t now = time(nullptr);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof(stamp), "%b %e %T", &tm);
        int n = std::snprintf(line, sizeof(line), "<%d>%s %s[%d]: %s", LOG_DAEMON | level, stamp,
                              tag, int(getpid()), msg);
        if (n > int(sizeof(line)) - 1)
            n = int(sizeof(line)) - 1;
        if (g.fd < 0 || send(g.fd, line, size_t(n), MSG_NOSIGNAL) < 0) {
            // syslogd restarted or absent: reconnect once, else fall back to stderr,
            // which procd also forwards to the log.
            if (g.fd >= 0) {
                close(g.fd);
                g.fd = -1;
                open_syslog();
            }
            if (g.fd < 0 || send(g.fd, line, size_t(n), MSG_NOSIGNAL) < 0)
                std::fprintf(stderr, "%s: %s\n", tag, msg);
        }
    }
    errno = saved;
}

void flush_repeats()
{
    if (g.repeats == 0)
        return;
    char msg[64];
    std::snprintf(msg, sizeof(msg), "last message repeated %u times", g.repeats);
    emit(g.last_level, g.last_tag, msg);
    g.repeats = 0;
}

} // namespace

void log_init(const char *ident, LogSink sink, int max_level)
{
    flush_repeats();
    std::snprintf(g.ident, sizeof(g.ident), "%s", ident);
    g.sink = sink;
    g.level = max_level;
    g.last_level = -1;
    g.last_msg[0] = '\0';
    if (g.fd >= 0 && sink != LogSink::Syslog) {
        close(g.fd);
        g.fd = -1;
    }
}

void log_set_level(int max_level)
{
    g.level = max_level;
}

int log_level()
{
    return g.level;
}

int log_level_from_name(const char *name)
{
    static const char *const names[] = {"emerg",   "alert",  "crit", "err",
                                        "warning", "notice", "info", "debug"};
    for (int i = 0; i < 8; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    if (strcasecmp(name, "error") == 0)
        return LOG_ERR;
    if (strcasecmp(name, "warn") == 0)
        return LOG_WARNING;
    if (name[0] >= '0' && name[0] <= '7' && name[1] == '\0')
        return name[0] - '0';
    return -1;
}

void log_vwrite(int level, const char *tag, const char *fmt, va_list ap)
{
    if (level > g.level)
        return;
    int saved = errno;
    if (!tag)
        tag = g.ident;
    char msg[kLineMax];
    errno = saved; // so %m in fmt reports the caller's errno
    std::vsnprintf(msg, sizeof(msg), fmt, ap);
    // Control characters (from hook output or peers) would break log lines apart.
    for (char *p = msg; *p; p++)
        if (static_cast<unsigned char>(*p) < 0x20 && *p != '\t')
            *p = ' ';

    int64_t now = mono_s();
    if (level == g.last_level && now - g.last_s < kRepeatWindowS &&
        std::strcmp(tag, g.last_tag) == 0 && std::strcmp(msg, g.last_msg) == 0) {
        g.repeats++;
        g.counters.suppressed++;
        errno = saved;
        return;
    }
    flush_repeats();
    emit(level, tag, msg);
    g.last_level = level;
    g.last_s = now;
    std::snprintf(g.last_tag, sizeof(g.last_tag), "%s", tag);
    std::memcpy(g.last_msg, msg, sizeof(msg));
    errno = saved;
}

void log_write(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, nullptr, fmt, ap);
    va_end(ap);
}

void log_write_tag(int level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, tag, fmt, ap);
    va_end(ap);
}

LogCounters log_counters()
{
    return g.counters;
}

bool LogLimiter::allow(int64_t now_mono_us, unsigned *suppressed)
{
    if (now_mono_us - last_us_ < interval_us_) {
        suppressed_++;
        return false;
    }
    last_us_ = now_mono_us;
    if (suppressed)
        *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
}

} // namespace core
