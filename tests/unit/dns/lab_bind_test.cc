// Per-device binding, run by lab_bind.sh inside a namespace it built:
//
//   [R] wan-a 10.79.1.1 ---- 10.79.1.2 srv-a [S]  dnsmasq on 10.79.9.53, 2001:db8:79:9::53
//   [R] wan-b 10.79.2.1 ---- 10.79.2.2 dead-b [T] (no forwarding: a dead path)
//
// R's main table sends 10.79.9.0/24 (and 2001:db8:79:9::/64) through wan-b, with a worse
// route through wan-a. So an unbound socket times out, a socket bound to wan-b times
// out, and only a socket bound to wan-a gets answers: the binding, not the routing
// table, picks the path.
#include "dns/names.h"
#include "dns/resolver.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace dns;
using namespace dnstest;
using omrt::Reason;

namespace {

const char *env(const char *name, const char *dflt)
{
    const char *v = std::getenv(name);
    return v && *v ? v : dflt;
}

ServerAddr server(const char *s)
{
    ServerAddr a;
    EXPECT_TRUE(parse_server(s, a, nullptr)) << s;
    return a;
}

struct Waiter {
    bool done = false;
    static void cb(void *ctx, Query &) noexcept { static_cast<Waiter *>(ctx)->done = true; }
};

struct LabBind : ::testing::Test {
    core::Loop loop;
    omrt::SystemClock clock;
    ServerAddr v4 = server(env("OMRT_DNS_LAB_V4", "10.79.9.53"));
    ServerAddr v6 = server(env("OMRT_DNS_LAB_V6", "2001:db8:79:9::53"));
    ServerAddr v4_dead = server(env("OMRT_DNS_LAB_V4_DEAD", "10.79.9.99"));
    ServerAddr v6_dead = server(env("OMRT_DNS_LAB_V6_DEAD", "2001:db8:79:9::99"));
    std::string good = env("OMRT_DNS_LAB_GOOD_DEV", "wan-a");
    std::string bad = env("OMRT_DNS_LAB_BAD_DEV", "wan-b");

    void SetUp() override
    {
        if (!std::getenv("OMRT_DNS_LAB"))
            GTEST_SKIP() << "run through lab_bind.sh (needs its namespaces)";
    }
    ResolverOptions opts(std::vector<ServerAddr> servers, const std::string &dev)
    {
        ResolverOptions o;
        o.label = dev.empty() ? "unbound" : dev;
        o.servers = std::move(servers);
        o.device = dev;
        o.timeout_s = 1;
        o.tries = 1;
        return o;
    }
    QueryResult resolve(const ResolverOptions &o, QType t)
    {
        Resolver r(loop, clock, o);
        Waiter w;
        Query q(&Waiter::cb, &w);
        r.start(q, "vps.test", t);
        EXPECT_TRUE(run_until(
                loop, [&] { return w.done; }, 8));
        return q.result();
    }
};

} // namespace

TEST_F(LabBind, BoundToTheRightDeviceAnswers)
{
    QueryResult r = resolve(opts({v4}, good), QType::A);
    EXPECT_EQ(r.reason, Reason::ok) << r.message;
    EXPECT_EQ(join(r.addrs), "198.51.100.10");
    EXPECT_EQ(r.server, v4.str());
    r = resolve(opts({v6}, good), QType::AAAA);
    EXPECT_EQ(r.reason, Reason::ok) << r.message;
    EXPECT_EQ(join(r.addrs), "2001:db8:100::10");
}

TEST_F(LabBind, BoundToTheOtherDeviceTimesOut)
{
    QueryResult r = resolve(opts({v4}, bad), QType::A);
    EXPECT_EQ(r.reason, Reason::dns_timeout) << r.message;
    EXPECT_EQ(r.server, v4.str());
    r = resolve(opts({v6}, bad), QType::AAAA);
    EXPECT_EQ(r.reason, Reason::dns_timeout) << r.message;
}

TEST_F(LabBind, UnboundFollowsTheMainTableAndTimesOut)
{
    // The control: without the binding the main table's route (via wan-b) is used.
    QueryResult r = resolve(opts({v4}, ""), QType::A);
    EXPECT_EQ(r.reason, Reason::dns_timeout) << r.message;
}

TEST_F(LabBind, MixedFamiliesShareOneBoundSocket)
{
    // v6 server first and dead: the answer must come from the v4 server, i.e. through
    // the v4-mapped path of udns' AF_INET6 socket, still bound to wan-a.
    QueryResult r = resolve(opts({v6_dead, v4}, good), QType::A);
    EXPECT_EQ(r.reason, Reason::ok) << r.message;
    EXPECT_EQ(r.server, v4.str());
    r = resolve(opts({v4_dead, v6}, good), QType::AAAA);
    EXPECT_EQ(r.reason, Reason::ok) << r.message;
    EXPECT_EQ(r.server, v6.str());
    r = resolve(opts({v6, v4}, bad), QType::A);
    EXPECT_EQ(r.reason, Reason::dns_timeout) << r.message;
    EXPECT_EQ(r.server, v6.str() + ", " + v4.str());
}

TEST_F(LabBind, PerWanNameStatus)
{
    Resolver ra(loop, clock, opts({v4}, good)), rb(loop, clock, opts({v4}, bad));
    struct L final : NameListener {
        unsigned refreshed = 0;
        void on_name_changed(NameId, const NameStatus &, const AddrList &) override {}
        void on_name_refreshed(NameId, const NameStatus &) override { refreshed++; }
    } l;
    NameOptions no;
    no.hosts_path.clear();
    NameTracker t(loop, clock, l, no);
    std::string err;
    NameId a = t.watch("vps", "vps.test", ra, Family::ipv4, &err);
    NameId b = t.watch("vps", "vps.test", rb, Family::ipv4, &err);
    ASSERT_NE(a, b);
    ASSERT_TRUE(run_until(
            loop, [&] { return l.refreshed >= 2; }, 8));
    EXPECT_EQ(t.status(a)->reason, Reason::ok);
    EXPECT_EQ(t.status(a)->context, good);
    EXPECT_EQ(t.status(b)->reason, Reason::dns_timeout);
    EXPECT_EQ(t.status(b)->context, bad);
    EXPECT_TRUE(t.status(b)->addrs.empty());
}

TEST_F(LabBind, MissingDeviceIsReported)
{
    QueryResult r = resolve(opts({v4}, "wan-gone"), QType::A);
    EXPECT_EQ(r.reason, Reason::no_device) << r.message;
}
