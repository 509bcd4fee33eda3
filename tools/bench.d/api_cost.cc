// omrt-bench-api: the client-side cost of one VPS API check, for tools/bench (sections 5
// and 6).
//
// The daemon's own API client (src/api: ApiClient over mbedTLS, the `insecure` policy of
// a default OMR setup) does the check the server tracker does every round: GET / (health).
// Three ways, each measured the same:
//   full      a new TCP connection and a full TLS handshake per check (session
//             resumption switched off: TlsSettings::resume_sessions = false)
//   resumed   a new TCP connection per check that resumes the saved TLS session
//   keepalive the next request on the kept-alive connection (the daemon keeps one 4 s)
//
//   omrt-bench-api --host ADDR [--port P] [--device DEV] [--source ADDR] [--sni NAME]
//                  [--password-file F] [--modes full,resumed,keepalive] [-n CHECKS]
//
// Prints one JSON line per mode: checks, CPU µs per check (getrusage of this process,
// user + system; the server is another process), handshakes, bytes. Each mode starts
// with two warm-up checks (RNG seeding, the first session, the first connection).
// Under `valgrind --tool=callgrind` the counters are zeroed right before the check() call
// of the first counted check and dumped right after the loop returned from its
// completion callback: one dump per mode, holding exactly one check.
#include "api/client.h"
#include "api/tls.h"
#include "core/log.h"
#include "core/loop.h"
#include "omrt/clock.h"

#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <syslog.h>
#include <vector>

namespace {

double cpu_us()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

struct Waiter {
    core::Loop *loop;
    api::CheckResult r;
    bool done = false;
};

void on_result(void *ctx, const api::CheckResult &r) noexcept
{
    Waiter *w = static_cast<Waiter *>(ctx);
    w->r = r;
    w->done = true;
    w->loop->break_loop();
}

void on_watchdog(void *ctx) noexcept
{
    static_cast<core::Loop *>(ctx)->break_loop();
}

// One check, run to completion on the loop. |counted|: the callgrind region.
bool run_check(core::Loop &loop, api::ApiClient &c, bool counted, std::string *why)
{
    Waiter w{&loop, {}, false};
    core::Timer watchdog(loop, on_watchdog, &loop);
    watchdog.start(60.0);
    if (counted)
        CALLGRIND_ZERO_STATS;
    if (!c.check(api::CheckKind::health, on_result, &w)) {
        *why = "check() refused (busy)";
        return false;
    }
    loop.run();
    if (counted)
        CALLGRIND_DUMP_STATS_AT("omrt-bench-api");
    if (!w.done) {
        c.cancel();
        *why = "no result within 60 s";
        return false;
    }
    if (!w.r.ok)
        *why = w.r.message;
    return w.r.ok;
}

struct Options {
    std::string host, device, source, sni, password_file;
    unsigned port = 65500;
    unsigned n = 100;
    std::vector<std::string> modes{"full", "resumed", "keepalive"};
};

std::string read_secret(const std::string &path)
{
    std::string s;
    if (FILE *f = std::fopen(path.c_str(), "r")) {
        char buf[256];
        if (std::fgets(buf, sizeof buf, f))
            s = buf;
        std::fclose(f);
    }
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

int usage()
{
    std::fprintf(stderr,
                 "usage: omrt-bench-api --host ADDR [--port P] [--device DEV] [--source ADDR]\n"
                 "                      [--sni NAME] [--password-file F]\n"
                 "                      [--modes full,resumed,keepalive] [-n CHECKS]\n");
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc)
            return usage();
        std::string v = argv[++i];
        if (a == "--host")
            o.host = v;
        else if (a == "--port")
            o.port = unsigned(std::strtoul(v.c_str(), nullptr, 10));
        else if (a == "--device")
            o.device = v;
        else if (a == "--source")
            o.source = v;
        else if (a == "--sni")
            o.sni = v;
        else if (a == "--password-file")
            o.password_file = v;
        else if (a == "-n")
            o.n = unsigned(std::strtoul(v.c_str(), nullptr, 10));
        else if (a == "--modes") {
            o.modes.clear();
            size_t start = 0;
            while (start <= v.size()) {
                size_t comma = v.find(',', start);
                if (comma == std::string::npos)
                    comma = v.size();
                o.modes.push_back(v.substr(start, comma - start));
                start = comma + 1;
            }
        } else
            return usage();
    }
    if (o.host.empty() || o.n < 1 || o.port < 1 || o.port > 65535)
        return usage();
    core::log_init("omrt-bench-api", core::LogSink::Stderr, LOG_WARNING);

    omrt::SystemClock clock;
    core::Loop loop;
    int rc = 0;
    for (const std::string &mode : o.modes) {
        bool resume = mode != "full";
        uint32_t idle_ms = mode == "keepalive" ? 4000 : 0;
        if (mode != "full" && mode != "resumed" && mode != "keepalive")
            return usage();
        api::TlsPolicy tls(clock, nullptr);
        api::TlsSettings ts;
        ts.name = "bench";
        ts.policy = api::CertPolicy::insecure;
        ts.resume_sessions = resume;
        std::string err;
        if (!tls.setup(ts, &err)) {
            std::fprintf(stderr, "omrt-bench-api: TLS setup: %s\n", err.c_str());
            return 1;
        }
        api::ApiClient c(loop, clock, tls);
        api::ApiConfig ac;
        ac.name = "bench";
        ac.target.host = o.host;
        ac.target.port = uint16_t(o.port);
        ac.target.sni = o.sni;
        ac.target.device = o.device;
        ac.target.source = o.source;
        ac.target.via = o.device;
        if (!o.password_file.empty())
            ac.password = read_secret(o.password_file);
        ac.timeouts.idle_ms = idle_ms;
        c.configure(ac);
        std::string why;
        for (int w = 0; w < 2; w++)
            if (!run_check(loop, c, false, &why)) {
                std::fprintf(stderr, "omrt-bench-api: %s: warm-up check failed: %s\n", mode.c_str(),
                             why.c_str());
                return 1;
            }
        api::ConnCounters k0 = c.counters();
        double t0 = cpu_us();
        unsigned ok = 0;
        for (unsigned i = 0; i < o.n; i++) {
            if (!run_check(loop, c, i == 0, &why)) {
                std::fprintf(stderr, "omrt-bench-api: %s: check %u failed: %s\n", mode.c_str(), i,
                             why.c_str());
                rc = 1;
                break;
            }
            ok++;
        }
        double t1 = cpu_us();
        const api::ConnCounters &k = c.counters();
        if (ok == 0)
            continue;
        std::printf("{\"mode\": \"%s\", \"checks\": %u, \"cpu_us_per_check\": %.1f, "
                    "\"full_handshakes\": %llu, \"resumed\": %llu, \"reused\": %llu, "
                    "\"connects\": %llu, \"bytes_in_per_check\": %.0f, "
                    "\"bytes_out_per_check\": %.0f}\n",
                    mode.c_str(), ok, (t1 - t0) / ok,
                    static_cast<unsigned long long>(k.full_handshakes - k0.full_handshakes),
                    static_cast<unsigned long long>(k.resumed - k0.resumed),
                    static_cast<unsigned long long>(k.reused - k0.reused),
                    static_cast<unsigned long long>(k.connects - k0.connects),
                    double(k.bytes_in - k0.bytes_in) / ok, double(k.bytes_out - k0.bytes_out) / ok);
        std::fflush(stdout);
    }
    return rc;
}
