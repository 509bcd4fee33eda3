// Prober across real veths and a router hop. Run by veth_test.sh inside the namespace it
// builds (OMRT_ICMP_VETH=1); skipped anywhere else. The topology (addresses fixed here
// and in the script):
//
//   [R: the prober]  wan1 10.79.1.2 ---- 10.79.1.1 m1 [M: router] m2 10.79.9.1 ---- 10.79.9.2..4 v1
//   [V]
//                    wan2 10.79.2.2 ---- 10.79.2.1 w1 [W: blackhole default route]
//   IPv6 likewise: 2001:db8:79:<net>::<host>. R has default routes via wan1 (metric 10)
//   and wan2 (metric 20). M forwards, has "unreachable" routes for 10.79.8.0/24 and
//   2001:db8:79:8::/64, and an MTU of 1280 on m2. R allows ping sockets (its own
//   net.ipv4.ping_group_range).
#include "icmp/prober.h"
#include "testnet.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <ostream>

using icmp::Mode;
using icmp::Outcome;
using icmp::Prober;
using icmp::ProberOptions;
using testnet::addr;

namespace {

constexpr int64_t kMs = 1000;

struct Case {
    int family;
    Mode mode;
};

void PrintTo(const Case &c, std::ostream *os)
{
    *os << (c.family == AF_INET ? "ipv4/" : "ipv6/") << icmp::mode_name(c.mode);
}

std::string case_name(const ::testing::TestParamInfo<Case> &i)
{
    return std::string(i.param.family == AF_INET ? "V4" : "V6") +
           (i.param.mode == Mode::Raw ? "Raw" : "Dgram");
}

class VethTest : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override
    {
        if (!std::getenv("OMRT_ICMP_VETH"))
            GTEST_SKIP() << "run by veth_test.sh inside its namespaces";
        col.loop = &loop;
    }
    bool v4() const { return GetParam().family == AF_INET; }
    // "10.79.9.2" or "2001:db8:79:9::2"
    const char *ip(int net, int host)
    {
        if (v4())
            std::snprintf(buf_, sizeof(buf_), "10.79.%d.%d", net, host);
        else
            std::snprintf(buf_, sizeof(buf_), "2001:db8:79:%d::%d", net, host);
        return buf_;
    }
    ProberOptions options(const char *device)
    {
        ProberOptions o;
        o.name = device;
        o.family = GetParam().family;
        o.mode = GetParam().mode;
        o.device = device;
        return o;
    }
    const icmp::ProbeResult &probe(const ProberOptions &o, const char *target, int64_t timeout_us)
    {
        std::string err;
        p = std::make_unique<Prober>(loop, clock, col);
        EXPECT_TRUE(p->open(o, &err)) << err;
        EXPECT_EQ(p->mode(), GetParam().mode);
        col.results.clear();
        EXPECT_NE(p->send(addr(target), timeout_us, nullptr), 0u);
        EXPECT_TRUE(testnet::run_for_results(loop, col, 1, double(timeout_us) / 1e6 + 2));
        if (col.results.empty())
            col.results.emplace_back(); // a Timeout with nothing else set, to fail on
        return col.results[0];
    }

    core::Loop loop;
    omrt::SystemClock clock;
    testnet::Collector col;
    std::unique_ptr<Prober> p;
    char buf_[48];
};

} // namespace

TEST_P(VethTest, RightDeviceGetsReplyAcrossTheRouter)
{
    auto o = options("wan1");
    o.tos = 184;
    const auto &r = probe(o, ip(9, 2), 2000 * kMs);
    ASSERT_EQ(r.outcome, Outcome::Reply) << icmp::outcome_name(r.outcome);
    EXPECT_EQ(r.from.str(), addr(ip(9, 2)).str());
    EXPECT_GT(r.rtt_us, 0);
    EXPECT_EQ(r.reply_ttl, 63);  // V sent 64, M forwarded it once
    EXPECT_EQ(r.reply_tos, 184); // V echoed DSCP EF (46 << 2), M kept it
    EXPECT_EQ(p->counters().replies, 1u);
}

TEST_P(VethTest, WrongDeviceTimesOut)
{
    // wan2 leads to W, which silently drops everything it would have to forward.
    const auto &r = probe(options("wan2"), ip(9, 2), 500 * kMs);
    EXPECT_EQ(r.outcome, Outcome::Timeout) << icmp::outcome_name(r.outcome);
    EXPECT_EQ(p->counters().timeouts, 1u);
}

TEST_P(VethTest, SourceAddressIsUsed)
{
    auto o = options("wan1");
    o.source = addr(ip(1, 2));
    const auto &r = probe(o, ip(9, 2), 2000 * kMs);
    EXPECT_EQ(r.outcome, Outcome::Reply);
    struct sockaddr_storage ss = {};
    socklen_t len = sizeof(ss);
    ASSERT_EQ(getsockname(p->fd(), reinterpret_cast<sockaddr *>(&ss), &len), 0);
    EXPECT_EQ(omrt::IpAddr::from_sockaddr(reinterpret_cast<sockaddr *>(&ss)).str(), ip(1, 2));
}

TEST_P(VethTest, TtlOneGetsTimeExceededFromTheRouter)
{
    auto o = options("wan1");
    o.ttl = 1;
    const auto &r = probe(o, ip(9, 2), 2000 * kMs);
    ASSERT_EQ(r.outcome, Outcome::Unreachable) << icmp::outcome_name(r.outcome);
    EXPECT_EQ(r.icmp_type, v4() ? 11 : 3);
    EXPECT_EQ(r.icmp_code, 0);
    EXPECT_EQ(r.from.str(), addr(ip(1, 1)).str());
    EXPECT_EQ(r.target.str(), addr(ip(9, 2)).str());
    EXPECT_GT(r.rtt_us, 0);
    if (GetParam().mode == Mode::Dgram) {
        EXPECT_EQ(r.error, EHOSTUNREACH);
    }
    EXPECT_EQ(p->counters().errors, 1u);
}

TEST_P(VethTest, UnreachableRouteAtTheRouter)
{
    const auto &r = probe(options("wan1"), ip(8, 1), 2000 * kMs);
    ASSERT_EQ(r.outcome, Outcome::Unreachable) << icmp::outcome_name(r.outcome);
    EXPECT_EQ(r.icmp_type, v4() ? 3 : 1);
    EXPECT_EQ(r.from.str(), addr(ip(1, 1)).str());
}

TEST_P(VethTest, TooBigForTheNextHop)
{
    // M's m2 has MTU 1280; a 1400-byte echo cannot pass. Each case uses its own target so
    // the path MTU the kernel learns from one does not change the next.
    auto o = options("wan1");
    o.payload_bytes = 1400;
    const int host = GetParam().mode == Mode::Raw ? 3 : 4;
    const auto &r = probe(o, ip(9, host), 2000 * kMs);
    ASSERT_EQ(r.outcome, Outcome::Unreachable) << icmp::outcome_name(r.outcome);
    if (v4()) {
        EXPECT_EQ(r.icmp_type, 3);
        EXPECT_EQ(r.icmp_code, 4); // fragmentation needed and DF set
    } else {
        EXPECT_EQ(r.icmp_type, 2); // packet too big
    }
    EXPECT_EQ(r.icmp_info, 1280u);
    if (GetParam().mode == Mode::Dgram) {
        EXPECT_EQ(r.error, EMSGSIZE);
    }
}

INSTANTIATE_TEST_SUITE_P(Veth, VethTest,
                         ::testing::Values(Case{AF_INET, Mode::Raw}, Case{AF_INET, Mode::Dgram},
                                           Case{AF_INET6, Mode::Raw}, Case{AF_INET6, Mode::Dgram}),
                         case_name);
