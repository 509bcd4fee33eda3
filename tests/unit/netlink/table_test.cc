// The device table reducer: records in, state and coalesced per-name changes out.
#include "netlink/table.h"
#include "nl_build.h"

#include <gtest/gtest.h>

using namespace nltest;
using nl::LinkChange;

namespace {

struct NetlinkTable : ::testing::Test {
    nl::DeviceTable t;
    std::vector<LinkChange> take()
    {
        std::vector<LinkChange> out;
        t.take_changes(out);
        return out;
    }
    // The single change of a batch, for |name|.
    LinkChange only(const char *name)
    {
        std::vector<LinkChange> c = take();
        EXPECT_EQ(c.size(), 1u);
        if (c.empty())
            return LinkChange();
        EXPECT_EQ(c[0].name, name);
        return c[0];
    }
    const LinkChange *find(const std::vector<LinkChange> &v, const char *name)
    {
        for (const auto &c : v) {
            if (c.name == name)
                return &c;
        }
        return nullptr;
    }
};

} // namespace

TEST(NetlinkUsable, Rule)
{
    // Oper up is usable; LOWER_UP with oper down (veth peer just came up) is not.
    EXPECT_TRUE(nl::device_usable(IFF_UP | IFF_RUNNING | IFF_LOWER_UP, IF_OPER_UP, 1));
    EXPECT_FALSE(nl::device_usable(IFF_UP | IFF_LOWER_UP, IF_OPER_DOWN, 1));
    EXPECT_FALSE(nl::device_usable(IFF_UP, IF_OPER_LOWERLAYERDOWN, -1));
    EXPECT_FALSE(nl::device_usable(IFF_UP | IFF_RUNNING, IF_OPER_DORMANT, -1));
    // Drivers that do not manage operstate: UNKNOWN with UP and RUNNING.
    EXPECT_TRUE(nl::device_usable(IFF_UP | IFF_RUNNING, IF_OPER_UNKNOWN, -1));
    EXPECT_FALSE(nl::device_usable(IFF_UP, IF_OPER_UNKNOWN, -1));
    EXPECT_FALSE(nl::device_usable(IFF_RUNNING, IF_OPER_UP, 1));          // admin down
    EXPECT_FALSE(nl::device_usable(IFF_UP | IFF_RUNNING, IF_OPER_UP, 0)); // carrier 0
    EXPECT_EQ(nl::change_names(nl::kDown | nl::kUp | nl::kSynced), "up|down|synced");
}

TEST_F(NetlinkTable, AppearUsableThenQuiet)
{
    t.apply(link_up(5, "wan1"));
    LinkChange c = only("wan1");
    EXPECT_EQ(c.what, nl::kAppeared | nl::kUp);
    EXPECT_EQ(c.ifindex, 5);
    EXPECT_EQ(c.old_ifindex, 0);
    EXPECT_TRUE(c.state.present);
    EXPECT_TRUE(c.state.usable);
    EXPECT_EQ(c.state.operstate, IF_OPER_UP);
    EXPECT_EQ(c.state.carrier, 1);
    EXPECT_TRUE(take().empty());
    // The same state again is not a change.
    t.apply(link_up(5, "wan1"));
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(t.device_count(), 1u);
    ASSERT_NE(t.find(5), nullptr);
    EXPECT_EQ(t.find(5)->name, "wan1");
}

TEST_F(NetlinkTable, TransitionalLowerUpIsNotUp)
{
    t.apply(link(5, "ve", true, IF_OPER_DOWN, 0));
    EXPECT_EQ(only("ve").what, nl::kAppeared);
    t.apply(link(5, "ve", true, IF_OPER_DOWN, 1)); // LOWER_UP, oper still DOWN
    EXPECT_TRUE(take().empty());
    t.apply(link(5, "ve", true, IF_OPER_UP, 1));
    EXPECT_EQ(only("ve").what, nl::kUp);
}

TEST_F(NetlinkTable, TunWithUnknownOperstate)
{
    t.apply(link(9, "tun0", true, IF_OPER_UNKNOWN));
    LinkChange c = only("tun0");
    EXPECT_TRUE(c.state.usable);
    EXPECT_TRUE(c.has(nl::kUp));
    nl::LinkRecord r = link(9, "tun0", true, IF_OPER_UNKNOWN);
    r.flags &= ~IFF_RUNNING;
    t.apply(r);
    EXPECT_EQ(only("tun0").what, nl::kDown);
}

TEST_F(NetlinkTable, DownReportsOperstateAndCarrier)
{
    t.apply(link_up(5, "wan1"));
    take();
    t.apply(link_down(5, "wan1"));
    LinkChange c = only("wan1");
    EXPECT_EQ(c.what, nl::kDown);
    EXPECT_EQ(c.state.operstate, IF_OPER_DOWN);
    EXPECT_EQ(c.state.carrier, 0);
    EXPECT_FALSE(c.state.usable);
    EXPECT_TRUE(c.state.admin_up);
}

TEST_F(NetlinkTable, BlipWithinOneBatchIsCoalescedButReported)
{
    t.apply(link_up(5, "wan1"));
    take();
    t.apply(link_down(5, "wan1"));
    t.apply(link(5, "wan1", true, IF_OPER_DOWN, 1));
    t.apply(link_up(5, "wan1"));
    LinkChange c = only("wan1");
    EXPECT_EQ(c.what, nl::kDown | nl::kUp);
    EXPECT_TRUE(c.state.usable);
}

TEST_F(NetlinkTable, FloodGivesOneChangeWithFinalState)
{
    t.apply(link_up(5, "wan1"));
    t.apply(link_up(6, "wan2"));
    take();
    for (int i = 0; i < 1000; ++i) {
        t.apply(link_down(5, "wan1"));
        t.apply(link_up(5, "wan1"));
    }
    t.apply(link_down(5, "wan1"));
    LinkChange c = only("wan1");
    EXPECT_EQ(c.what, nl::kDown | nl::kUp);
    EXPECT_FALSE(c.state.usable);
}

TEST_F(NetlinkTable, WirelessEventKeepsOperstate)
{
    t.apply(link_up(3, "wlan0"));
    take();
    nl::LinkRecord ev;
    ev.ifindex = 3;
    ev.has_name = true;
    ev.name = "wlan0";
    ev.flags = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
    t.apply(ev);
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(t.find("wlan0")->operstate, IF_OPER_UP);
}

TEST_F(NetlinkTable, Rename)
{
    t.apply(link_up(5, "wwan0"));
    t.apply(addr(5, "10.64.0.2", 24));
    take();
    t.apply(link_up(5, "wwan1"));
    std::vector<LinkChange> v = take();
    ASSERT_EQ(v.size(), 2u);
    const LinkChange *from = find(v, "wwan0");
    const LinkChange *to = find(v, "wwan1");
    ASSERT_TRUE(from && to);
    EXPECT_EQ(from->what & ~nl::kAddressChanged, nl::kDisappeared | nl::kDown | nl::kRenamed);
    EXPECT_EQ(from->other_name, "wwan1");
    EXPECT_EQ(from->old_ifindex, 5);
    EXPECT_EQ(from->ifindex, 0);
    EXPECT_FALSE(from->state.present);
    EXPECT_EQ(to->what & ~nl::kAddressChanged, nl::kAppeared | nl::kUp | nl::kRenamed);
    EXPECT_EQ(to->other_name, "wwan0");
    EXPECT_EQ(to->ifindex, 5);
    ASSERT_EQ(to->state.addresses.size(), 1u);
    EXPECT_EQ(t.find("wwan0"), nullptr);
    EXPECT_EQ(t.find("wwan1")->ifindex, 5);
}

TEST_F(NetlinkTable, DeleteAndRecreateInOneBatch)
{
    t.apply(link_up(5, "wwan0"));
    take();
    t.apply(link_del(5, "wwan0"));
    t.apply(link_up(7, "wwan0"));
    LinkChange c = only("wwan0");
    EXPECT_EQ(c.what, nl::kDisappeared | nl::kAppeared | nl::kDown | nl::kUp);
    EXPECT_EQ(c.old_ifindex, 5);
    EXPECT_EQ(c.ifindex, 7);
    EXPECT_EQ(t.find(5), nullptr);
}

TEST_F(NetlinkTable, DeleteAndRecreateInTwoBatches)
{
    t.apply(link_up(5, "wwan0"));
    t.apply(addr(5, "10.64.0.2", 24));
    t.apply(droute(5, "10.64.0.1", 0));
    take();
    t.apply(link_del(5, "wwan0"));
    LinkChange gone = only("wwan0");
    EXPECT_TRUE(gone.has(nl::kDisappeared));
    EXPECT_TRUE(gone.has(nl::kDown));
    EXPECT_TRUE(gone.has(nl::kAddressChanged));
    EXPECT_TRUE(gone.has(nl::kGatewayChanged));
    EXPECT_TRUE(t.default_routes().empty()); // the device took its routes along
    t.apply(link_up(8, "wwan0"));
    LinkChange back = only("wwan0");
    EXPECT_EQ(back.what, nl::kAppeared | nl::kUp);
    EXPECT_EQ(back.ifindex, 8);
    EXPECT_TRUE(back.state.addresses.empty());
}

TEST_F(NetlinkTable, LostDeleteResolvedByNameClash)
{
    t.apply(link_up(5, "wwan0"));
    t.apply(addr(5, "10.64.0.2", 24));
    take();
    // The RTM_DELLINK of 5 was lost; 9 now holds the name.
    t.apply(link_up(9, "wwan0"));
    LinkChange c = only("wwan0");
    EXPECT_TRUE(c.has(nl::kDisappeared) && c.has(nl::kAppeared));
    EXPECT_EQ(c.old_ifindex, 5);
    EXPECT_EQ(c.ifindex, 9);
    EXPECT_EQ(t.find(5), nullptr);
    EXPECT_TRUE(t.find("wwan0")->addresses.empty());
}

TEST_F(NetlinkTable, AddressAddRemoveAndDad)
{
    t.apply(link_up(5, "wan1"));
    take();
    t.apply(addr(5, "192.0.2.10", 24));
    LinkChange c = only("wan1");
    EXPECT_EQ(c.what, nl::kAddressChanged);
    ASSERT_NE(c.state.preferred_address(AF_INET), nullptr);
    EXPECT_EQ(c.state.preferred_address(AF_INET)->local.str(), "192.0.2.10");

    // Added and removed within one batch: no net change.
    t.apply(addr(5, "192.0.2.11", 24));
    t.apply(addr_del(5, "192.0.2.11", 24));
    EXPECT_TRUE(take().empty());

    // IPv6: link-local first, a tentative global, then DAD completes.
    t.apply(addr(5, "fe80::1", 64, IFA_F_PERMANENT, nullptr, RT_SCOPE_LINK));
    t.apply(addr(5, "2001:db8::10", 64, IFA_F_TENTATIVE));
    c = only("wan1");
    ASSERT_NE(c.state.preferred_address(AF_INET6), nullptr);
    EXPECT_EQ(c.state.preferred_address(AF_INET6)->local.str(), "fe80::1");
    t.apply(addr(5, "2001:db8::10", 64, 0));
    c = only("wan1");
    EXPECT_EQ(c.what, nl::kAddressChanged);
    EXPECT_EQ(c.state.preferred_address(AF_INET6)->local.str(), "2001:db8::10");
    EXPECT_EQ(c.state.addresses.size(), 3u);

    // A deprecated global loses to a preferred one.
    t.apply(addr(5, "2001:db8::10", 64, IFA_F_DEPRECATED));
    t.apply(addr(5, "2001:db8::20", 64, 0));
    c = only("wan1");
    EXPECT_EQ(c.state.preferred_address(AF_INET6)->local.str(), "2001:db8::20");

    t.apply(addr_del(5, "192.0.2.10", 24));
    c = only("wan1");
    EXPECT_EQ(c.what, nl::kAddressChanged);
    EXPECT_EQ(c.state.preferred_address(AF_INET), nullptr);
}

TEST_F(NetlinkTable, AddressBeforeLink)
{
    t.apply(addr(5, "192.0.2.10", 24));
    EXPECT_TRUE(take().empty()); // no name yet
    EXPECT_EQ(t.find(5), nullptr);
    t.apply(link_up(5, "wan1"));
    LinkChange c = only("wan1");
    EXPECT_EQ(c.what, nl::kAppeared | nl::kUp | nl::kAddressChanged);
    EXPECT_EQ(c.state.addresses.size(), 1u);
}

TEST_F(NetlinkTable, GatewayLowestMetricAnyTable)
{
    t.apply(link_up(5, "wan1"));
    t.apply(addr(5, "192.0.2.10", 24));
    take();
    t.apply(droute(5, "192.0.2.1", 100));
    LinkChange c = only("wan1");
    EXPECT_EQ(c.what, nl::kGatewayChanged);
    EXPECT_EQ(c.state.gw4.source, nl::GatewaySource::Route);
    EXPECT_EQ(c.state.gw4.addr.str(), "192.0.2.1");
    EXPECT_EQ(c.state.gw4.metric, 100u);
    EXPECT_EQ(c.state.gw4.table, unsigned(RT_TABLE_MAIN));
    EXPECT_FALSE(c.state.gw6.present());

    // A lower metric in another table wins.
    t.apply(droute(5, "192.0.2.2", 10, 200));
    c = only("wan1");
    EXPECT_EQ(c.state.gw4.addr.str(), "192.0.2.2");
    EXPECT_EQ(c.state.gw4.table, 200u);
    // The same metric in main beats another table.
    t.apply(droute(5, "192.0.2.3", 10, RT_TABLE_MAIN));
    c = only("wan1");
    EXPECT_EQ(c.state.gw4.addr.str(), "192.0.2.3");
    // Deleted: back to the next best.
    t.apply(droute_del(5, "192.0.2.3", 10, RT_TABLE_MAIN));
    c = only("wan1");
    EXPECT_EQ(c.state.gw4.addr.str(), "192.0.2.2");
    t.apply(droute_del(5, "192.0.2.2", 10, 200));
    EXPECT_EQ(only("wan1").state.gw4.addr.str(), "192.0.2.1");
    // A default route on another device is not ours.
    t.apply(link_up(6, "wan2"));
    take();
    t.apply(droute(6, "198.51.100.1", 1));
    std::vector<LinkChange> v = take();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].name, "wan2");
    EXPECT_EQ(t.find("wan1")->gw4.addr.str(), "192.0.2.1");
}

TEST_F(NetlinkTable, RouteOnlyInAnotherTable)
{
    t.apply(link_up(5, "wan1"));
    take();
    t.apply(droute(5, "192.0.2.1", 0, 1001));
    LinkChange c = only("wan1");
    EXPECT_EQ(c.state.gw4.addr.str(), "192.0.2.1");
    EXPECT_EQ(c.state.gw4.table, 1001u);
}

TEST_F(NetlinkTable, NonDefaultRoutesIgnored)
{
    t.apply(link_up(5, "wan1"));
    take();
    nl::RouteRecord r = droute(5, "192.0.2.1");
    r.dst_len = 24;
    r.dst = ip("10.0.0.0");
    t.apply(r);
    EXPECT_TRUE(take().empty());
    EXPECT_TRUE(t.default_routes().empty());
}

TEST_F(NetlinkTable, ReplaceChangesGateway)
{
    t.apply(link_up(5, "wan1"));
    t.apply(droute(5, "192.0.2.1", 0));
    take();
    nl::RouteRecord r = droute(5, "192.0.2.9", 0);
    r.replace = true;
    t.apply(r);
    LinkChange c = only("wan1");
    EXPECT_EQ(c.what, nl::kGatewayChanged);
    EXPECT_EQ(c.state.gw4.addr.str(), "192.0.2.9");
    EXPECT_EQ(t.default_routes().size(), 1u);
}

TEST_F(NetlinkTable, MultipathAcrossDevicesAndPartialDelete)
{
    t.apply(link_up(5, "wan1"));
    t.apply(link_up(6, "wan2"));
    take();
    nl::RouteRecord r;
    r.family = AF_INET6;
    r.table = RT_TABLE_MAIN;
    r.has_priority = true;
    r.priority = 1024;
    r.multipath = true;
    nl::Nexthop a, b;
    a.ifindex = 5;
    a.gateway = ip("fe80::1");
    b.ifindex = 6;
    b.gateway = ip("fe80::2");
    r.nexthops = {a, b};
    t.apply(r);
    std::vector<LinkChange> v = take();
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(t.find("wan1")->gw6.addr.str(), "fe80::1");
    EXPECT_EQ(t.find("wan2")->gw6.addr.str(), "fe80::2");
    // IPv6 removes one sibling with a single-nexthop RTM_DELROUTE.
    nl::RouteRecord d = r;
    d.deleted = true;
    d.multipath = false;
    d.nexthops = {b};
    t.apply(d);
    LinkChange c = only("wan2");
    EXPECT_EQ(c.what, nl::kGatewayChanged);
    EXPECT_FALSE(c.state.gw6.present());
    EXPECT_EQ(t.find("wan1")->gw6.addr.str(), "fe80::1");
}

TEST_F(NetlinkTable, DeadNexthopIsNoGateway)
{
    t.apply(link_up(5, "wan1"));
    nl::RouteRecord r = droute(5, "192.0.2.1");
    r.nexthops[0].flags = RTNH_F_DEAD;
    t.apply(r);
    EXPECT_FALSE(t.find("wan1")->gw4.present());
}

TEST_F(NetlinkTable, AdminDownFlushesIpv4RoutesOnly)
{
    t.apply(link_up(5, "wan1"));
    t.apply(addr(5, "192.0.2.10", 24));
    t.apply(droute(5, "192.0.2.1"));
    t.apply(droute(5, "2001:db8::1", 1024));
    take();
    t.apply(link(5, "wan1", false, IF_OPER_DOWN, 0));
    LinkChange c = only("wan1");
    EXPECT_TRUE(c.has(nl::kDown));
    EXPECT_TRUE(c.has(nl::kGatewayChanged));
    EXPECT_FALSE(c.state.gw4.present());
    EXPECT_EQ(c.state.gw6.addr.str(), "2001:db8::1");
    // Carrier loss alone keeps the routes (the kernel marks them linkdown).
    t.apply(link_up(5, "wan1"));
    t.apply(droute(5, "192.0.2.1"));
    take();
    t.apply(link_down(5, "wan1"));
    EXPECT_EQ(only("wan1").state.gw4.addr.str(), "192.0.2.1");
}

TEST_F(NetlinkTable, LastIpv4AddressFlushesIpv4Routes)
{
    t.apply(link_up(5, "wan1"));
    t.apply(addr(5, "192.0.2.10", 24));
    t.apply(addr(5, "198.51.100.10", 24));
    t.apply(droute(5, "192.0.2.1"));
    nl::RouteRecord src = droute(5, "198.51.100.1", 5, 300);
    src.prefsrc = ip("198.51.100.10");
    t.apply(src);
    take();
    EXPECT_EQ(t.default_routes().size(), 2u);
    // Deleting an address drops the routes that used it as preferred source.
    t.apply(addr_del(5, "198.51.100.10", 24));
    EXPECT_EQ(t.default_routes().size(), 1u);
    EXPECT_EQ(only("wan1").state.gw4.addr.str(), "192.0.2.1");
    t.apply(addr_del(5, "192.0.2.10", 24));
    LinkChange c = only("wan1");
    EXPECT_TRUE(c.has(nl::kGatewayChanged));
    EXPECT_FALSE(c.state.gw4.present());
}

TEST_F(NetlinkTable, PointToPointPeerAsGateway)
{
    t.apply(link(4, "ppp0", true, IF_OPER_UNKNOWN));
    t.apply(addr(4, "10.64.1.2", 32, IFA_F_PERMANENT, "10.64.1.1"));
    LinkChange c = only("ppp0");
    EXPECT_EQ(c.state.gw4.source, nl::GatewaySource::Peer);
    EXPECT_EQ(c.state.gw4.addr.str(), "10.64.1.1");
    // "default dev ppp0": still the peer, with the route's metric.
    t.apply(droute(4, nullptr, 30));
    c = only("ppp0");
    EXPECT_EQ(c.state.gw4.source, nl::GatewaySource::Peer);
    EXPECT_EQ(c.state.gw4.metric, 30u);
    // A device route without a peer: direct.
    t.apply(link(10, "wwan0", true, IF_OPER_UNKNOWN));
    t.apply(droute(10, nullptr, 40));
    c = only("wwan0");
    EXPECT_EQ(c.state.gw4.source, nl::GatewaySource::Direct);
    EXPECT_TRUE(c.state.gw4.addr.empty());
    EXPECT_TRUE(c.state.gw4.present());
}

TEST_F(NetlinkTable, DumpSweepRemovesWhatWasLost)
{
    t.apply(link_up(5, "wan1"));
    t.apply(link_up(6, "wan2"));
    t.apply(addr(5, "192.0.2.10", 24));
    t.apply(addr(5, "192.0.2.11", 24));
    t.apply(droute(5, "192.0.2.1"));
    t.apply(droute(6, "198.51.100.1"));
    take();

    t.dump_begin(nl::DeviceTable::Kind::Links);
    t.apply(link_up(5, "wan1"));
    t.apply(link_up(7, "wan3")); // an event during the dump: kept
    t.dump_end(nl::DeviceTable::Kind::Links);
    t.dump_begin(nl::DeviceTable::Kind::Addrs);
    t.apply(addr(5, "192.0.2.10", 24));
    t.dump_end(nl::DeviceTable::Kind::Addrs);
    t.dump_begin(nl::DeviceTable::Kind::Routes);
    t.dump_end(nl::DeviceTable::Kind::Routes);

    std::vector<LinkChange> v = take();
    const LinkChange *w1 = find(v, "wan1");
    const LinkChange *w2 = find(v, "wan2");
    const LinkChange *w3 = find(v, "wan3");
    ASSERT_TRUE(w1 && w2 && w3);
    EXPECT_EQ(w1->what, nl::kAddressChanged | nl::kGatewayChanged);
    EXPECT_EQ(w1->state.addresses.size(), 1u);
    EXPECT_FALSE(w1->state.gw4.present());
    EXPECT_TRUE(w2->has(nl::kDisappeared));
    EXPECT_TRUE(w3->has(nl::kAppeared));
    EXPECT_EQ(t.device_count(), 2u);
    EXPECT_TRUE(t.default_routes().empty());
}

TEST_F(NetlinkTable, ClearForgetsSilently)
{
    t.apply(link_up(5, "wan1"));
    t.clear();
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(t.device_count(), 0u);
    EXPECT_FALSE(t.state("wan1").present);
}
