#include "testnet.h"

#include "core/files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace testnet {

bool is_root()
{
    return geteuid() == 0;
}

ScopedNetns::~ScopedNetns()
{
    if (orig_ >= 0) {
        (void)setns(orig_, CLONE_NEWNET);
        ::close(orig_);
    }
}

bool ScopedNetns::enter(std::string *err)
{
    orig_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig_ < 0 || unshare(CLONE_NEWNET) < 0) {
        if (err)
            *err = std::string("cannot create a network namespace: ") + strerror(errno);
        return false;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP;
    ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    if (s >= 0)
        ::close(s);
    if (!ok && err)
        *err = std::string("cannot bring lo up: ") + strerror(errno);
    return ok;
}

bool ScopedNetns::sysctl(const char *name, const char *value)
{
    std::string path = std::string("/proc/sys/") + name;
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = write(fd, value, strlen(value));
    ::close(fd);
    return n == ssize_t(strlen(value));
}

std::string ScopedNetns::read_sysctl(const char *name)
{
    std::string out;
    core::read_file(std::string("/proc/sys/") + name, out, 256, nullptr);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    return out;
}

bool run_until(core::Loop &loop, const std::function<bool()> &pred, double timeout_s)
{
    if (pred())
        return true;
    struct Ctx {
        core::Loop *loop;
        const std::function<bool()> *pred;
    } ctx{&loop, &pred};
    core::Timer check(
            loop,
            [](void *c) noexcept {
                auto *x = static_cast<Ctx *>(c);
                if ((*x->pred)())
                    x->loop->break_loop();
            },
            &ctx);
    core::Timer dog(
            loop, [](void *c) noexcept { static_cast<Ctx *>(c)->loop->break_loop(); }, &ctx);
    check.start(0.001, 0.001);
    dog.start(timeout_s);
    loop.run();
    return pred();
}

bool run_for_results(core::Loop &loop, Collector &c, size_t n, double timeout_s)
{
    c.loop = &loop;
    c.want = n;
    return run_until(
            loop, [&] { return c.results.size() >= n; }, timeout_s);
}

omrt::IpAddr addr(const char *text)
{
    omrt::IpAddr a;
    omrt::IpAddr::parse(text, a);
    return a;
}

} // namespace testnet
