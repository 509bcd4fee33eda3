// Live tests of icmp::Prober on real sockets: loopback in the current namespace (raw),
// and private network namespaces created by the test process itself (unshare) for the
// silent target, datagram mode, mode choice, forged replies and the CPU measurement.
// Every test needs root (raw sockets, unshare) and is skipped otherwise.
#include "forge.h"
#include "icmp/prober.h"
#include "testnet.h"

#include <gtest/gtest.h>

#include <ostream>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using icmp::Mode;
using icmp::Outcome;
using icmp::Prober;
using icmp::ProberOptions;
using testnet::addr;
using testnet::ScopedNetns;

namespace {

constexpr int64_t kMs = 1000;

class LiveTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (!testnet::is_root())
            GTEST_SKIP() << "needs root (raw ICMP sockets, network namespaces)";
        col.loop = &loop;
    }

    ProberOptions options(int family, Mode mode)
    {
        ProberOptions o;
        o.name = family == AF_INET ? "test/ipv4" : "test/ipv6";
        o.family = family;
        o.mode = mode;
        return o;
    }

    void open(Prober &p, const ProberOptions &o)
    {
        std::string err;
        ASSERT_TRUE(p.open(o, &err)) << err;
    }

    uint64_t send(Prober &p, const char *target, int64_t timeout_us)
    {
        col.inside_send = true;
        uint64_t id = p.send(addr(target), timeout_us, nullptr);
        col.inside_send = false;
        EXPECT_NE(id, 0u);
        return id;
    }

    core::Loop loop;
    omrt::SystemClock clock;
    testnet::Collector col;
};

// A fresh network namespace per test: only lo, ping_group_range "1 0", nothing else.
class NetnsTest : public LiveTest {
protected:
    void SetUp() override
    {
        LiveTest::SetUp();
        if (IsSkipped())
            return;
        std::string err;
        if (!ns.enter(&err))
            GTEST_SKIP() << err;
    }
    void silence_kernel()
    {
        ASSERT_TRUE(ScopedNetns::sysctl("net/ipv4/icmp_echo_ignore_all", "1"));
        ASSERT_TRUE(ScopedNetns::sysctl("net/ipv6/icmp/echo_ignore_all", "1"));
    }
    void allow_ping_sockets()
    {
        ASSERT_TRUE(ScopedNetns::sysctl("net/ipv4/ping_group_range", "0 2147483647"));
    }
    ScopedNetns ns;
};

bool have_ipv6_loopback()
{
    int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct sockaddr_in6 a = {};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool ok = bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0;
    close(s);
    return ok;
}

// A raw ICMP socket that plays the far end: sees our requests and answers what it likes.
class Forger {
public:
    ~Forger()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    bool open(int family, const char *src)
    {
        family_ = family;
        fd_ = socket(family, SOCK_RAW | SOCK_CLOEXEC,
                     family == AF_INET ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6));
        struct sockaddr_storage ss;
        const socklen_t len = addr(src).to_sockaddr(ss);
        return fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr *>(&ss), len) == 0;
    }
    // The next echo request with |id|, as received (v4: with its IP header).
    bool wait_request(uint16_t id, forge::Bytes &pkt, uint16_t &seq)
    {
        for (int i = 0; i < 1000; i++) {
            struct pollfd pfd = {fd_, POLLIN, 0};
            if (poll(&pfd, 1, 2000) != 1)
                return false;
            uint8_t buf[2048];
            ssize_t n = recv(fd_, buf, sizeof(buf), 0);
            if (n <= 0)
                return false;
            size_t off = family_ == AF_INET ? size_t(buf[0] & 0x0f) * 4 : 0;
            if (size_t(n) < off + 8)
                continue;
            const uint8_t *m = buf + off;
            const uint8_t echo = family_ == AF_INET ? icmp::kV4Echo : icmp::kV6Echo;
            if (m[0] == echo && (m[4] << 8 | m[5]) == id) {
                seq = uint16_t(m[6] << 8 | m[7]);
                pkt.assign(buf, buf + n);
                return true;
            }
        }
        return false;
    }
    bool send(const forge::Bytes &msg, const char *dst)
    {
        struct sockaddr_storage ss;
        const socklen_t len = addr(dst).to_sockaddr(ss);
        return sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr *>(&ss), len) ==
               ssize_t(msg.size());
    }

private:
    int fd_ = -1;
    int family_ = AF_INET;
};

} // namespace

// ---------------------------------------------------------------------------------------
// (a) raw sockets on loopback, current namespace

TEST_F(LiveTest, RawLoopbackV4RepliesMatched)
{
    Prober p(loop, clock, col);
    auto o = options(AF_INET, Mode::Raw);
    o.payload_bytes = 100;
    open(p, o);
    EXPECT_EQ(p.mode(), Mode::Raw);
    std::vector<uint64_t> ids;
    for (int i = 0; i < 5; i++)
        ids.push_back(send(p, "127.0.0.1", 2000 * kMs));
    EXPECT_EQ(p.in_flight(), 5u);
    ASSERT_TRUE(testnet::run_for_results(loop, col, 5, 5.0));
    EXPECT_FALSE(col.delivered_inside_send);
    for (size_t i = 0; i < 5; i++) {
        const auto &r = col.results[i];
        EXPECT_EQ(r.outcome, Outcome::Reply);
        EXPECT_EQ(r.probe_id, ids[i]); // loopback answers in order
        EXPECT_GT(r.rtt_us, 0);
        EXPECT_LT(r.rtt_us, 1000 * kMs);
        EXPECT_EQ(r.from.str(), addr("127.0.0.1").str());
        EXPECT_EQ(r.reply_bytes, 108u);
        EXPECT_EQ(r.reply_ttl, 64);
    }
    EXPECT_EQ(p.counters().replies, 5u);
    EXPECT_EQ(p.counters().sent, 5u);
    EXPECT_EQ(p.in_flight(), 0u);
}

TEST_F(LiveTest, RawLoopbackV6RepliesMatched)
{
    if (!have_ipv6_loopback())
        GTEST_SKIP() << "no ::1 in this namespace";
    Prober p(loop, clock, col);
    open(p, options(AF_INET6, Mode::Raw));
    for (int i = 0; i < 3; i++)
        send(p, "::1", 2000 * kMs);
    ASSERT_TRUE(testnet::run_for_results(loop, col, 3, 5.0));
    for (const auto &r : col.results) {
        EXPECT_EQ(r.outcome, Outcome::Reply);
        EXPECT_GT(r.rtt_us, 0);
        EXPECT_EQ(r.from.str(), addr("::1").str());
        EXPECT_EQ(r.reply_bytes, 64u);
        EXPECT_EQ(r.reply_ttl, 64); // from IPV6_HOPLIMIT
    }
    EXPECT_EQ(p.counters().replies, 3u);
}

TEST_F(LiveTest, CancelReopenAndCloseFromCallback)
{
    Prober p(loop, clock, col);
    open(p, options(AF_INET, Mode::Raw));
    const int first_fd = p.fd();

    uint64_t cancelled = send(p, "127.0.0.1", 2000 * kMs);
    EXPECT_TRUE(p.cancel(cancelled));
    EXPECT_FALSE(p.cancel(cancelled));
    EXPECT_FALSE(p.cancel(0));
    EXPECT_EQ(p.in_flight(), 0u);
    // Its reply comes anyway and is late, never a result.
    ASSERT_TRUE(testnet::run_until(
            loop, [&] { return p.counters().late == 1; }, 3.0));
    EXPECT_TRUE(col.results.empty());

    // Re-open with other options: a new socket, and the watcher follows it.
    auto o = options(AF_INET, Mode::Raw);
    o.tos = 184;
    open(p, o);
    EXPECT_NE(p.fd(), -1);
    (void)first_fd; // the number may well be reused; set() is called regardless
    send(p, "127.0.0.1", 2000 * kMs);
    ASSERT_TRUE(testnet::run_for_results(loop, col, 1, 3.0));
    EXPECT_EQ(col.results[0].outcome, Outcome::Reply);
    EXPECT_EQ(col.results[0].reply_tos, 184); // Linux echoes the request's TOS

    // close() from inside a result callback: the other probes vanish without results.
    col.results.clear();
    col.then = [&](const icmp::ProbeResult &) { p.close(); };
    for (int i = 0; i < 3; i++)
        send(p, "127.0.0.1", 300 * kMs);
    testnet::run_until(
            loop, [&] { return !p.is_open(); }, 3.0);
    // Give stray timers a chance to misbehave.
    testnet::run_until(
            loop, [] { return false; }, 0.4);
    EXPECT_EQ(col.results.size(), 1u);
    EXPECT_EQ(p.in_flight(), 0u);
    col.then = nullptr;

    // A closed Prober still accepts probes and fails them from the loop.
    col.results.clear();
    uint64_t id = send(p, "127.0.0.1", 1000 * kMs);
    EXPECT_TRUE(col.results.empty());
    ASSERT_TRUE(testnet::run_for_results(loop, col, 1, 2.0));
    EXPECT_FALSE(col.delivered_inside_send);
    EXPECT_EQ(col.results[0].probe_id, id);
    EXPECT_EQ(col.results[0].outcome, Outcome::SendError);
    EXPECT_EQ(col.results[0].error, EBADF);
}

TEST_F(LiveTest, RejectsBadOptionsAndTargets)
{
    Prober p(loop, clock, col);
    std::string err;
    auto o = options(AF_INET, Mode::Raw);
    o.payload_bytes = icmp::kMaxPayload + 1;
    EXPECT_FALSE(p.open(o, &err));
    EXPECT_NE(err.find("payload"), std::string::npos) << err;
    o = options(AF_INET, Mode::Raw);
    o.ttl = 0;
    EXPECT_FALSE(p.open(o, &err));
    o = options(AF_INET, Mode::Raw);
    o.source = addr("::1");
    EXPECT_FALSE(p.open(o, &err));
    o = options(AF_INET, Mode::Raw);
    o.device = "omrt-nodev0";
    EXPECT_FALSE(p.open(o, &err));
    EXPECT_NE(err.find("SO_BINDTODEVICE omrt-nodev0"), std::string::npos) << err;

    open(p, options(AF_INET, Mode::Raw));
    EXPECT_EQ(p.send(addr("::1"), 1000 * kMs, nullptr), 0u);    // wrong family
    EXPECT_EQ(p.send(addr("127.0.0.1"), 0, nullptr), 0u);       // no timeout
    EXPECT_EQ(p.send(omrt::IpAddr(), 1000 * kMs, nullptr), 0u); // empty
}

TEST_F(LiveTest, InFlightLimitAndSequenceSkipping)
{
    Prober p(loop, clock, col, 16);
    open(p, options(AF_INET, Mode::Raw));
    std::vector<uint64_t> ids;
    for (int i = 0; i < 16; i++)
        ids.push_back(send(p, "127.0.0.1", 5000 * kMs));
    col.inside_send = true;
    EXPECT_EQ(p.send(addr("127.0.0.1"), 5000 * kMs, nullptr), 0u); // ring full
    col.inside_send = false;
    ASSERT_TRUE(testnet::run_for_results(loop, col, 16, 5.0));
    // Sequence numbers are the low 16 bits of the ids, all distinct.
    std::vector<uint16_t> seqs;
    for (auto &r : col.results)
        seqs.push_back(r.seq);
    std::sort(seqs.begin(), seqs.end());
    EXPECT_EQ(std::unique(seqs.begin(), seqs.end()), seqs.end());
}

// ---------------------------------------------------------------------------------------
// Private namespaces

TEST_F(NetnsTest, SilentTargetTimesOutInDeadlineOrder)
{
    silence_kernel();
    Prober p4(loop, clock, col), p6(loop, clock, col);
    open(p4, options(AF_INET, Mode::Raw));
    open(p6, options(AF_INET6, Mode::Raw));
    const int64_t t0 = clock.mono_us();
    uint64_t a = send(p4, "127.0.0.1", 300 * kMs);
    uint64_t b = send(p4, "127.0.0.1", 100 * kMs);
    uint64_t c = send(p6, "::1", 200 * kMs);
    ASSERT_TRUE(testnet::run_for_results(loop, col, 3, 3.0));
    const int64_t elapsed = clock.mono_us() - t0;
    ASSERT_EQ(col.results.size(), 3u);
    EXPECT_EQ(col.results[0].probe_id, b);
    EXPECT_EQ(col.results[1].probe_id, c);
    EXPECT_EQ(col.results[2].probe_id, a);
    for (auto &r : col.results) {
        EXPECT_EQ(r.outcome, Outcome::Timeout);
        EXPECT_EQ(r.rtt_us, -1);
    }
    EXPECT_GE(elapsed, 300 * kMs);
    EXPECT_LT(elapsed, 800 * kMs);
    EXPECT_EQ(p4.counters().timeouts, 2u);
    EXPECT_EQ(p6.counters().timeouts, 1u);
    EXPECT_EQ(p4.counters().foreign + p4.counters().unmatched + p4.counters().malformed, 0u);
}

TEST_F(NetnsTest, SendErrorIsDeliveredFromTheLoop)
{
    Prober p(loop, clock, col);
    open(p, options(AF_INET, Mode::Raw));
    // Nothing but lo here: no route to TEST-NET-1.
    uint64_t id = send(p, "192.0.2.1", 1000 * kMs);
    EXPECT_TRUE(col.results.empty());
    ASSERT_TRUE(testnet::run_for_results(loop, col, 1, 2.0));
    EXPECT_FALSE(col.delivered_inside_send);
    EXPECT_EQ(col.results[0].probe_id, id);
    EXPECT_EQ(col.results[0].outcome, Outcome::SendError);
    EXPECT_EQ(col.results[0].error, ENETUNREACH);
    EXPECT_EQ(p.counters().send_errors, 1u);
    EXPECT_EQ(p.counters().sent, 0u);
}

TEST_F(NetnsTest, ManyTargetsOnOneSocket)
{
    Prober p(loop, clock, col);
    open(p, options(AF_INET, Mode::Raw));
    char buf[32];
    for (int i = 1; i <= 40; i++) {
        std::snprintf(buf, sizeof(buf), "127.0.0.%d", i);
        col.inside_send = true;
        p.send(addr(buf), 2000 * kMs, reinterpret_cast<void *>(intptr_t(i)));
        col.inside_send = false;
    }
    ASSERT_TRUE(testnet::run_for_results(loop, col, 40, 5.0));
    for (auto &r : col.results) {
        ASSERT_EQ(r.outcome, Outcome::Reply);
        std::snprintf(buf, sizeof(buf), "127.0.0.%d", int(reinterpret_cast<intptr_t>(r.cookie)));
        EXPECT_EQ(r.from.str(), addr(buf).str()) << buf;
        EXPECT_EQ(r.target.str(), addr(buf).str()) << buf;
    }
    EXPECT_EQ(p.counters().unmatched, 0u);
}

// (b) mode choice and datagram sockets

TEST_F(NetnsTest, AutoPicksRawAndSaysWhy)
{
    ASSERT_EQ(ScopedNetns::read_sysctl("net/ipv4/ping_group_range"), "1\t0");
    for (int family : {AF_INET, AF_INET6}) {
        Mode used;
        std::string why;
        core::UniqueFd fd = icmp::open_icmp_socket(family, Mode::Auto, used, why);
        ASSERT_TRUE(fd.valid()) << why;
        EXPECT_EQ(used, Mode::Raw);
        EXPECT_EQ(why, "using raw sockets: ping sockets refused (EACCES): "
                       "net.ipv4.ping_group_range is '1 0' (gid 0)");
        fd = icmp::open_icmp_socket(family, Mode::Dgram, used, why);
        EXPECT_FALSE(fd.valid());
        EXPECT_NE(why.find("ping sockets refused (EACCES)"), std::string::npos) << why;
        EXPECT_NE(why.find("mode dgram configured"), std::string::npos) << why;
    }
    Prober p(loop, clock, col);
    open(p, options(AF_INET, Mode::Auto));
    EXPECT_EQ(p.mode(), Mode::Raw);
    EXPECT_NE(p.mode_reason().find("ping sockets refused"), std::string::npos);
}

namespace {
// open_icmp_socket() as user/group nobody, in a child; returns "<mode>|<why>".
std::string open_as_nobody(int family)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return "pipe failed";
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        if (setgroups(0, nullptr) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(2);
        icmp::Mode used;
        std::string why;
        core::UniqueFd fd = icmp::open_icmp_socket(family, Mode::Auto, used, why);
        std::string out = std::string(icmp::mode_name(used)) + "|" + why;
        (void)!write(pipefd[1], out.data(), out.size());
        _exit(0);
    }
    close(pipefd[1]);
    std::string out;
    char buf[512];
    struct pollfd pfd = {pipefd[0], POLLIN, 0};
    while (poll(&pfd, 1, 5000) == 1) {
        ssize_t n = read(pipefd[0], buf, sizeof(buf));
        if (n <= 0)
            break;
        out.append(buf, size_t(n));
    }
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return out;
}
} // namespace

TEST_F(NetnsTest, UnprivilegedGetsAClearErrorThenDgram)
{
    EXPECT_EQ(open_as_nobody(AF_INET),
              "auto|no ICMP socket: ping sockets refused (EACCES): net.ipv4.ping_group_range "
              "is '1 0' (gid 65534); raw sockets refused (EPERM): needs root or CAP_NET_RAW");
    allow_ping_sockets();
    EXPECT_EQ(open_as_nobody(AF_INET), "dgram|using datagram ping sockets "
                                       "(net.ipv4.ping_group_range 0-2147483647 includes gid "
                                       "65534)");
    EXPECT_EQ(open_as_nobody(AF_INET6).substr(0, 6), "dgram|"); // the ipv4 sysctl governs v6
}

TEST_F(NetnsTest, DatagramModeRepliesTosAndTtl)
{
    allow_ping_sockets();
    Prober p4(loop, clock, col), p6(loop, clock, col);
    auto o = options(AF_INET, Mode::Auto);
    o.tos = 184;
    o.payload_bytes = 20;
    open(p4, o);
    EXPECT_EQ(p4.mode(), Mode::Dgram);
    EXPECT_EQ(p4.mode_reason(), "using datagram ping sockets (net.ipv4.ping_group_range "
                                "0-2147483647 includes gid 0)");
    // The echo id is the socket's port.
    struct sockaddr_in sin = {};
    socklen_t len = sizeof(sin);
    ASSERT_EQ(getsockname(p4.fd(), reinterpret_cast<sockaddr *>(&sin), &len), 0);
    EXPECT_EQ(p4.ident(), ntohs(sin.sin_port));
    EXPECT_NE(p4.ident(), 0);

    auto o6 = options(AF_INET6, Mode::Dgram);
    o6.tos = 184;
    open(p6, o6);
    EXPECT_EQ(p6.mode(), Mode::Dgram);
    EXPECT_EQ(p6.mode_reason(), "using datagram ping sockets (mode dgram configured)");

    send(p4, "127.0.0.1", 2000 * kMs);
    send(p4, "127.0.0.9", 2000 * kMs);
    send(p6, "::1", 2000 * kMs);
    ASSERT_TRUE(testnet::run_for_results(loop, col, 3, 5.0));
    EXPECT_FALSE(col.delivered_inside_send);
    for (auto &r : col.results) {
        EXPECT_EQ(r.outcome, Outcome::Reply);
        EXPECT_GT(r.rtt_us, 0);
        EXPECT_EQ(r.from.str(), r.target.str());
        EXPECT_EQ(r.reply_ttl, 64);  // IP_RECVTTL / IPV6_RECVHOPLIMIT
        EXPECT_EQ(r.reply_tos, 184); // IP_RECVTOS / IPV6_RECVTCLASS: the echoed TOS
    }
    for (auto &r : col.results) // results of two sockets: any order between them
        EXPECT_EQ(r.reply_bytes, r.target.family == AF_INET ? 28u : 64u);
    EXPECT_EQ(p4.counters().replies, 2u);
    EXPECT_EQ(p6.counters().replies, 1u);
}

// (d) forged replies and errors at the prober's socket

namespace {
struct ForgeCase {
    int family;
    Mode mode;
};
// For readable CTest names ("# GetParam() = ipv4/raw").
void PrintTo(const ForgeCase &c, std::ostream *os)
{
    *os << (c.family == AF_INET ? "ipv4/" : "ipv6/") << icmp::mode_name(c.mode);
}
} // namespace

class ForgedTest : public NetnsTest, public ::testing::WithParamInterface<ForgeCase> {};

TEST_P(ForgedTest, OnlyTheRightAnswerMatches)
{
    const ForgeCase fc = GetParam();
    const bool v4 = fc.family == AF_INET;
    const bool raw = fc.mode == Mode::Raw;
    const icmp::Family F = v4 ? icmp::Family::V4 : icmp::Family::V6;
    const char *target = v4 ? "127.0.0.2" : "::1";
    const char *us = v4 ? "127.0.0.1" : "::1";
    silence_kernel(); // only the forger answers
    allow_ping_sockets();

    Prober p(loop, clock, col);
    open(p, options(fc.family, fc.mode));
    ASSERT_EQ(p.mode(), fc.mode);
    const uint16_t id = p.ident();
    Forger f, stranger;
    ASSERT_TRUE(f.open(fc.family, target));
    if (v4) {
        ASSERT_TRUE(stranger.open(AF_INET, "127.0.0.3"));
    }

    forge::Bytes req;
    uint16_t seq1 = 0;
    const uint64_t id1 = send(p, target, 3000 * kMs);
    ASSERT_TRUE(f.wait_request(id, req, seq1));

    auto reply = [&](uint16_t rid, uint16_t rseq) { return forge::echo(F, rid, rseq, 56, true); };
    uint64_t foreign = 0, unmatched = 0, malformed = 0;

    ASSERT_TRUE(f.send(reply(uint16_t(id + 1), seq1), us)); // other id
    if (raw)
        foreign++; // a ping socket never sees it: the kernel matches the id
    ASSERT_TRUE(f.send(reply(id, uint16_t(seq1 + 1000)), us)); // seq not in flight
    unmatched++;
    forge::Bytes coded = reply(id, seq1); // echo reply with code 1
    coded[1] = 1;
    if (v4)
        forge::fix_v4_checksum(coded);
    ASSERT_TRUE(f.send(coded, us));
    malformed++;
    if (v4) {
        forge::Bytes bad = reply(id, seq1); // bad checksum: raw sees it, the kernel drops it
        bad[2] ^= 0x55;
        ASSERT_TRUE(f.send(bad, us));
        if (raw)
            malformed++;
        ASSERT_TRUE(stranger.send(reply(id, seq1), us)); // right id/seq, wrong source
        unmatched++;
    }
    // An error whose quote is cut short (raw only: the kernel drops it for ping sockets).
    forge::Bytes quote = v4 ? forge::Bytes(req.begin(), req.begin() + 24)
                            : forge::ipv6(forge::Bytes(req.begin(), req.begin() + 4), us, target);
    ASSERT_TRUE(f.send(forge::error(F, v4 ? 3 : 1, v4 ? 1 : 3, 0, quote), us));
    if (raw)
        malformed++;
    // Right id, seq and source but not the request's data back (RFC 792, RFC 4443 4.2):
    // 4 bytes instead of 56, then 100: not an answer, the probe waits for the real one.
    for (size_t len : {size_t(4), size_t(100)}) {
        ASSERT_TRUE(f.send(forge::echo(F, id, seq1, len, true), us));
        malformed++;
    }
    // The real answer, then a copy of it.
    ASSERT_TRUE(f.send(reply(id, seq1), us));
    ASSERT_TRUE(f.send(reply(id, seq1), us));
    ASSERT_TRUE(testnet::run_until(
            loop, [&] { return p.counters().duplicate == 1; }, 3.0));
    ASSERT_EQ(col.results.size(), 1u);
    EXPECT_EQ(col.results[0].probe_id, id1);
    EXPECT_EQ(col.results[0].outcome, Outcome::Reply);
    EXPECT_EQ(col.results[0].from.str(), addr(target).str());

    // A reply after the timeout is late; its copy a duplicate.
    uint16_t seq2 = 0;
    const uint64_t id2 = send(p, target, 100 * kMs);
    ASSERT_TRUE(f.wait_request(id, req, seq2));
    ASSERT_TRUE(testnet::run_for_results(loop, col, 2, 2.0));
    EXPECT_EQ(col.results[1].probe_id, id2);
    EXPECT_EQ(col.results[1].outcome, Outcome::Timeout);
    ASSERT_TRUE(f.send(reply(id, seq2), us));
    ASSERT_TRUE(f.send(reply(id, seq2), us));
    ASSERT_TRUE(testnet::run_until(
            loop, [&] { return p.counters().duplicate == 2; }, 3.0));
    EXPECT_EQ(p.counters().late, 1u);

    // An ICMP error quoting our request ends the probe as Unreachable.
    uint16_t seq3 = 0;
    const uint64_t id3 = send(p, target, 3000 * kMs);
    ASSERT_TRUE(f.wait_request(id, req, seq3));
    // Someone else's echo first (raw only: the kernel finds no ping socket for it).
    forge::Bytes other_req = req;
    forge::Bytes our_quote;
    if (v4) {
        const size_t ihl = size_t(req[0] & 0x0f) * 4;
        our_quote.assign(req.begin(), req.begin() + ihl + 8);
        other_req = our_quote;
        forge::put16(other_req, ihl + 4, uint16_t(id ^ 0x5555));
    } else {
        our_quote = forge::ipv6(forge::Bytes(req.begin(), req.begin() + 8), us, target);
        other_req = our_quote;
        forge::put16(other_req, 44, uint16_t(id ^ 0x5555));
    }
    ASSERT_TRUE(f.send(forge::error(F, v4 ? 3 : 1, v4 ? 1 : 3, 0, other_req), us));
    if (raw)
        foreign++;
    ASSERT_TRUE(f.send(forge::error(F, v4 ? 3 : 1, v4 ? 1 : 3, 0, our_quote), us));
    ASSERT_TRUE(testnet::run_for_results(loop, col, 3, 3.0));
    const auto &u = col.results[2];
    EXPECT_EQ(u.probe_id, id3);
    EXPECT_EQ(u.outcome, Outcome::Unreachable);
    EXPECT_EQ(u.icmp_type, v4 ? 3 : 1);
    EXPECT_EQ(u.icmp_code, v4 ? 1 : 3);
    EXPECT_EQ(u.from.str(), addr(target).str());
    if (!raw) {
        EXPECT_EQ(u.error, EHOSTUNREACH); // the kernel's reading of it, from the error queue
    }

    // Let anything still queued arrive, then check the books.
    testnet::run_until(
            loop, [] { return false; }, 0.1);
    const auto &c = p.counters();
    EXPECT_EQ(c.replies, 1u);
    EXPECT_EQ(c.timeouts, 1u);
    EXPECT_EQ(c.errors, 1u);
    EXPECT_EQ(c.duplicate, 2u);
    EXPECT_EQ(c.late, 1u);
    EXPECT_EQ(c.foreign, foreign);
    EXPECT_EQ(c.unmatched, unmatched);
    EXPECT_EQ(c.malformed, malformed);
    EXPECT_EQ(c.rx_errors, 0u);
    EXPECT_EQ(col.results.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Modes, ForgedTest,
                         ::testing::Values(ForgeCase{AF_INET, Mode::Raw},
                                           ForgeCase{AF_INET, Mode::Dgram},
                                           ForgeCase{AF_INET6, Mode::Raw},
                                           ForgeCase{AF_INET6, Mode::Dgram}),
                         [](const ::testing::TestParamInfo<ForgeCase> &i) {
                             return std::string(i.param.family == AF_INET ? "V4" : "V6") +
                                    (i.param.mode == Mode::Raw ? "Raw" : "Dgram");
                         });

// ---------------------------------------------------------------------------------------
// CPU per probe: 10,000 probes over 16 loopback targets, 32 in flight, in a private
// namespace (no other pinger's traffic). The process' CPU includes the kernel building
// each echo reply (loopback runs it in our context), so this is an upper bound.

namespace {
void measure(core::Loop &loop, omrt::SystemClock &clock, testnet::Collector &col, Mode mode,
             int family)
{
    constexpr unsigned kProbes = 10000, kWindow = 32;
    Prober p(loop, clock, col, 64);
    ProberOptions o;
    o.family = family;
    o.mode = mode;
    o.name = "bench";
    std::string err;
    ASSERT_TRUE(p.open(o, &err)) << err;
    char targets[16][24];
    for (int i = 0; i < 16; i++)
        std::snprintf(targets[i], sizeof(targets[i]), family == AF_INET ? "127.0.0.%d" : "::1",
                      i + 1);
    unsigned sent = 0;
    uint64_t replies = 0;
    auto next = [&] {
        if (sent < kProbes) {
            p.send(addr(targets[sent % 16]), 2000 * kMs, nullptr);
            sent++;
        }
    };
    col.then = [&](const icmp::ProbeResult &r) {
        replies += r.outcome == Outcome::Reply;
        next();
    };
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    const int64_t t0 = clock.mono_us();
    for (unsigned i = 0; i < kWindow; i++)
        next();
    ASSERT_TRUE(testnet::run_for_results(loop, col, kProbes, 60.0));
    const int64_t wall = clock.mono_us() - t0;
    getrusage(RUSAGE_SELF, &after);
    col.then = nullptr;
    auto us = [](const timeval &t) { return int64_t(t.tv_sec) * 1000000 + t.tv_usec; };
    const int64_t user = us(after.ru_utime) - us(before.ru_utime);
    const int64_t sys = us(after.ru_stime) - us(before.ru_stime);
    std::printf("icmp bench: %s %s, %u probes, %llu replies: cpu %.2f us/probe "
                "(user %.2f, sys %.2f), wall %.1f ms\n",
                mode == Mode::Raw ? "raw" : "dgram", family == AF_INET ? "ipv4" : "ipv6", kProbes,
                (unsigned long long)replies, double(user + sys) / kProbes, double(user) / kProbes,
                double(sys) / kProbes, double(wall) / 1000);
    EXPECT_EQ(replies, kProbes);
    ::testing::Test::RecordProperty(std::string("cpu_ns_per_probe_") + icmp::mode_name(mode) +
                                            (family == AF_INET ? "4" : "6"),
                                    std::to_string((user + sys) * 1000 / kProbes));
}
} // namespace

TEST_F(NetnsTest, BenchCpuPerProbe)
{
    allow_ping_sockets();
    measure(loop, clock, col, Mode::Raw, AF_INET);
    col.results.clear();
    measure(loop, clock, col, Mode::Dgram, AF_INET);
    col.results.clear();
    measure(loop, clock, col, Mode::Raw, AF_INET6);
}
