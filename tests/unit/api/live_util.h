// Helpers for the live TLS tests: a throw-away PKI made with the openssl CLI, the
// project's fake VPS API (tools/fakevps.py) as a child process with its control socket,
// and running one ApiClient check on the real loop with a watchdog.
#pragma once

#include "api/client.h"
#include "core/json.h"
#include "core/loop.h"

#include <string>
#include <sys/types.h>
#include <vector>

namespace apitest {

// Runs a shell command; true if it exited 0.
bool sh(const std::string &cmd);

struct TempDir {
    std::string path;
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
};

// Certificates for the tests, made once per process under a temp dir:
//   rsa.pem/rsa.key     self-signed RSA-2048, CN=www.openmptcprouter.vps, like a real VPS
//   rsa2.pem/rsa2.key   another self-signed RSA-2048 key (a "changed" VPS certificate)
//   ca.pem/ca.key       a P-256 test CA
//   leaf.pem/leaf.key   P-256, signed by the CA, SAN DNS:vps.test, IP:127.0.0.1, IP:::1
//   future.pem/.key     like leaf, but valid only from 2099 (clock tests)
struct Pki {
    std::string dir;
    std::string file(const char *name) const { return dir + "/" + name; }
};
// nullptr (with a message on stderr) if openssl failed.
const Pki *pki();

// tools/fakevps.py of this source tree; "" if missing.
std::string fakevps_path();

class FakeVps {
public:
    FakeVps() = default;
    ~FakeVps() { stop(); }
    FakeVps(const FakeVps &) = delete;
    FakeVps &operator=(const FakeVps &) = delete;

    // Starts "fakevps.py serve" on |bind| (e.g. "127.0.0.1" or "127.0.0.1,::1") at a free
    // port, waits until it listens (pidfile), with |extra| arguments appended.
    bool start(const std::string &bind, const std::string &cert, const std::string &key,
               const std::string &password, const std::vector<std::string> &extra = {});
    void stop();
    // A control command; the parsed JSON answer (null on failure).
    core::JsonValue ctl(const std::vector<std::string> &argv);
    bool ctl_ok(const std::vector<std::string> &argv);
    // A numeric field of "stats" (-1 if missing).
    long stat(const char *field);
    // Waits (up to 5 s) until stat(field) == value: the server counts in its own threads.
    bool wait_stat(const char *field, long value);
    int port() const { return port_; }
    const std::string &log_path() const { return log_; }

private:
    TempDir dir_;
    pid_t pid_ = -1;
    int port_ = 0;
    std::string sock_;
    std::string log_;
};

// Runs one check on the default loop (watchdog: 30 s); the result, or a result with
// reason internal and message "watchdog" if the callback never came.
api::CheckResult run_check(core::Loop &loop, api::ApiClient &c, api::CheckKind kind);

// Runs the loop for |seconds| (for "nothing must happen" checks).
void run_for(core::Loop &loop, double seconds);

// Runs the loop until |cond| holds (checked every 10 ms) or |timeout_s| passes.
template <class F>
bool run_until(core::Loop &loop, F cond, double timeout_s)
{
    struct Ctx {
        core::Loop *loop;
        F *cond;
        int left;
        bool met = false;
    } ctx{&loop, &cond, int(timeout_s * 100), false};
    if (cond())
        return true;
    core::Timer t(
            loop,
            [](void *p) noexcept {
                auto *x = static_cast<Ctx *>(p);
                x->met = (*x->cond)();
                if (x->met || --x->left <= 0)
                    x->loop->break_loop();
            },
            &ctx);
    t.start(0.01, 0.01);
    loop.run();
    return ctx.met;
}

// Captures everything written to fd 2 (core/log.h's stderr sink) into a file while alive.
class StderrCapture {
public:
    StderrCapture();
    ~StderrCapture();
    std::string text() const; // what was captured so far
private:
    int saved_ = -1;
    std::string path_;
};

} // namespace apitest
