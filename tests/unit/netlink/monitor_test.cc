// The monitor against the real kernel, in whatever namespace the test runs: no root
// needed (reading rtnetlink is unprivileged) and nothing is changed. The namespace tests
// that change links are in live_test.cc.
#include "netlink/monitor.h"

#include "core/log.h"
#include "core/loop.h"

#include <gtest/gtest.h>

#include <net/if.h>

namespace {

struct Recorder final : nl::LinkListener {
    core::Loop *loop = nullptr;
    nl::Monitor *mon = nullptr;
    std::vector<nl::LinkChange> seen;
    bool break_on_sync = true;
    LinkListener *remove_other = nullptr;
    bool remove_self = false;
    void on_link_change(const nl::LinkChange &c) override
    {
        seen.push_back(c);
        if (remove_other)
            mon->remove_listener(remove_other);
        if (remove_self)
            mon->remove_listener(this);
        if (break_on_sync && c.has(nl::kSynced))
            loop->break_loop();
    }
};

struct NetlinkMonitor : ::testing::Test {
    core::Loop loop;
    omrt::SystemClock clock;
    bool watchdog_fired = false;
    core::Timer watchdog{loop,
                         [](void *ctx) noexcept {
                             auto *t = static_cast<NetlinkMonitor *>(ctx);
                             t->watchdog_fired = true;
                             t->loop.break_loop();
                         },
                         this};
    void SetUp() override
    {
        core::log_init("test", core::LogSink::Stderr, LOG_INFO);
        watchdog.start(5.0);
    }
};

} // namespace

TEST_F(NetlinkMonitor, InitialDumpSeesLoopbackAndSyncsEveryName)
{
    nl::Monitor mon(loop, clock);
    Recorder lo, none;
    lo.loop = none.loop = &loop;
    lo.mon = none.mon = &mon;
    none.break_on_sync = false;
    mon.add_listener("lo", &lo);
    mon.add_listener("omrt-none0", &none);
    std::string err;
    ASSERT_TRUE(mon.start(&err)) << err;
    EXPECT_FALSE(mon.synced());
    EXPECT_EQ(mon.find("lo"), nullptr); // nothing is answered before the dump ran
    loop.run();
    ASSERT_FALSE(watchdog_fired);
    EXPECT_TRUE(mon.synced());

    ASSERT_EQ(lo.seen.size(), 1u);
    const nl::LinkChange &c = lo.seen[0];
    EXPECT_TRUE(c.has(nl::kSynced));
    EXPECT_TRUE(c.has(nl::kAppeared));
    EXPECT_TRUE(c.state.present);
    EXPECT_TRUE(c.state.flags & IFF_LOOPBACK);
    if (c.state.admin_up) { // not in a fresh namespace
        EXPECT_TRUE(c.has(nl::kUp));
        EXPECT_TRUE(c.state.usable); // operstate UNKNOWN, IFF_UP|IFF_RUNNING
        const nl::Address *a = c.state.preferred_address(AF_INET);
        ASSERT_NE(a, nullptr);
        EXPECT_EQ(a->local.str(), "127.0.0.1");
    }

    ASSERT_EQ(none.seen.size(), 1u);
    EXPECT_EQ(none.seen[0].what, nl::kSynced);
    EXPECT_FALSE(none.seen[0].state.present);

    const nl::MonitorStats &st = mon.stats();
    EXPECT_EQ(st.dumps_completed, 1u);
    EXPECT_EQ(st.malformed, 0u);
    EXPECT_EQ(st.enobufs, 0u);
    EXPECT_GT(st.rcvbuf_bytes, 0);
    ASSERT_NE(mon.find("lo"), nullptr);
    EXPECT_EQ(mon.state("lo").ifindex, c.ifindex);

    // A reload dumps again; an unchanged kernel yields only kSynced.
    lo.seen.clear();
    mon.request_dump();
    loop.run();
    ASSERT_FALSE(watchdog_fired);
    ASSERT_EQ(lo.seen.size(), 1u);
    EXPECT_EQ(lo.seen[0].what, nl::kSynced);
    EXPECT_EQ(mon.stats().dumps_completed, 2u);

    mon.stop();
    mon.stop(); // idempotent
    EXPECT_FALSE(mon.running());
    EXPECT_FALSE(mon.synced());
    EXPECT_EQ(mon.find("lo"), nullptr);
}

TEST_F(NetlinkMonitor, ListenersMayUnregisterDuringDispatch)
{
    nl::Monitor mon(loop, clock);
    Recorder first, second, third;
    for (Recorder *r : {&first, &second, &third}) {
        r->loop = &loop;
        r->mon = &mon;
        r->break_on_sync = false;
    }
    third.break_on_sync = true;
    first.remove_other = &second; // first removes second before it is called
    first.remove_self = true;
    mon.add_listener("lo", &first);
    mon.add_listener("lo", &second);
    mon.add_listener("lo", &third);
    std::string err;
    ASSERT_TRUE(mon.start(&err)) << err;
    loop.run();
    ASSERT_FALSE(watchdog_fired);
    EXPECT_EQ(first.seen.size(), 1u);
    EXPECT_EQ(second.seen.size(), 0u);
    EXPECT_EQ(third.seen.size(), 1u);
    // Only third is left: a reload reaches it alone.
    mon.request_dump();
    loop.run();
    EXPECT_EQ(first.seen.size(), 1u);
    EXPECT_EQ(third.seen.size(), 2u);
}
