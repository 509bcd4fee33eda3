#include "live_util.h"

#include "core/files.h"
#include "core/str.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef OMRT_SOURCE_DIR
#error "OMRT_SOURCE_DIR must be defined by the build"
#endif

namespace apitest {

namespace {

int64_t now_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// A port free on 127.0.0.1 and ::1 right now (the server binds it a moment later; a
// collision shows as a failed start, which start() retries).
int free_port()
{
    for (int attempt = 0; attempt < 20; attempt++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a = {};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(a);
        if (bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a)) < 0 ||
            getsockname(s, reinterpret_cast<sockaddr *>(&a), &len) < 0) {
            close(s);
            continue;
        }
        int port = ntohs(a.sin_port);
        close(s);
        int s6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in6 b = {};
        b.sin6_family = AF_INET6;
        b.sin6_addr = in6addr_loopback;
        b.sin6_port = htons(uint16_t(port));
        int one = 1;
        setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        bool ok = bind(s6, reinterpret_cast<sockaddr *>(&b), sizeof(b)) == 0 ||
                  errno == EADDRNOTAVAIL;
        close(s6);
        if (ok)
            return port;
    }
    return 0;
}

bool file_exists(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

std::string make_pki()
{
    char t[] = "/tmp/omrt-api-pki-XXXXXX";
    if (!mkdtemp(t))
        return std::string();
    std::string d = t;
    std::string q = "'" + d + "'";
    // P-256 CA and leaf (environment.md §3), RSA-2048 self-signed like a VPS, and a leaf
    // valid only from 2099 made with "openssl ca -startdate".
    std::string script =
            "set -e; cd " + q +
            "\n"
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout ca.key -out ca.pem -days 3650 -subj '/CN=omrt test CA' "
            "-addext basicConstraints=critical,CA:TRUE "
            "-addext keyUsage=critical,keyCertSign,cRLSign\n"
            "printf 'subjectAltName=DNS:vps.test,IP:127.0.0.1,IP:::1\\n"
            "extendedKeyUsage=serverAuth\\n' > ext.cnf\n"
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key "
            "-out leaf.csr -subj /CN=vps.test\n"
            "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem "
            "-days 3650 -extfile ext.cnf\n"
            "for n in rsa rsa2; do openssl req -x509 -newkey rsa:2048 -nodes -keyout $n.key "
            "-out $n.pem -days 3650 -subj /CN=www.openmptcprouter.vps; done\n"
            "mkdir -p db; : > db/index.txt; echo 1000 > db/serial\n"
            "cat > ca.cnf <<EOF\n"
            "[ca]\ndefault_ca = d\n[d]\ndir = " +
            d +
            "/db\ndatabase = \\$dir/index.txt\nnew_certs_dir = \\$dir\nserial = \\$dir/serial\n"
            "default_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n"
            "EOF\n"
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout future.key -out future.csr -subj /CN=vps.test\n"
            "openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key "
            "-in future.csr -out future.pem -startdate 20990101000000Z "
            "-enddate 21000101000000Z -extfile ext.cnf\n";
    std::string cmd = "( " + script + ") >" + q + "/openssl.log 2>&1";
    if (std::system(cmd.c_str()) != 0) {
        std::string log;
        core::read_file(d + "/openssl.log", log, 1 << 16, nullptr);
        std::fprintf(stderr, "test PKI generation failed:\n%s\n", log.c_str());
        return std::string();
    }
    return d;
}

struct PkiHolder {
    Pki pki;
    bool ok = false;
    PkiHolder()
    {
        pki.dir = make_pki();
        ok = !pki.dir.empty();
    }
    ~PkiHolder()
    {
        if (ok)
            sh("rm -rf '" + pki.dir + "'");
    }
};

} // namespace

bool sh(const std::string &cmd)
{
    return std::system(cmd.c_str()) == 0;
}

TempDir::TempDir()
{
    char t[] = "/tmp/omrt-api-XXXXXX";
    if (mkdtemp(t))
        path = t;
}

TempDir::~TempDir()
{
    if (!path.empty())
        sh("rm -rf '" + path + "'");
}

const Pki *pki()
{
    static PkiHolder holder;
    return holder.ok ? &holder.pki : nullptr;
}

std::string fakevps_path()
{
    std::string p = std::string(OMRT_SOURCE_DIR) + "/tools/fakevps.py";
    return file_exists(p) ? p : std::string();
}

bool FakeVps::start(const std::string &bind, const std::string &cert, const std::string &key,
                    const std::string &password, const std::vector<std::string> &extra)
{
    std::string script = fakevps_path();
    if (script.empty() || dir_.path.empty())
        return false;
    std::string pwfile = dir_.path + "/password";
    if (!core::write_file_atomic(pwfile, password + "\n", 0600, nullptr))
        return false;
    sock_ = dir_.path + "/ctl.sock";
    log_ = dir_.path + "/fakevps.log";
    std::string pidfile = dir_.path + "/pid";
    for (int attempt = 0; attempt < 3; attempt++) {
        port_ = free_port();
        std::vector<std::string> args = {"python3",
                                         script,
                                         "serve",
                                         "--bind",
                                         bind,
                                         "--port",
                                         std::to_string(port_),
                                         "--cert",
                                         cert,
                                         "--key",
                                         key,
                                         "--password-file",
                                         pwfile,
                                         "--control",
                                         sock_,
                                         "--pidfile",
                                         pidfile,
                                         "--log",
                                         log_};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_t pid = fork();
        if (pid < 0)
            return false;
        if (pid == 0) {
            std::vector<char *> av;
            for (std::string &a : args)
                av.push_back(&a[0]);
            av.push_back(nullptr);
            int devnull = open("/dev/null", O_RDWR);
            dup2(devnull, 0);
            execvp("python3", av.data());
            _exit(127);
        }
        pid_ = pid;
        // Wait for the pidfile (written once listening) or the child's exit.
        int64_t deadline = now_ms() + 15000;
        while (now_ms() < deadline) {
            if (file_exists(pidfile))
                return true;
            int st;
            if (waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                break;
            }
            poll(nullptr, 0, 10);
        }
        stop();
    }
    std::string log;
    core::read_file(log_, log, 1 << 16, nullptr);
    std::fprintf(stderr, "fakevps did not start:\n%s\n", log.c_str());
    return false;
}

void FakeVps::stop()
{
    if (pid_ <= 0)
        return;
    kill(pid_, SIGTERM);
    int64_t deadline = now_ms() + 5000;
    int st;
    while (waitpid(pid_, &st, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &st, 0);
            break;
        }
        poll(nullptr, 0, 10);
    }
    pid_ = -1;
}

core::JsonValue FakeVps::ctl(const std::vector<std::string> &argv)
{
    core::JsonValue v;
    core::JsonWriter w;
    w.begin_array();
    for (const std::string &a : argv)
        w.value(a);
    w.end_array();
    std::string req = w.str() + "\n";
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, sock_.c_str(), sizeof(sa.sun_path) - 1);
    struct timeval tv = {15, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(s, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0 ||
        write(s, req.data(), req.size()) != ssize_t(req.size())) {
        close(s);
        return v;
    }
    std::string ans;
    char buf[4096];
    ssize_t n;
    while ((n = read(s, buf, sizeof(buf))) > 0) {
        ans.append(buf, size_t(n));
        if (!ans.empty() && ans.back() == '\n')
            break;
    }
    close(s);
    core::json_parse(ans, v, nullptr);
    return v;
}

bool FakeVps::ctl_ok(const std::vector<std::string> &argv)
{
    core::JsonValue v = ctl(argv);
    const core::JsonValue *ok = v.get("ok");
    return ok && ok->is_bool() && ok->as_bool();
}

long FakeVps::stat(const char *field)
{
    core::JsonValue v = ctl({"stats"});
    const core::JsonValue *f = v.get(field);
    return f && f->is_number() ? long(f->as_number()) : -1;
}

bool FakeVps::wait_stat(const char *field, long value)
{
    int64_t deadline = now_ms() + 5000;
    for (;;) {
        if (stat(field) == value)
            return true;
        if (now_ms() > deadline)
            return false;
        poll(nullptr, 0, 10);
    }
}

api::CheckResult run_check(core::Loop &loop, api::ApiClient &c, api::CheckKind kind)
{
    struct Ctx {
        core::Loop *loop;
        api::CheckResult r;
        bool done = false;
    } ctx{&loop, {}, false};
    core::Timer watchdog(
            loop, [](void *p) noexcept { static_cast<Ctx *>(p)->loop->break_loop(); }, &ctx);
    watchdog.start(30.0);
    bool started = c.check(
            kind,
            [](void *p, const api::CheckResult &r) noexcept {
                auto *x = static_cast<Ctx *>(p);
                x->r = r;
                x->done = true;
                x->loop->break_loop();
            },
            &ctx);
    if (!started) {
        ctx.r.reason = omrt::Reason::internal;
        ctx.r.message = "busy";
        return ctx.r;
    }
    loop.run();
    if (!ctx.done) {
        c.cancel();
        ctx.r.reason = omrt::Reason::internal;
        ctx.r.message = "watchdog";
    }
    return ctx.r;
}

void run_for(core::Loop &loop, double seconds)
{
    core::Timer t(
            loop, [](void *p) noexcept { static_cast<core::Loop *>(p)->break_loop(); }, &loop);
    t.start(seconds);
    loop.run();
}

StderrCapture::StderrCapture()
{
    char t[] = "/tmp/omrt-api-stderr-XXXXXX";
    int fd = mkstemp(t);
    if (fd < 0)
        return;
    path_ = t;
    fflush(stderr);
    saved_ = dup(2);
    dup2(fd, 2);
    close(fd);
}

StderrCapture::~StderrCapture()
{
    if (saved_ >= 0) {
        fflush(stderr);
        dup2(saved_, 2);
        close(saved_);
    }
    if (!path_.empty())
        unlink(path_.c_str());
}

std::string StderrCapture::text() const
{
    fflush(stderr);
    std::string s;
    core::read_file(path_, s, 16 << 20, nullptr);
    return s;
}

} // namespace apitest
