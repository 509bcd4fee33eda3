// omr-trackerctl: the command-line client of omr-trackerd's control socket.
//
// One request line, one reply line (status, recheck, reload), or a stream of lines
// (watch, wait). Every socket operation has a deadline (poll), so a stuck daemon cannot
// hang a script. Also the Prometheus exporter (metrics) and the rpcd plugin (rpcd). Links
// only omrt_core and omrt_ctl (JSON, strings): it must stay tiny.
#include "core/files.h"
#include "core/json.h"
#include "core/str.h"
#include "ctl/metrics.h"
#include "ctl/rpcd.h"
#include "omrt/reason.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

constexpr const char *kDefaultSocket = "/var/run/omr-trackerd.sock";
constexpr size_t kMaxReply = 8u << 20; // a status document is a few KiB per interface
constexpr int kExitOk = 0;
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;

const char *g_socket = kDefaultSocket;
double g_timeout_s = 10; // per request
bool g_color = false;
// rpcd mode: the first error message goes here (it becomes the reply's "error") instead
// of stderr.
std::string *g_err_sink = nullptr;

void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void errorf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (g_err_sink) {
        if (g_err_sink->empty())
            *g_err_sink = buf;
        return;
    }
    std::fprintf(stderr, "omr-trackerctl: %s\n", buf);
}

void usage(FILE *f)
{
    std::fputs(
            "usage: omr-trackerctl [-s SOCKET] [-t SECONDS] COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  status [--json]       each interface and server: status, reason, latency,\n"
            "                        loss, since, recent latency; --json: the raw document\n"
            "  recheck [NAME]        check NAME (interface or server), or everything, now\n"
            "  reload                re-read the configuration; lists every error if invalid\n"
            "  watch                 print the status as one JSON line now and after each change\n"
            "  wait NAME STATUS [--reason CODE] [--timeout SECONDS]\n"
            "                        block until NAME has STATUS (OK, ERROR or UNKNOWN) and\n"
            "                        reason CODE if given; prints the milliseconds waited;\n"
            "                        exit 1 on timeout (default 30 s)\n"
            "  metrics [--output FILE] [--status-file FILE]\n"
            "                        Prometheus text format; --output writes FILE atomically\n"
            "                        (textfile collector); --status-file reads the daemon's\n"
            "                        status file instead of asking the socket. When the daemon\n"
            "                        cannot be asked: omrt_up 0 and exit 1\n"
            "  rpcd list|call METHOD the rpcd exec plugin protocol "
            "(/usr/libexec/rpcd/omr-tracker):\n"
            "                        list the methods, or call one with its JSON arguments on\n"
            "                        stdin; prints one JSON object\n"
            "\n"
            "options:\n"
            "  -s SOCKET   control socket (default $OMR_TRACKERD_SOCKET, else\n"
            "              /var/run/omr-trackerd.sock)\n"
            "  -t SECONDS  time limit for each request (default 10)\n"
            "  -h          this help\n"
            "\n"
            "exit status: 0 ok, 1 failed, 2 usage error\n",
            f);
}

int usage_error(const char *fmt, const char *arg)
{
    std::fputs("omr-trackerctl: ", stderr);
    std::fprintf(stderr, fmt, arg);
    std::fputs("\n(omr-trackerctl -h for help)\n", stderr);
    return kExitUsage;
}

int64_t mono_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// --------------------------------------------------------------------------- socket

class Conn {
public:
    ~Conn()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }

    bool connect_to(const char *path)
    {
        struct sockaddr_un sa;
        std::memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        if (std::strlen(path) >= sizeof(sa.sun_path)) {
            errorf("socket path %s is too long", path);
            return false;
        }
        std::strcpy(sa.sun_path, path);
        fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd_ < 0 || connect(fd_, reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)) < 0) {
            int e = errno;
            const char *hint = (e == ENOENT || e == ECONNREFUSED) ? " (is omr-trackerd running?)"
                               : e == EACCES                      ? " (run it as root)"
                               : e == EAGAIN                      ? " (omr-trackerd is busy)"
                                                                  : "";
            errorf("cannot connect to %s: %s%s", path, std::strerror(e), hint);
            return false;
        }
        return true;
    }

    bool send_line(const std::string &line, int64_t deadline_ms)
    {
        std::string data = line + '\n';
        size_t off = 0;
        while (off < data.size()) {
            if (!wait_for(POLLOUT, deadline_ms, "sending the request"))
                return false;
            ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n < 0) {
                errorf("cannot send to %s: %s", g_socket, std::strerror(errno));
                return false;
            }
            off += size_t(n);
        }
        return true;
    }

    // One reply line. |deadline_ms| < 0: no deadline (watch).
    enum class Read { Line, Timeout, Closed, Error };
    Read read_line(std::string &line, int64_t deadline_ms)
    {
        for (;;) {
            size_t nl = buf_.find('\n');
            if (nl != std::string::npos) {
                line.assign(buf_, 0, nl);
                buf_.erase(0, nl + 1);
                return Read::Line;
            }
            if (buf_.size() > kMaxReply) {
                errorf("reply larger than %zu bytes", kMaxReply);
                return Read::Error;
            }
            if (!wait_for(POLLIN, deadline_ms, nullptr))
                return timed_out_ ? Read::Timeout : Read::Error;
            char tmp[16384];
            ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n < 0) {
                errorf("cannot read from %s: %s", g_socket, std::strerror(errno));
                return Read::Error;
            }
            if (n == 0)
                return Read::Closed;
            buf_.append(tmp, size_t(n));
        }
    }

private:
    // Waits for |events|; false on timeout (reported if |what|) or poll error.
    bool wait_for(short events, int64_t deadline_ms, const char *what)
    {
        timed_out_ = false;
        for (;;) {
            int timeout = -1;
            if (deadline_ms >= 0) {
                int64_t left = deadline_ms - mono_ms();
                timeout = left > 0 ? int(left > 3600000 ? 3600000 : left) : 0;
            }
            struct pollfd p = {fd_, events, 0};
            int r = poll(&p, 1, timeout);
            if (r > 0)
                return true;
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                errorf("poll: %s", std::strerror(errno));
                return false;
            }
            if (deadline_ms >= 0 && mono_ms() >= deadline_ms) {
                timed_out_ = true;
                if (what)
                    errorf("timeout %s to %s", what, g_socket);
                return false;
            }
        }
    }

    int fd_ = -1;
    std::string buf_;
    bool timed_out_ = false;
};

bool parse_reply(const std::string &line, core::JsonValue &out)
{
    core::JsonLimits lim;
    lim.max_bytes = kMaxReply;
    lim.max_depth = 16;
    lim.max_elements = 1u << 20;
    std::string err;
    if (!core::json_parse(line, out, &err, lim) || !out.is_object()) {
        errorf("bad reply from omr-trackerd: %s", err.empty() ? "not an object" : err.c_str());
        return false;
    }
    return true;
}

// One request, one reply; false (message printed) on any failure, including "ok":false.
bool request(Conn &c, const std::string &req, core::JsonValue &reply)
{
    int64_t deadline = mono_ms() + int64_t(g_timeout_s * 1000);
    if (!c.connect_to(g_socket) || !c.send_line(req, deadline))
        return false;
    std::string line;
    switch (c.read_line(line, deadline)) {
    case Conn::Read::Line:
        break;
    case Conn::Read::Timeout:
        errorf("no reply from %s within %g s", g_socket, g_timeout_s);
        return false;
    case Conn::Read::Closed:
        errorf("%s closed the connection without a reply", g_socket);
        return false;
    case Conn::Read::Error:
        return false;
    }
    if (!parse_reply(line, reply))
        return false;
    const core::JsonValue *ok = reply.get("ok");
    if (!ok || !ok->is_bool() || !ok->as_bool()) {
        const std::string *err = reply.get_string("error");
        errorf("%s", err ? err->c_str() : "request failed");
        return false;
    }
    return true;
}

// --------------------------------------------------------------------------- JSON out

void dump_json(const core::JsonValue &v, std::string &out)
{
    using T = core::JsonValue::Type;
    switch (v.type()) {
    case T::Null:
        out += "null";
        return;
    case T::Bool:
        out += v.as_bool() ? "true" : "false";
        return;
    case T::Number: {
        char buf[40];
        double d = v.as_number();
        if (d == std::floor(d) && std::fabs(d) < 1e15)
            std::snprintf(buf, sizeof(buf), "%.0f", d);
        else
            std::snprintf(buf, sizeof(buf), "%.10g", d);
        out += buf;
        return;
    }
    case T::String:
        core::json_quote(out, v.as_string());
        return;
    case T::Array:
    case T::Object: {
        bool obj = v.is_object();
        out += obj ? '{' : '[';
        for (size_t i = 0; i < v.size(); i++) {
            if (i)
                out += ',';
            if (obj) {
                core::json_quote(out, v.key_at(i));
                out += ':';
            }
            dump_json(v.at(i), out);
        }
        out += obj ? '}' : ']';
        return;
    }
    }
}

void print_json_line(const core::JsonValue &v)
{
    std::string s;
    dump_json(v, s);
    s += '\n';
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

// --------------------------------------------------------------------------- table

const char *colour_of(const std::string &status)
{
    if (!g_color)
        return "";
    if (status == "OK")
        return "\033[32m";
    if (status == "ERROR")
        return "\033[31m";
    return "\033[33m";
}
const char *colour_off()
{
    return g_color ? "\033[0m" : "";
}

std::string str_of(const core::JsonValue &o, const char *key)
{
    const std::string *s = o.get_string(key);
    return s ? *s : std::string();
}

bool num_of(const core::JsonValue &o, const char *key, double &out)
{
    const core::JsonValue *v = o.get(key);
    if (!v || !v->is_number())
        return false;
    out = v->as_number();
    return true;
}

std::string duration(long long s)
{
    if (s < 60)
        return core::strprintf("%llds", s);
    if (s < 3600)
        return core::strprintf("%lldm%02llds", s / 60, s % 60);
    if (s < 86400)
        return core::strprintf("%lldh%02lldm", s / 3600, (s / 60) % 60);
    return core::strprintf("%lldd%02lldh", s / 86400, (s / 3600) % 24);
}

std::string since_text(const core::JsonValue &o)
{
    double since;
    if (!num_of(o, "since", since) || since <= 0)
        return "-";
    long long d = static_cast<long long>(std::time(nullptr)) - static_cast<long long>(since);
    return duration(d < 0 ? 0 : d) + " ago";
}

// Worst latency per slot, scaled to the row's max: ▁..█; × for a slot whose probes
// were all lost (null); a blank for a slot without probes (-1). |cols| = slot count.
std::string sparkline(const core::JsonValue *hist, size_t &cols)
{
    static const char *const bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    cols = 0;
    std::string out;
    if (!hist || !hist->is_array())
        return out;
    double max = 0;
    for (size_t i = 0; i < hist->size(); i++)
        if (hist->at(i).is_number() && hist->at(i).as_number() > max)
            max = hist->at(i).as_number();
    bool red = false; // inside a coloured run of lost slots
    for (size_t i = 0; i < hist->size(); i++, cols++) {
        const core::JsonValue &v = hist->at(i);
        if (g_color && red != v.is_null()) {
            red = v.is_null();
            out += red ? "\033[31m" : "\033[0m";
        }
        if (v.is_null()) {
            out += "×";
        } else if (!v.is_number() || v.as_number() < 0) {
            out += ' ';
        } else {
            int level = max > 0 ? int(std::ceil(v.as_number() / max * 8)) - 1 : 0;
            out += bars[level < 0 ? 0 : level > 7 ? 7 : level];
        }
    }
    if (red)
        out += "\033[0m";
    return out;
}

std::string pad(const std::string &s, size_t width)
{
    return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string rpad(const std::string &s, size_t width)
{
    return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string fmt_num(const core::JsonValue &o, const char *key, const char *fmt)
{
    double v;
    return num_of(o, key, v) ? core::strprintf(fmt, v) : std::string("-");
}

void print_status_table(const core::JsonValue &st)
{
    const core::JsonValue *ifs = st.get("interfaces");
    const core::JsonValue *srvs = st.get("servers");
    size_t namew = 9; // "INTERFACE"
    if (ifs && ifs->is_object())
        for (size_t i = 0; i < ifs->size(); i++)
            namew = std::max(namew, ifs->key_at(i).size());
    if (srvs && srvs->is_object())
        for (size_t i = 0; i < srvs->size(); i++)
            namew = std::max(namew, srvs->key_at(i).size() + 2);
    constexpr size_t kStatusW = 7, kReasonW = 19, kLatW = 9, kLossW = 5, kSinceW = 11;

    if (ifs && ifs->is_object() && ifs->size() > 0) {
        // The history's span, for the column title: slots x step.
        double step = 20;
        size_t slots = 0;
        if (ifs->at(0).is_object()) {
            num_of(ifs->at(0), "history_step_s", step);
            if (const core::JsonValue *h = ifs->at(0).get("latency_history_ms"))
                slots = h->is_array() ? h->size() : 0;
        }
        std::string title = core::strprintf("LAST %.0f MIN", slots * step / 60);
        size_t sparkw = std::max(slots, title.size());
        std::printf("%s %s %s %s %s  %s  %s MESSAGE\n", pad("INTERFACE", namew).c_str(),
                    pad("STATUS", kStatusW).c_str(), pad("REASON", kReasonW).c_str(),
                    rpad("LATENCY", kLatW).c_str(), rpad("LOSS", kLossW).c_str(),
                    pad("SINCE", kSinceW).c_str(), pad(title, sparkw).c_str());
        for (size_t i = 0; i < ifs->size(); i++) {
            const core::JsonValue &o = ifs->at(i);
            if (!o.is_object())
                continue;
            std::string status = str_of(o, "status");
            size_t cols = 0;
            std::string spark = sparkline(o.get("latency_history_ms"), cols);
            if (cols < sparkw)
                spark += std::string(sparkw - cols, ' ');
            std::printf("%s %s%s%s %s %s %s  %s  %s %s\n", pad(ifs->key_at(i), namew).c_str(),
                        colour_of(status), pad(status, kStatusW).c_str(), colour_off(),
                        pad(str_of(o, "reason"), kReasonW).c_str(),
                        rpad(fmt_num(o, "latency_ms", "%.1f ms"), kLatW).c_str(),
                        rpad(fmt_num(o, "loss_pct", "%.0f%%"), kLossW).c_str(),
                        pad(since_text(o), kSinceW).c_str(), spark.c_str(),
                        str_of(o, "message").c_str());
        }
    }
    if (srvs && srvs->is_object() && srvs->size() > 0) {
        if (ifs && ifs->is_object() && ifs->size() > 0)
            std::printf("\n");
        std::printf("%s %s %s %s  %s MESSAGE\n", pad("  SERVER", namew).c_str(),
                    pad("STATUS", kStatusW).c_str(), pad("REASON", kReasonW).c_str(),
                    pad("SINCE", kSinceW).c_str(), pad("ADDRESSES", 24).c_str());
        for (size_t i = 0; i < srvs->size(); i++) {
            const core::JsonValue &o = srvs->at(i);
            if (!o.is_object())
                continue;
            const core::JsonValue *cur = o.get("current");
            bool current = cur && cur->is_bool() && cur->as_bool();
            std::string addrs;
            if (const core::JsonValue *a = o.get("addresses"); a && a->is_array())
                for (size_t k = 0; k < a->size(); k++)
                    if (a->at(k).is_string())
                        addrs += (addrs.empty() ? "" : ",") + a->at(k).as_string();
            if (addrs.empty())
                addrs = "-";
            std::string status = str_of(o, "status");
            std::printf("%s %s%s%s %s %s  %s %s\n",
                        pad((current ? "* " : "  ") + srvs->key_at(i), namew).c_str(),
                        colour_of(status), pad(status, kStatusW).c_str(), colour_off(),
                        pad(str_of(o, "reason"), kReasonW).c_str(),
                        pad(since_text(o), kSinceW).c_str(), pad(addrs, 24).c_str(),
                        str_of(o, "message").c_str());
        }
    }
    if (const core::JsonValue *d = st.get("daemon"); d && d->is_object()) {
        double uptime = 0, cpu = 0, rss = 0, lag = 0, fds = 0;
        num_of(*d, "uptime_s", uptime);
        num_of(*d, "cpu_ms", cpu);
        num_of(*d, "rss_kb", rss);
        num_of(*d, "loop_lag_ms", lag);
        num_of(*d, "open_fds", fds);
        std::printf("\ndaemon: pid %s, version %s, up %s, cpu %.2f s, rss %.0f kB, loop lag "
                    "%.2f ms, %.0f fds\n",
                    fmt_num(*d, "pid", "%.0f").c_str(), str_of(*d, "version").c_str(),
                    duration(static_cast<long long>(uptime)).c_str(), cpu / 1000, rss, lag, fds);
        if (const std::string *e = d->get_string("status_write_error"))
            std::printf("status file: %s\n", e->c_str());
    }
}

// --------------------------------------------------------------------------- commands

int cmd_status(bool json)
{
    Conn c;
    core::JsonValue reply;
    if (!request(c, "{\"cmd\":\"status\"}", reply))
        return kExitFail;
    const core::JsonValue *st = reply.get("status");
    if (!st || !st->is_object()) {
        std::fputs("omr-trackerctl: reply without a status\n", stderr);
        return kExitFail;
    }
    if (json)
        print_json_line(*st);
    else
        print_status_table(*st);
    return kExitOk;
}

int cmd_recheck(const char *name)
{
    core::JsonWriter w;
    w.begin_object();
    w.kv("cmd", "recheck");
    if (name)
        w.kv("name", name);
    w.end_object();
    Conn c;
    core::JsonValue reply;
    return request(c, w.str(), reply) ? kExitOk : kExitFail;
}

int cmd_reload()
{
    Conn c;
    core::JsonValue reply;
    if (request(c, "{\"cmd\":\"reload\"}", reply))
        return kExitOk;
    // request() printed the summary; the daemon's list follows, one error a line.
    if (const core::JsonValue *errs = reply.get("errors"); errs && errs->is_array())
        for (size_t i = 0; i < errs->size(); i++)
            if (errs->at(i).is_string())
                std::fprintf(stderr, "  %s\n", errs->at(i).as_string().c_str());
    return kExitFail;
}

// Streams the watch: |on_status| gets the status document of the reply and of each
// event; returns true to stop. Returns the exit status.
template <class F>
int stream_watch(int64_t deadline_ms, F on_status)
{
    Conn c;
    int64_t req_deadline = mono_ms() + int64_t(g_timeout_s * 1000);
    if (deadline_ms >= 0 && deadline_ms < req_deadline)
        req_deadline = deadline_ms;
    if (!c.connect_to(g_socket) || !c.send_line("{\"cmd\":\"watch\"}", req_deadline))
        return kExitFail;
    bool first = true;
    for (;;) {
        std::string line;
        switch (c.read_line(line, first ? req_deadline : deadline_ms)) {
        case Conn::Read::Line:
            break;
        case Conn::Read::Timeout:
            if (first && (deadline_ms < 0 || req_deadline < deadline_ms)) {
                std::fprintf(stderr, "omr-trackerctl: no reply from %s within %g s\n", g_socket,
                             g_timeout_s);
                return kExitFail;
            }
            return -1; // the caller's deadline: it decides what that means
        case Conn::Read::Closed:
            std::fprintf(stderr, "omr-trackerctl: %s closed the connection\n", g_socket);
            return kExitFail;
        case Conn::Read::Error:
            return kExitFail;
        }
        core::JsonValue v;
        if (!parse_reply(line, v))
            return kExitFail;
        if (first) {
            const core::JsonValue *ok = v.get("ok");
            if (!ok || !ok->is_bool() || !ok->as_bool()) {
                const std::string *err = v.get_string("error");
                std::fprintf(stderr, "omr-trackerctl: %s\n", err ? err->c_str() : "watch failed");
                return kExitFail;
            }
            first = false;
        }
        const core::JsonValue *st = v.get("status");
        if (st && st->is_object() && on_status(*st))
            return kExitOk;
    }
}

int cmd_watch()
{
    return stream_watch(-1, [](const core::JsonValue &st) {
        print_json_line(st);
        return false;
    });
}

int cmd_wait(const char *name, std::string want, const char *want_reason, double timeout_s)
{
    int64_t start = mono_ms();
    std::string seen = "not in the status";
    auto matches = [&](const core::JsonValue &st) {
        const core::JsonValue *e = nullptr;
        for (const char *group : {"interfaces", "servers"}) {
            const core::JsonValue *g = st.get(group);
            if (!e && g && g->is_object())
                e = g->get(name);
        }
        if (!e || !e->is_object()) {
            seen = "not in the status";
            return false;
        }
        std::string status = str_of(*e, "status");
        std::string reason = str_of(*e, "reason");
        seen = status + " (" + reason + ")";
        return status == want && (!want_reason || reason == want_reason);
    };
    int rc = stream_watch(start + int64_t(timeout_s * 1000), matches);
    if (rc == kExitOk) {
        std::printf("%lld\n", static_cast<long long>(mono_ms() - start));
        return kExitOk;
    }
    if (rc < 0) {
        std::fprintf(stderr, "omr-trackerctl: timeout after %g s: %s is %s, not %s%s%s\n",
                     timeout_s, name, seen.c_str(), want.c_str(), want_reason ? " " : "",
                     want_reason ? want_reason : "");
        return kExitFail;
    }
    return rc;
}

// --------------------------------------------------------------------------- metrics

// The status document from the daemon's status file. A file whose daemon is gone (its pid
// no longer exists) is stale: reported as the daemon not answering.
bool status_from_file(const char *path, core::JsonValue &st)
{
    std::string text, err;
    if (!core::read_file(path, text, kMaxReply, &err)) {
        errorf("%s", err.c_str());
        return false;
    }
    core::JsonLimits lim;
    lim.max_bytes = kMaxReply;
    lim.max_depth = 16;
    lim.max_elements = 1u << 20;
    if (!core::json_parse(text, st, &err, lim) || !st.is_object()) {
        errorf("%s: not a status document: %s", path, err.empty() ? "not an object" : err.c_str());
        return false;
    }
    const core::JsonValue *d = st.get("daemon");
    const core::JsonValue *pid = d && d->is_object() ? d->get("pid") : nullptr;
    if (pid && pid->is_number() && pid->as_number() >= 1 && pid->as_number() < 4194305) {
        if (kill(pid_t(pid->as_number()), 0) < 0 && errno == ESRCH) {
            errorf("%s is stale: omr-trackerd (pid %.0f) is not running", path, pid->as_number());
            return false;
        }
    }
    return true;
}

int cmd_metrics(const char *output, const char *status_file)
{
    core::JsonValue st;
    bool ok;
    if (status_file) {
        ok = status_from_file(status_file, st);
    } else {
        Conn c;
        core::JsonValue reply;
        ok = request(c, "{\"cmd\":\"status\"}", reply);
        if (ok) {
            const core::JsonValue *doc = reply.get("status");
            if (!doc || !doc->is_object()) {
                errorf("reply without a status");
                ok = false;
            } else {
                st = *doc;
            }
        }
    }
    std::string text = ok ? ctl::metrics_text(st) : ctl::metrics_down_text();
    if (output) {
        std::string err;
        if (!core::write_file_atomic(output, text, 0644, &err)) {
            errorf("%s", err.c_str());
            return kExitFail;
        }
    } else {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
    }
    return ok ? kExitOk : kExitFail;
}

// --------------------------------------------------------------------------- rpcd

// rpcd writes the argument object to the pipe; read until it is complete or the pipe ends
// (bounded in size and time). A terminal on stdin (someone trying it by hand) means no
// arguments.
bool read_rpcd_args(std::string &text)
{
    if (isatty(STDIN_FILENO))
        return true;
    int64_t deadline = mono_ms() + 5000;
    char buf[4096];
    for (;;) {
        int64_t left = deadline - mono_ms();
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int r = left > 0 ? poll(&p, 1, int(left)) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            // No end of input in time: take what came if it is a whole object.
            core::JsonValue v;
            return core::json_parse(text, v, nullptr) && v.is_object();
        }
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return true;
        text.append(buf, size_t(n));
        if (text.size() > 64 * 1024)
            return false;
        // One object is all rpcd sends: done as soon as it is complete, whether or not
        // rpcd closes the pipe after it.
        core::JsonValue v;
        if (core::json_parse(text, v, nullptr) && v.is_object())
            return true;
    }
}

void print_line(const std::string &json)
{
    std::string s = json + '\n';
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

int cmd_rpcd(int nargs, char **args)
{
    if (nargs == 1 && std::strcmp(args[0], "list") == 0) {
        print_line(ctl::rpcd_signatures());
        return kExitOk;
    }
    if (nargs != 2 || std::strcmp(args[0], "call") != 0) {
        print_line(ctl::rpcd_error("usage: omr-trackerctl rpcd list|call METHOD"));
        return kExitUsage;
    }
    const std::string method = args[1];
    std::string in, err;
    core::JsonValue a;
    if (!read_rpcd_args(in)) {
        print_line(ctl::rpcd_error("cannot read the arguments (more than 64 KiB, or no end)"));
        return kExitFail;
    }
    if (!ctl::rpcd_parse_args(in, a, &err)) {
        print_line(ctl::rpcd_error(err));
        return kExitFail;
    }
    g_err_sink = &err;
    core::JsonValue reply;
    Conn c;
    if (method == "status") {
        if (request(c, "{\"cmd\":\"status\"}", reply)) {
            const core::JsonValue *st = reply.get("status");
            if (st && st->is_object()) {
                std::string out;
                dump_json(*st, out);
                print_line(out);
                return kExitOk;
            }
            err = "reply without a status";
        }
    } else if (method == "recheck") {
        const core::JsonValue *n = a.get("name");
        if (n && !n->is_string()) {
            print_line(ctl::rpcd_error("recheck: \"name\" must be a string"));
            return kExitFail;
        }
        core::JsonWriter w;
        w.begin_object();
        w.kv("cmd", "recheck");
        if (n && !n->as_string().empty())
            w.kv("name", n->as_string());
        w.end_object();
        if (request(c, w.str(), reply)) {
            core::JsonWriter o;
            o.begin_object();
            o.kv("ok", true);
            o.kv("name", n ? n->as_string() : std::string());
            o.end_object();
            print_line(o.str());
            return kExitOk;
        }
    } else if (method == "reload") {
        if (request(c, "{\"cmd\":\"reload\"}", reply)) {
            print_line("{\"ok\":true}");
            return kExitOk;
        }
        // The daemon's list of configuration errors goes along.
        if (const core::JsonValue *errs = reply.get("errors"); errs && errs->is_array()) {
            core::JsonWriter o;
            o.begin_object();
            o.kv("ok", false);
            o.kv("error", err.empty() ? std::string("reload failed") : err);
            o.key("errors");
            o.begin_array();
            for (size_t i = 0; i < errs->size(); i++)
                if (errs->at(i).is_string())
                    o.value(errs->at(i).as_string());
            o.end_array();
            o.end_object();
            print_line(o.str());
            return kExitFail;
        }
    } else {
        print_line(ctl::rpcd_error("unknown method '" + method + "'"));
        return kExitUsage;
    }
    print_line(ctl::rpcd_error(err.empty() ? std::string("request failed") : err));
    return kExitFail;
}

bool parse_seconds(const char *s, double &out)
{
    return core::parse_decimal(s, out) && out > 0 && out <= 86400 * 365;
}

} // namespace

int main(int argc, char **argv)
{
    if (const char *env = std::getenv("OMR_TRACKERD_SOCKET"); env && *env)
        g_socket = env;
    int opt;
    while ((opt = getopt(argc, argv, "+s:t:h")) != -1) {
        switch (opt) {
        case 's':
            g_socket = optarg;
            break;
        case 't':
            if (!parse_seconds(optarg, g_timeout_s))
                return usage_error("bad -t value '%s' (seconds, e.g. 10)", optarg);
            break;
        case 'h':
            usage(stdout);
            return kExitOk;
        default:
            usage(stderr);
            return kExitUsage;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return kExitUsage;
    }
    g_color = isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
    std::string cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;

    if (cmd == "status") {
        bool json = false;
        for (int i = 0; i < nargs; i++) {
            if (std::strcmp(args[i], "--json") == 0)
                json = true;
            else
                return usage_error("status: unexpected argument '%s'", args[i]);
        }
        return cmd_status(json);
    }
    if (cmd == "recheck") {
        if (nargs > 1)
            return usage_error("recheck: unexpected argument '%s' (one NAME at most)", args[1]);
        return cmd_recheck(nargs == 1 ? args[0] : nullptr);
    }
    if (cmd == "reload" || cmd == "watch") {
        if (nargs > 0)
            return usage_error("%s takes no arguments", cmd.c_str());
        return cmd == "reload" ? cmd_reload() : cmd_watch();
    }
    if (cmd == "wait") {
        const char *pos[2] = {nullptr, nullptr};
        int npos = 0;
        const char *reason = nullptr;
        double timeout_s = 30;
        for (int i = 0; i < nargs; i++) {
            if (std::strcmp(args[i], "--reason") == 0 && i + 1 < nargs) {
                reason = args[++i];
                omrt::Reason r;
                if (!omrt::reason_from_name(reason, r))
                    return usage_error("wait: unknown reason code '%s'", reason);
            } else if (std::strcmp(args[i], "--timeout") == 0 && i + 1 < nargs) {
                if (!parse_seconds(args[++i], timeout_s))
                    return usage_error("wait: bad --timeout '%s' (seconds)", args[i]);
            } else if (args[i][0] != '-' && npos < 2) {
                pos[npos++] = args[i];
            } else {
                return usage_error("wait: unexpected argument '%s'", args[i]);
            }
        }
        if (npos != 2)
            return usage_error("wait: %s", "usage: wait NAME STATUS [--reason CODE] "
                                           "[--timeout SECONDS]");
        std::string want = pos[1];
        for (char &ch : want)
            ch = char(std::toupper(static_cast<unsigned char>(ch)));
        if (want != "OK" && want != "ERROR" && want != "UNKNOWN")
            return usage_error("wait: STATUS must be OK, ERROR or UNKNOWN, not '%s'", pos[1]);
        return cmd_wait(pos[0], want, reason, timeout_s);
    }
    if (cmd == "metrics") {
        const char *output = nullptr, *status_file = nullptr;
        for (int i = 0; i < nargs; i++) {
            if (std::strcmp(args[i], "--output") == 0 && i + 1 < nargs)
                output = args[++i];
            else if (std::strcmp(args[i], "--status-file") == 0 && i + 1 < nargs)
                status_file = args[++i];
            else
                return usage_error("metrics: unexpected argument '%s'", args[i]);
        }
        return cmd_metrics(output, status_file);
    }
    if (cmd == "rpcd")
        return cmd_rpcd(nargs, args);
    return usage_error("unknown command '%s'", cmd.c_str());
}
