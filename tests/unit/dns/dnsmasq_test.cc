// The resolver and the name tracker against a real dnsmasq on loopback: A + AAAA, a DDNS
// change followed within TTL + 1 s, NXDOMAIN when the name goes, the server killed
// (timeout, last answer kept and marked stale), and the steady-state query budget
// counted in dnsmasq's own query log.
#include "dns/names.h"
#include "dns/resolver.h"
#include "dnsmasq.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cstdio>

using namespace dns;
using namespace dnstest;
using omrt::Reason;

namespace {

const char kHosts[] = "198.51.100.10 vps.test\n2001:db8:100::10 vps.test\n";

struct Events final : NameListener {
    unsigned changed = 0, refreshed = 0;
    double last_change_s = 0;
    AddrList last_old, last_new;
    void on_name_changed(NameId, const NameStatus &st, const AddrList &old) override
    {
        changed++;
        last_change_s = mono_s();
        last_old = old;
        last_new = st.addrs;
    }
    void on_name_refreshed(NameId, const NameStatus &) override { refreshed++; }
};

struct DnsmasqTest : ::testing::Test {
    core::Loop loop;
    omrt::SystemClock clock;
    Dnsmasq dnsmasq;

    void SetUp() override
    {
        std::string err;
        if (find_dnsmasq().empty())
            GTEST_SKIP() << "dnsmasq is not installed";
        ASSERT_TRUE(dnsmasq.start("127.0.0.1", 2, kHosts, &err)) << err;
    }
    ResolverOptions ropts()
    {
        ResolverOptions o;
        o.label = "wan1";
        o.servers = {dnsmasq.server()};
        o.timeout_s = 1;
        o.tries = 1;
        return o;
    }
    NameOptions nopts(unsigned floor_s)
    {
        NameOptions o;
        o.ttl_floor_s = floor_s;
        o.retry_jitter_pct = 0;
        o.hosts_path.clear();
        return o;
    }
};

} // namespace

TEST_F(DnsmasqTest, ResolvesAAndAaaa)
{
    Resolver r(loop, clock, ropts());
    Events ev;
    NameTracker t(loop, clock, ev, nopts(1));
    std::string err;
    NameId id = t.watch("vps", "vps.test", r, Family::both, &err);
    ASSERT_TRUE(run_until(
            loop, [&] { return ev.refreshed >= 1; }, 5));
    const NameStatus *st = t.status(id);
    EXPECT_EQ(st->reason, Reason::ok) << st->message;
    EXPECT_EQ(join(st->addrs), "198.51.100.10, 2001:db8:100::10");
    EXPECT_EQ(st->record_ttl_s, 2u); // local-ttl
    EXPECT_EQ(st->ttl_s, 2u);
    EXPECT_EQ(st->server, dnsmasq.server().str());
    EXPECT_GE(st->rtt_us, 0);
    EXPECT_EQ(ev.changed, 1u);
    EXPECT_EQ(dnsmasq.queries("vps.test", "A"), 1u);
    EXPECT_EQ(dnsmasq.queries("vps.test", "AAAA"), 1u);

    // Unknown names in the zone: NXDOMAIN straight from the resolver.
    NameId nx = t.watch("other", "nothere.test", r, Family::ipv4, &err);
    ASSERT_TRUE(run_until(
            loop, [&] { return t.status(nx)->reason != Reason::pending; }, 5));
    EXPECT_EQ(t.status(nx)->reason, Reason::dns_nxdomain);
}

TEST_F(DnsmasqTest, FollowsDdnsChangesWithinTtlPlusOneSecond)
{
    Resolver r(loop, clock, ropts());
    Events ev;
    NameTracker t(loop, clock, ev, nopts(1)); // floor below the TTL: the TTL governs
    std::string err;
    NameId id = t.watch("vps", "vps.test", r, Family::both, &err);
    ASSERT_TRUE(run_until(
            loop, [&] { return ev.changed == 1; }, 5));
    double worst = 0;
    const char *next[] = {"198.51.100.11", "198.51.100.12", "198.51.100.13"};
    for (const char *addr : next) {
        // Change right after a refresh: the worst case, a whole TTL until the next one.
        unsigned refreshed = ev.refreshed;
        ASSERT_TRUE(run_until(
                loop, [&] { return ev.refreshed > refreshed; }, 5));
        unsigned changed = ev.changed;
        double t0 = mono_s();
        dnsmasq.write_hosts(std::string(addr) + " vps.test\n2001:db8:100::10 vps.test\n");
        ASSERT_TRUE(run_until(
                loop, [&] { return ev.changed > changed; }, 6))
                << addr;
        double follow = ev.last_change_s - t0;
        worst = std::max(worst, follow);
        std::printf("DDNS change to %s followed in %.2f s (TTL 2 s)\n", addr, follow);
        EXPECT_LE(follow, 2.0 + 1.0) << addr;
        EXPECT_EQ(ev.changed, changed + 1);
        EXPECT_EQ(join(ev.last_new), std::string(addr) + ", 2001:db8:100::10");
    }
    RecordProperty("ddns_follow_worst_ms", int(worst * 1000));
    std::printf("DDNS follow time, worst of 3: %.2f s\n", worst);
    // Exactly once: two more TTLs with no change bring no notification.
    unsigned changed = ev.changed, refreshed = ev.refreshed;
    ASSERT_TRUE(run_until(
            loop, [&] { return ev.refreshed >= refreshed + 2; }, 6));
    EXPECT_EQ(ev.changed, changed);
    EXPECT_EQ(t.status(id)->changes, 4u);
}

TEST_F(DnsmasqTest, NxdomainWhenTheNameIsRemovedThenTimeoutWhenTheServerDies)
{
    Resolver r(loop, clock, ropts());
    Events ev;
    NameTracker t(loop, clock, ev, nopts(1));
    std::string err;
    NameId id = t.watch("vps", "vps.test", r, Family::both, &err);
    ASSERT_TRUE(run_until(
            loop, [&] { return ev.changed == 1; }, 5));

    dnsmasq.write_hosts("198.51.100.99 somethingelse.test\n");
    ASSERT_TRUE(run_until(
            loop, [&] { return t.status(id)->reason == Reason::dns_nxdomain; }, 6));
    const NameStatus *st = t.status(id);
    EXPECT_TRUE(st->stale);
    EXPECT_EQ(join(st->addrs), "198.51.100.10, 2001:db8:100::10");
    EXPECT_EQ(ev.changed, 1u);

    dnsmasq.write_hosts(kHosts);
    t.refresh(id, "test");
    ASSERT_TRUE(run_until(
            loop, [&] { return t.status(id)->reason == Reason::ok; }, 8));
    EXPECT_FALSE(t.status(id)->stale);

    dnsmasq.stop();
    double t0 = mono_s();
    ASSERT_TRUE(run_until(
            loop, [&] { return t.status(id)->reason == Reason::dns_timeout; }, 8));
    std::printf("server killed: dns_timeout reported after %.2f s\n", mono_s() - t0);
    st = t.status(id);
    EXPECT_TRUE(st->stale);
    EXPECT_EQ(join(st->addrs), "198.51.100.10, 2001:db8:100::10");
    EXPECT_EQ(st->server, dnsmasq.server().str());
    EXPECT_NE(st->message.find("no reply from"), std::string::npos) << st->message;
    EXPECT_EQ(ev.changed, 1u);
}

TEST_F(DnsmasqTest, SteadyStateQueryBudget)
{
    Resolver r(loop, clock, ropts());
    Events ev_floor, ev_ttl;
    // Floor 5 s above the 2 s TTL: the floor governs. Floor 1 s: the TTL governs.
    NameTracker floor5(loop, clock, ev_floor, nopts(5));
    NameTracker floor1(loop, clock, ev_ttl, nopts(1));
    std::string err;
    floor5.watch("vps", "vps.test", r, Family::both, &err);
    floor1.watch("static", "static.test", r, Family::both, &err);
    ASSERT_TRUE(run_until(
            loop, [&] { return ev_floor.refreshed && ev_ttl.refreshed; }, 5));
    struct Count {
        unsigned a, aaaa;
    };
    auto counts = [&](const char *name) {
        return Count{dnsmasq.queries(name, "A"), dnsmasq.queries(name, "AAAA")};
    };
    Count vps0 = counts("vps.test"), static0 = counts("static.test");
    const double window_s = 15.0;
    double t0 = mono_s();
    run_until(
            loop, [] { return false; }, window_s); // steady state: nothing to wait for
    double elapsed = mono_s() - t0;
    Count vps1 = counts("vps.test"), static1 = counts("static.test");
    unsigned vps_a = vps1.a - vps0.a, vps_aaaa = vps1.aaaa - vps0.aaaa;
    unsigned st_a = static1.a - static0.a, st_aaaa = static1.aaaa - static0.aaaa;
    std::printf("steady state over %.1f s: vps.test (TTL 2, floor 5): %u A + %u AAAA; "
                "static.test (TTL 2, floor 1): %u A + %u AAAA\n",
                elapsed, vps_a, vps_aaaa, st_a, st_aaaa);
    // At most one query per name per type per max(TTL, floor), +1 slack.
    unsigned budget5 = unsigned(elapsed / 5.0) + 1, budget2 = unsigned(elapsed / 2.0) + 1;
    EXPECT_LE(vps_a, budget5);
    EXPECT_LE(vps_aaaa, budget5);
    EXPECT_LE(st_a, budget2);
    EXPECT_LE(st_aaaa, budget2);
    // And not zero: the names are refreshed, not forgotten.
    EXPECT_GE(vps_a, budget5 - 2);
    EXPECT_GE(st_a, budget2 - 2);
    RecordProperty("queries_vps_floor5_a", int(vps_a));
    RecordProperty("queries_static_ttl2_a", int(st_a));
}
