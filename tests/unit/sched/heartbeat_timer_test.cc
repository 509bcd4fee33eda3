// A regression test for what made the server tracker's ICMP heartbeat judge a silent tick
// up to seconds late: icmp::Prober restarted its timeout timer when a probe was sent in
// the loop iteration where that timer had just expired (no longer active, its callback
// still pending), so the expired deadline moved to the new probe's, much later one.
// The heartbeat sends every 500 ms with 1 s timeouts, so its sends fall exactly on the
// deadlines of earlier echoes: the race was the common case there.
//
// Real sockets in a private network namespace where nothing answers ICMP (the process
// moves itself into it with unshare; the kernel frees it with the last socket). Needs
// root; skipped otherwise.
#include "core/loop.h"
#include "icmp/prober.h"
#include "omrt/clock.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace {

constexpr int64_t kMs = 1000;

bool write_file(const char *path, const char *value)
{
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = ::write(fd, value, std::strlen(value)) == ssize_t(std::strlen(value));
    ::close(fd);
    return ok;
}

// A namespace of our own with lo up, where echo requests are ignored.
bool enter_silent_netns(std::string *why)
{
    if (::unshare(CLONE_NEWNET) < 0) {
        *why = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
        return false;
    }
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof(ifr));
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool up = s >= 0 && ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP);
    up = up && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    if (s >= 0)
        ::close(s);
    if (!up) {
        *why = "cannot set lo up";
        return false;
    }
    if (!write_file("/proc/sys/net/ipv4/icmp_echo_ignore_all", "1") ||
        !write_file("/proc/sys/net/ipv4/ping_group_range", "0 2147483647")) {
        *why = "cannot write the namespace's sysctls";
        return false;
    }
    return true;
}

struct Scenario final : icmp::ProbeListener {
    core::Loop loop;
    omrt::SystemClock clock;
    icmp::Prober prober{loop, clock, *this};
    core::Timer blocker{loop, core::member<Scenario, &Scenario::block>, this};
    core::Timer sender{loop, core::member<Scenario, &Scenario::send_late>, this};
    core::Timer limit{loop, core::member<Scenario, &Scenario::give_up>, this};
    omrt::IpAddr target;
    uint64_t first = 0;
    omrt::MonoUs first_deadline = 0;
    omrt::MonoUs first_done = 0;

    void on_probe_result(const icmp::ProbeResult &r) override
    {
        if (r.probe_id == first) {
            first_done = clock.mono_us();
            loop.break_loop();
        }
    }
    // Keeps the loop busy past both timers' expiry, so they expire in one iteration.
    void block()
    {
        omrt::MonoUs until = clock.mono_us() + 30 * kMs;
        while (clock.mono_us() < until) {
        }
    }
    // Expires just before the prober's timer and in the same loop iteration (the blocker
    // sees to that), so libev runs it first, while the prober's expired timer waits with
    // its callback pending: a send from here must not delay the first probe's timeout.
    // (The heartbeat: the tick timer fires a few µs before the echoes' deadlines.)
    void send_late() { prober.send(target, 5000 * kMs, nullptr); }
    void give_up() { loop.break_loop(); }
};

} // namespace

TEST(ProberTimer, SendInTheIterationOfAnExpiredTimeoutDoesNotDelayIt)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root (a private network namespace)";
    std::string why;
    ASSERT_TRUE(enter_silent_netns(&why)) << why;

    Scenario s;
    ASSERT_TRUE(omrt::IpAddr::parse("127.0.0.1", s.target));
    icmp::ProberOptions o;
    o.name = "test/ipv4";
    std::string err;
    ASSERT_TRUE(s.prober.open(o, &err)) << err;

    s.first = s.prober.send(s.target, 100 * kMs, nullptr);
    ASSERT_NE(s.first, 0u);
    s.first_deadline = s.clock.mono_us() + 100 * kMs;
    s.blocker.start(0.090);
    s.sender.start(0.0995);
    s.limit.start(2.0);
    s.loop.run();

    ASSERT_NE(s.first_done, 0) << "the first probe's timeout was not delivered within 2 s";
    EXPECT_LT(s.first_done - s.first_deadline, 100 * kMs)
            << "timeout delivered " << (s.first_done - s.first_deadline) / kMs
            << " ms after its deadline";
}
