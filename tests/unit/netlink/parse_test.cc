// The rtnetlink parser: recorded kernel messages, hand-built ones, and lies.
#include "netlink/parse.h"
#include "nl_build.h"
#include "recorded.h"

#include <gtest/gtest.h>

#include <cerrno>

using namespace nltest;

namespace {

template <size_t N>
Buf concat(const char *const (&hexes)[N])
{
    Buf all;
    for (const char *h : hexes) {
        Buf b = from_hex(h);
        all.append(b.data(), b.size());
    }
    return all;
}

Buf all_recorded()
{
    Buf all = concat(recorded::kLinks);
    Buf a = concat(recorded::kAddrs);
    Buf r = concat(recorded::kRoutes);
    all.append(a.data(), a.size());
    all.append(r.data(), r.size());
    return all;
}

const nl::AddrRecord *find_addr(const Collector &c, const char *local)
{
    for (const auto &a : c.addrs) {
        if (a.local == ip(local))
            return &a;
    }
    return nullptr;
}

Msg newlink(int32_t ifindex, const char *name, uint16_t type = RTM_NEWLINK)
{
    Msg m(type);
    auto *ifi = m.extra<struct ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_flags = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
    if (name)
        m.strz(IFLA_IFNAME, name);
    return m;
}

Msg newaddr(int family, int32_t ifindex, uint8_t prefixlen, uint16_t type = RTM_NEWADDR)
{
    Msg m(type);
    auto *ifa = m.extra<struct ifaddrmsg>();
    ifa->ifa_family = static_cast<uint8_t>(family);
    ifa->ifa_prefixlen = prefixlen;
    ifa->ifa_index = static_cast<uint32_t>(ifindex);
    return m;
}

Msg newroute(int family, uint8_t dst_len = 0, uint8_t type = RTN_UNICAST,
             uint16_t msg_type = RTM_NEWROUTE, uint16_t flags = 0)
{
    Msg m(msg_type, flags);
    auto *rtm = m.extra<struct rtmsg>();
    rtm->rtm_family = static_cast<uint8_t>(family);
    rtm->rtm_dst_len = dst_len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_type = type;
    rtm->rtm_protocol = RTPROT_STATIC;
    return m;
}

// Appends one struct rtnexthop (+ gateway attribute) to a byte vector.
void put_nexthop(std::vector<uint8_t> &v, int32_t ifindex, const char *gw,
                 uint16_t len_override = 0)
{
    std::vector<uint8_t> attrs;
    if (gw) {
        nl::IpAddr a = ip(gw);
        struct nlattr na;
        na.nla_type = RTA_GATEWAY;
        na.nla_len = static_cast<uint16_t>(sizeof(na) + a.size());
        attrs.resize(MNL_ALIGN(na.nla_len));
        std::memcpy(attrs.data(), &na, sizeof(na));
        std::memcpy(attrs.data() + sizeof(na), a.bytes, a.size());
    }
    struct rtnexthop nh;
    std::memset(&nh, 0, sizeof(nh));
    nh.rtnh_len = len_override ? len_override : static_cast<uint16_t>(sizeof(nh) + attrs.size());
    nh.rtnh_ifindex = ifindex;
    const uint8_t *p = reinterpret_cast<const uint8_t *>(&nh);
    v.insert(v.end(), p, p + sizeof(nh));
    v.insert(v.end(), attrs.begin(), attrs.end());
}

} // namespace

// ---------------------------------------------------------------------------
// Recorded real messages

TEST(NetlinkParseRecorded, Links)
{
    Collector c;
    nl::ParseStats st = parse(concat(recorded::kLinks), c);
    EXPECT_FALSE(st.framing_error);
    EXPECT_EQ(st.malformed, 0u);
    ASSERT_EQ(c.links.size(), 2u);
    const nl::LinkRecord &lo = c.links[0];
    EXPECT_EQ(lo.name, "lo");
    EXPECT_EQ(lo.ifindex, 1);
    EXPECT_TRUE(lo.flags & IFF_LOOPBACK);
    EXPECT_TRUE(lo.has_operstate);
    EXPECT_EQ(lo.operstate, IF_OPER_UNKNOWN);
    const nl::LinkRecord &ve = c.links[1];
    EXPECT_EQ(ve.name, "veA");
    EXPECT_EQ(ve.ifindex, 2);
    EXPECT_EQ(ve.operstate, IF_OPER_UP);
    EXPECT_TRUE(ve.has_carrier);
    EXPECT_EQ(ve.carrier, 1);
    EXPECT_TRUE(ve.has_kind);
    EXPECT_EQ(ve.kind, "veth");
    EXPECT_EQ(ve.flags & (IFF_UP | IFF_RUNNING | IFF_LOWER_UP),
              unsigned(IFF_UP | IFF_RUNNING | IFF_LOWER_UP));
    EXPECT_FALSE(ve.deleted);
    EXPECT_TRUE(c.infos[1].flags & NLM_F_MULTI);
}

TEST(NetlinkParseRecorded, Addresses)
{
    Collector c;
    nl::ParseStats st = parse(concat(recorded::kAddrs), c);
    EXPECT_EQ(st.malformed, 0u);
    EXPECT_FALSE(st.framing_error);
    const nl::AddrRecord *v4 = find_addr(c, "10.79.0.1");
    ASSERT_NE(v4, nullptr);
    EXPECT_EQ(v4->family, AF_INET);
    EXPECT_EQ(v4->prefixlen, 24);
    EXPECT_EQ(v4->ifindex, 2);
    EXPECT_TRUE(v4->peer.empty()); // IFA_ADDRESS == IFA_LOCAL on a broadcast link
    EXPECT_EQ(v4->label, "veA");
    EXPECT_EQ(v4->scope, RT_SCOPE_UNIVERSE);
    EXPECT_TRUE(v4->has_cacheinfo);

    const nl::AddrRecord *ptp = find_addr(c, "10.80.0.1");
    ASSERT_NE(ptp, nullptr);
    EXPECT_EQ(ptp->peer.str(), "10.80.0.2");
    EXPECT_EQ(ptp->prefixlen, 32);

    const nl::AddrRecord *v6 = find_addr(c, "2001:db8:79::1");
    ASSERT_NE(v6, nullptr);
    EXPECT_EQ(v6->prefixlen, 64);
    EXPECT_TRUE(v6->flags & IFA_F_NODAD);
    EXPECT_TRUE(v6->flags & IFA_F_PERMANENT);
    EXPECT_FALSE(v6->flags & IFA_F_TENTATIVE);
    EXPECT_TRUE(v6->peer.empty());

    bool link_local = false;
    for (const auto &a : c.addrs)
        link_local |= a.family == AF_INET6 && a.scope == RT_SCOPE_LINK && a.ifindex == 2;
    EXPECT_TRUE(link_local);
}

TEST(NetlinkParseRecorded, RoutesUnicastOnlyWithMultipath)
{
    Collector c;
    nl::ParseStats st = parse(concat(recorded::kRoutes), c);
    EXPECT_EQ(st.malformed, 0u);
    EXPECT_GT(st.ignored, 0u); // local and broadcast routes of the local table
    for (const auto &r : c.routes)
        EXPECT_NE(r.table, unsigned(RT_TABLE_LOCAL)) << r.dst.str();

    const nl::RouteRecord *main4 = nullptr, *mp4 = nullptr, *mp6 = nullptr;
    for (const auto &r : c.routes) {
        if (!r.is_default())
            continue;
        if (r.family == AF_INET && r.table == RT_TABLE_MAIN)
            main4 = &r;
        if (r.family == AF_INET && r.table == 100)
            mp4 = &r;
        if (r.family == AF_INET6)
            mp6 = &r;
    }
    ASSERT_NE(main4, nullptr);
    EXPECT_FALSE(main4->multipath);
    ASSERT_EQ(main4->nexthops.size(), 1u);
    EXPECT_EQ(main4->nexthops[0].gateway.str(), "10.79.0.2");
    EXPECT_EQ(main4->nexthops[0].ifindex, 2);
    EXPECT_TRUE(main4->has_priority);
    EXPECT_EQ(main4->priority, 10u);

    ASSERT_NE(mp4, nullptr);
    EXPECT_TRUE(mp4->multipath);
    ASSERT_EQ(mp4->nexthops.size(), 2u);
    EXPECT_EQ(mp4->nexthops[0].gateway.str(), "10.79.0.3");
    EXPECT_EQ(mp4->nexthops[1].gateway.str(), "10.79.0.4");
    EXPECT_EQ(mp4->nexthops[1].hops, 1); // weight 2
    EXPECT_EQ(mp4->nexthops[1].ifindex, 2);

    ASSERT_NE(mp6, nullptr);
    EXPECT_EQ(mp6->priority, 1024u);
    ASSERT_EQ(mp6->nexthops.size(), 2u);
    EXPECT_EQ(mp6->nexthops[0].gateway.str(), "2001:db8:79::2");
    EXPECT_EQ(mp6->nexthops[1].gateway.str(), "2001:db8:79::3");

    // A connected route: dst and prefix, no gateway.
    bool connected = false;
    for (const auto &r : c.routes) {
        if (r.family == AF_INET && r.dst.str() == "10.79.0.0" && r.dst_len == 24) {
            connected = true;
            EXPECT_EQ(r.prefsrc.str(), "10.79.0.1");
            ASSERT_EQ(r.nexthops.size(), 1u);
            EXPECT_TRUE(r.nexthops[0].gateway.empty());
        }
    }
    EXPECT_TRUE(connected);
}

TEST(NetlinkParseRecorded, AllInOneBuffer)
{
    Collector c;
    nl::ParseStats st = parse(all_recorded(), c);
    EXPECT_FALSE(st.framing_error);
    EXPECT_EQ(st.malformed, 0u);
    EXPECT_EQ(st.messages, std::size(recorded::kLinks) + std::size(recorded::kAddrs) +
                                   std::size(recorded::kRoutes));
    EXPECT_EQ(st.links, 2u);
    EXPECT_EQ(st.addrs, std::size(recorded::kAddrs));
    EXPECT_EQ(st.routes + st.ignored, std::size(recorded::kRoutes));
}

// Every recorded message cut at every byte, two ways: the buffer ends early (nlmsg_len
// still claims the full length) and the message claims the shorter length.
TEST(NetlinkParseRecorded, TruncatedAtEveryByte)
{
    std::vector<const char *> all;
    for (const char *h : recorded::kLinks)
        all.push_back(h);
    for (const char *h : recorded::kAddrs)
        all.push_back(h);
    for (const char *h : recorded::kRoutes)
        all.push_back(h);
    for (const char *hex : all) {
        Buf full = from_hex(hex);
        for (size_t n = 0; n < full.size(); ++n) {
            Buf cut(n);
            std::memcpy(cut.data(), full.data(), n);
            Collector c;
            nl::ParseStats st = parse(cut, c);
            EXPECT_EQ(c.records(), 0u) << n;
            EXPECT_EQ(st.messages, 0u);
            EXPECT_EQ(st.framing_error, n > 0) << n;

            if (n < sizeof(struct nlmsghdr))
                continue;
            reinterpret_cast<struct nlmsghdr *>(cut.data())->nlmsg_len = static_cast<uint32_t>(n);
            Collector c2;
            nl::ParseStats st2 = parse(cut, c2);
            EXPECT_EQ(st2.messages, 1u);
            EXPECT_EQ(c2.records() + st2.malformed + st2.ignored, 1u) << n;
        }
    }
}

// Random byte mutations of the whole recorded stream: never a crash, and the counts add up.
TEST(NetlinkParseRecorded, MutationsNeverCrash)
{
    const Buf base = all_recorded();
    uint64_t x = 0x9e3779b97f4a7c15ull;
    auto rnd = [&x]() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    for (int iter = 0; iter < 20000; ++iter) {
        Buf b(base.size());
        std::memcpy(b.data(), base.data(), base.size());
        int flips = 1 + static_cast<int>(rnd() % 8);
        for (int i = 0; i < flips; ++i)
            b.data()[rnd() % b.size()] = static_cast<uint8_t>(rnd());
        Collector c;
        nl::ParseStats st = parse(b, c);
        EXPECT_EQ(c.records(), st.links + st.addrs + st.routes);
        EXPECT_EQ(c.malformed.size(), st.malformed);
        for (const auto &l : c.links) {
            EXPECT_GT(l.ifindex, 0);
            EXPECT_LT(l.name.size(), size_t(IFNAMSIZ));
        }
        for (const auto &a : c.addrs)
            EXPECT_EQ(a.local.family, a.family);
    }
}

// ---------------------------------------------------------------------------
// Hand-built messages

TEST(NetlinkParseLink, NewAndDelete)
{
    Msg m = newlink(7, "wwan0");
    m.u8(IFLA_OPERSTATE, IF_OPER_DOWN);
    m.u8(IFLA_CARRIER, 0);
    struct nlattr *li = m.nest_start(IFLA_LINKINFO);
    m.strz(IFLA_INFO_KIND, "tun");
    m.nest_end(li);
    Buf b = m.buf();
    Msg d = newlink(7, "wwan0", RTM_DELLINK);
    b.append_msg(d.nlh());
    Collector c;
    parse(b, c);
    ASSERT_EQ(c.links.size(), 2u);
    EXPECT_EQ(c.links[0].name, "wwan0");
    EXPECT_EQ(c.links[0].operstate, IF_OPER_DOWN);
    EXPECT_EQ(c.links[0].carrier, 0);
    EXPECT_EQ(c.links[0].kind, "tun");
    EXPECT_FALSE(c.links[0].deleted);
    EXPECT_TRUE(c.links[1].deleted);
    EXPECT_FALSE(c.links[1].has_operstate);
}

TEST(NetlinkParseLink, WirelessEventWithoutOperstateKeepsHasFalse)
{
    Msg m = newlink(3, "wlan0");
    Collector c;
    parse(m.buf(), c);
    ASSERT_EQ(c.links.size(), 1u);
    EXPECT_FALSE(c.links[0].has_operstate);
    EXPECT_FALSE(c.links[0].has_carrier);
}

TEST(NetlinkParseLink, BridgeFamilyIgnored)
{
    Msg m(RTM_DELLINK);
    auto *ifi = m.extra<struct ifinfomsg>();
    ifi->ifi_family = AF_BRIDGE;
    ifi->ifi_index = 4;
    m.strz(IFLA_IFNAME, "lan1");
    Collector c;
    nl::ParseStats st = parse(m.buf(), c);
    EXPECT_EQ(c.links.size(), 0u);
    EXPECT_EQ(st.ignored, 1u);
}

TEST(NetlinkParseLink, UnknownAttributesSkipped)
{
    Msg m = newlink(5, "eth1");
    m.u32(IFLA_MTU, 1500);
    m.u32(IFLA_MAX + 7, 42); // newer than our headers
    m.raw(IFLA_MAX + 30, "xyzzy", 5);
    struct nlattr *li = m.nest_start(IFLA_LINKINFO);
    m.u32(IFLA_INFO_MAX + 3, 1);
    m.strz(IFLA_INFO_KIND, "veth");
    m.nest_end(li);
    m.u8(IFLA_OPERSTATE, IF_OPER_UP);
    Collector c;
    nl::ParseStats st = parse(m.buf(), c);
    EXPECT_EQ(st.malformed, 0u);
    ASSERT_EQ(c.links.size(), 1u);
    EXPECT_EQ(c.links[0].operstate, IF_OPER_UP);
    EXPECT_EQ(c.links[0].kind, "veth");
}

TEST(NetlinkParseLink, WrongPayloadTypesRejected)
{
    struct Case {
        const char *what;
        void (*build)(Msg &);
    } cases[] = {
            {"operstate u32", [](Msg &m) { m.u32(IFLA_OPERSTATE, IF_OPER_UP); }},
            {"carrier empty", [](Msg &m) { m.raw(IFLA_CARRIER, "", 0); }},
            {"name not NUL terminated", [](Msg &m) { m.raw(IFLA_IFNAME, "eth0", 4); }},
            {"name empty", [](Msg &m) { m.raw(IFLA_IFNAME, "\0", 1); }},
            {"name too long", [](Msg &m) { m.strz(IFLA_IFNAME, "abcdefghijklmnopqrst"); }},
            {"linkinfo not nested", [](Msg &m) { m.raw(IFLA_LINKINFO, "ab", 2); }},
            {"kind not NUL terminated",
             [](Msg &m) {
                 struct nlattr *li = m.nest_start(IFLA_LINKINFO);
                 m.raw(IFLA_INFO_KIND, "veth", 4);
                 m.nest_end(li);
             }},
            {"kind overruns the nest",
             [](Msg &m) {
                 struct nlattr *li = m.nest_start(IFLA_LINKINFO);
                 m.strz(IFLA_INFO_KIND, "veth");
                 m.nest_end(li);
                 li->nla_len = 6; // the nest ends inside its first attribute
             }},
    };
    for (const Case &cs : cases) {
        Msg m = newlink(9, nullptr);
        cs.build(m);
        Collector c;
        nl::ParseStats st = parse(m.buf(), c);
        EXPECT_EQ(c.links.size(), 0u) << cs.what;
        EXPECT_EQ(st.malformed, 1u) << cs.what;
    }
}

TEST(NetlinkParseLink, AttributeLengthLies)
{
    // nla_len beyond the message, below the header size, and one byte too long.
    for (uint16_t lie : {uint16_t(0xffff), uint16_t(2), uint16_t(0)}) {
        Msg m = newlink(9, "eth0");
        struct nlattr *a = static_cast<struct nlattr *>(
                mnl_nlmsg_get_payload_offset(m.nlh(), sizeof(struct ifinfomsg)));
        a->nla_len = lie;
        Collector c;
        nl::ParseStats st = parse(m.buf(), c);
        EXPECT_EQ(c.links.size(), 0u) << lie;
        EXPECT_EQ(st.malformed, 1u) << lie;
        EXPECT_EQ(c.malformed.at(0), "attribute overruns message");
    }
    Msg m = newlink(9, nullptr);
    m.u8(IFLA_OPERSTATE, IF_OPER_UP); // nla_len 5, padded to 8
    struct nlattr *a = static_cast<struct nlattr *>(
            mnl_nlmsg_get_payload_offset(m.nlh(), sizeof(struct ifinfomsg)));
    a->nla_len = 9; // claims a byte past the end of the message
    Collector c;
    EXPECT_EQ(parse(m.buf(), c).malformed, 1u);
    // Stray bytes after the last attribute that cannot be an attribute.
    Msg t = newlink(9, "eth0");
    t.bytes("\x01\x02", 2);
    Collector c2;
    EXPECT_EQ(parse(t.buf(), c2).malformed, 1u);
}

TEST(NetlinkParseLink, BadIfindexAndShortHeader)
{
    Msg m = newlink(0, "eth0");
    Collector c;
    EXPECT_EQ(parse(m.buf(), c).malformed, 1u);
    Msg s(RTM_NEWLINK);
    s.bytes("\0\0\0\0\0\0\0\0", 8); // half an ifinfomsg
    Collector c2;
    EXPECT_EQ(parse(s.buf(), c2).malformed, 1u);
    EXPECT_EQ(c2.malformed.at(0), "short ifinfomsg");
}

TEST(NetlinkParseAddr, PointToPointAndFlags)
{
    Msg m = newaddr(AF_INET, 4, 32);
    m.addr(IFA_LOCAL, "10.64.1.2");
    m.addr(IFA_ADDRESS, "10.64.1.1");
    m.strz(IFA_LABEL, "ppp0");
    Buf b = m.buf();
    Msg v6 = newaddr(AF_INET6, 4, 64);
    reinterpret_cast<struct ifaddrmsg *>(mnl_nlmsg_get_payload(v6.nlh()))->ifa_flags =
            IFA_F_PERMANENT;
    v6.addr(IFA_ADDRESS, "2001:db8::5");
    v6.u32(IFA_FLAGS, IFA_F_TENTATIVE | IFA_F_NOPREFIXROUTE); // beyond the 8-bit field
    b.append_msg(v6.nlh());
    Collector c;
    nl::ParseStats st = parse(b, c);
    EXPECT_EQ(st.malformed, 0u);
    ASSERT_EQ(c.addrs.size(), 2u);
    EXPECT_EQ(c.addrs[0].local.str(), "10.64.1.2");
    EXPECT_EQ(c.addrs[0].peer.str(), "10.64.1.1");
    EXPECT_EQ(c.addrs[0].label, "ppp0");
    EXPECT_EQ(c.addrs[1].local.str(), "2001:db8::5");
    EXPECT_TRUE(c.addrs[1].peer.empty());
    EXPECT_EQ(c.addrs[1].flags, unsigned(IFA_F_TENTATIVE | IFA_F_NOPREFIXROUTE));
}

TEST(NetlinkParseAddr, Rejections)
{
    struct Case {
        const char *what;
        int family;
        uint8_t prefixlen;
        int32_t ifindex;
        void (*build)(Msg &);
    } cases[] = {
            {"no address", AF_INET, 24, 2, [](Msg &) {}},
            {"v6 bytes in v4", AF_INET, 24, 2, [](Msg &m) { m.addr(IFA_ADDRESS, "2001:db8::1"); }},
            {"v4 bytes in v6", AF_INET6, 64, 2, [](Msg &m) { m.addr(IFA_ADDRESS, "10.0.0.1"); }},
            {"prefix 33", AF_INET, 33, 2, [](Msg &m) { m.addr(IFA_ADDRESS, "10.0.0.1"); }},
            {"prefix 129", AF_INET6, 129, 2, [](Msg &m) { m.addr(IFA_ADDRESS, "2001:db8::1"); }},
            {"ifindex 0", AF_INET, 24, 0, [](Msg &m) { m.addr(IFA_ADDRESS, "10.0.0.1"); }},
            {"flags u8", AF_INET, 24, 2,
             [](Msg &m) {
                 m.addr(IFA_ADDRESS, "10.0.0.1");
                 m.u8(IFA_FLAGS, 1);
             }},
            {"cacheinfo short", AF_INET, 24, 2,
             [](Msg &m) {
                 m.addr(IFA_ADDRESS, "10.0.0.1");
                 m.raw(IFA_CACHEINFO, "12345678", 8);
             }},
    };
    for (const Case &cs : cases) {
        Msg m = newaddr(cs.family, cs.ifindex, cs.prefixlen);
        cs.build(m);
        Collector c;
        nl::ParseStats st = parse(m.buf(), c);
        EXPECT_EQ(c.addrs.size(), 0u) << cs.what;
        EXPECT_EQ(st.malformed, 1u) << cs.what;
    }
    // Other families are not ours.
    Msg m = newaddr(AF_PACKET, 2, 0);
    Collector c;
    EXPECT_EQ(parse(m.buf(), c).ignored, 1u);
}

TEST(NetlinkParseRoute, SinglePathTableReplaceAndVia)
{
    Msg m = newroute(AF_INET, 0, RTN_UNICAST, RTM_NEWROUTE, NLM_F_REPLACE);
    m.u32(RTA_TABLE, 1000); // beyond the 8-bit rtm_table
    m.u32(RTA_PRIORITY, 20);
    m.u32(RTA_OIF, 6);
    m.addr(RTA_GATEWAY, "192.0.2.1");
    Buf b = m.buf();
    Msg v = newroute(AF_INET);
    v.u32(RTA_OIF, 6);
    uint8_t via[18];
    sa_family_t fam = AF_INET6;
    std::memcpy(via, &fam, sizeof(fam));
    nl::IpAddr gw6 = ip("fe80::1");
    std::memcpy(via + 2, gw6.bytes, 16);
    v.raw(RTA_VIA, via, sizeof(via));
    b.append_msg(v.nlh());
    Msg d = newroute(AF_INET6, 0, RTN_UNICAST, RTM_DELROUTE);
    d.u32(RTA_OIF, 6);
    b.append_msg(d.nlh());
    Collector c;
    nl::ParseStats st = parse(b, c);
    EXPECT_EQ(st.malformed, 0u);
    ASSERT_EQ(c.routes.size(), 3u);
    EXPECT_TRUE(c.routes[0].replace);
    EXPECT_EQ(c.routes[0].table, 1000u);
    EXPECT_EQ(c.routes[0].priority, 20u);
    ASSERT_EQ(c.routes[0].nexthops.size(), 1u);
    EXPECT_EQ(c.routes[0].nexthops[0].ifindex, 6);
    EXPECT_EQ(c.routes[0].nexthops[0].gateway.str(), "192.0.2.1");
    EXPECT_EQ(c.routes[1].nexthops.at(0).gateway.str(), "fe80::1");
    EXPECT_FALSE(c.routes[1].replace);
    EXPECT_TRUE(c.routes[2].deleted);
    EXPECT_FALSE(c.routes[2].has_priority);
}

TEST(NetlinkParseRoute, IgnoredKinds)
{
    Msg local = newroute(AF_INET, 32, RTN_LOCAL);
    local.addr(RTA_DST, "10.0.0.1");
    Msg black = newroute(AF_INET, 0, RTN_BLACKHOLE);
    Msg cloned = newroute(AF_INET6, 128);
    reinterpret_cast<struct rtmsg *>(mnl_nlmsg_get_payload(cloned.nlh()))->rtm_flags = RTM_F_CLONED;
    cloned.addr(RTA_DST, "2001:db8::1");
    Msg mpls = newroute(AF_MPLS);
    Buf b = local.buf();
    b.append_msg(black.nlh());
    b.append_msg(cloned.nlh());
    b.append_msg(mpls.nlh());
    Collector c;
    nl::ParseStats st = parse(b, c);
    EXPECT_EQ(c.routes.size(), 0u);
    EXPECT_EQ(st.ignored, 4u);
    EXPECT_EQ(st.malformed, 0u);
}

TEST(NetlinkParseRoute, Rejections)
{
    struct Case {
        const char *what;
        int family;
        uint8_t dst_len;
        void (*build)(Msg &);
    } cases[] = {
            {"dst_len 33", AF_INET, 33, [](Msg &) {}},
            {"prefix without RTA_DST", AF_INET, 24, [](Msg &) {}},
            {"oif u8", AF_INET, 0, [](Msg &m) { m.u8(RTA_OIF, 2); }},
            {"oif 0x80000000", AF_INET, 0, [](Msg &m) { m.u32(RTA_OIF, 0x80000000u); }},
            {"gateway 5 bytes", AF_INET, 0, [](Msg &m) { m.raw(RTA_GATEWAY, "abcde", 5); }},
            {"v6 gateway in v4", AF_INET, 0, [](Msg &m) { m.addr(RTA_GATEWAY, "2001:db8::1"); }},
            {"priority u64", AF_INET, 0,
             [](Msg &m) { mnl_attr_put_u64(m.nlh(), RTA_PRIORITY, 1); }},
            {"table u8", AF_INET, 0, [](Msg &m) { m.u8(RTA_TABLE, 1); }},
            {"via short", AF_INET, 0, [](Msg &m) { m.raw(RTA_VIA, "\x0a", 1); }},
            {"via family lies", AF_INET, 0,
             [](Msg &m) {
                 uint8_t via[6] = {0, 0, 1, 2, 3, 4}; // v6 family, 4 bytes
                 sa_family_t fam = AF_INET6;
                 std::memcpy(via, &fam, sizeof(fam));
                 m.raw(RTA_VIA, via, sizeof(via));
             }},
    };
    for (const Case &cs : cases) {
        Msg m = newroute(cs.family, cs.dst_len);
        cs.build(m);
        Collector c;
        nl::ParseStats st = parse(m.buf(), c);
        EXPECT_EQ(c.routes.size(), 0u) << cs.what;
        EXPECT_EQ(st.malformed, 1u) << cs.what;
    }
}

TEST(NetlinkParseRoute, MultipathGood)
{
    std::vector<uint8_t> mp;
    put_nexthop(mp, 3, "10.0.0.1");
    put_nexthop(mp, 4, "10.0.1.1");
    put_nexthop(mp, 5, nullptr); // no attributes at all
    Msg m = newroute(AF_INET);
    m.u32(RTA_PRIORITY, 5);
    m.raw(RTA_MULTIPATH, mp.data(), mp.size());
    Collector c;
    nl::ParseStats st = parse(m.buf(), c);
    EXPECT_EQ(st.malformed, 0u);
    ASSERT_EQ(c.routes.size(), 1u);
    ASSERT_EQ(c.routes[0].nexthops.size(), 3u);
    EXPECT_TRUE(c.routes[0].multipath);
    EXPECT_EQ(c.routes[0].nexthops[1].ifindex, 4);
    EXPECT_EQ(c.routes[0].nexthops[1].gateway.str(), "10.0.1.1");
    EXPECT_TRUE(c.routes[0].nexthops[2].gateway.empty());
}

TEST(NetlinkParseRoute, MultipathBadLengths)
{
    struct Case {
        const char *what;
        void (*build)(std::vector<uint8_t> &);
    } cases[] = {
            {"rtnh_len below header",
             [](std::vector<uint8_t> &v) { put_nexthop(v, 3, "10.0.0.1", 4); }},
            {"rtnh_len beyond attribute",
             [](std::vector<uint8_t> &v) { put_nexthop(v, 3, "10.0.0.1", 200); }},
            {"second rtnh_len beyond attribute",
             [](std::vector<uint8_t> &v) {
                 put_nexthop(v, 3, "10.0.0.1");
                 put_nexthop(v, 4, "10.0.1.1", 17);
             }},
            {"trailing half nexthop",
             [](std::vector<uint8_t> &v) {
                 put_nexthop(v, 3, "10.0.0.1");
                 v.insert(v.end(), {1, 2, 3, 4});
             }},
            {"gateway overruns rtnexthop",
             [](std::vector<uint8_t> &v) {
                 // rtnh_len covers the rtnexthop and half the gateway attribute.
                 put_nexthop(v, 3, "10.0.0.1", 12);
             }},
            {"v6 gateway in v4 nexthop",
             [](std::vector<uint8_t> &v) { put_nexthop(v, 3, "2001:db8::1"); }},
            {"negative ifindex", [](std::vector<uint8_t> &v) { put_nexthop(v, -1, nullptr); }},
    };
    for (const Case &cs : cases) {
        std::vector<uint8_t> mp;
        cs.build(mp);
        Msg m = newroute(AF_INET);
        m.raw(RTA_MULTIPATH, mp.data(), mp.size());
        Collector c;
        nl::ParseStats st = parse(m.buf(), c);
        EXPECT_EQ(c.routes.size(), 0u) << cs.what;
        EXPECT_EQ(st.malformed, 1u) << cs.what;
    }
}

TEST(NetlinkParseControl, DumpIntrDoneAndErrors)
{
    Msg a = newlink(2, "eth0");
    a.nlh()->nlmsg_flags = NLM_F_MULTI | NLM_F_DUMP_INTR;
    a.nlh()->nlmsg_seq = 77;
    a.nlh()->nlmsg_pid = 1234;
    Msg done(NLMSG_DONE, NLM_F_MULTI, 77, 1234);
    int zero = 0;
    done.bytes(&zero, sizeof(zero));
    Msg done_err(NLMSG_DONE, NLM_F_MULTI, 78);
    int eintr = -EINTR;
    done_err.bytes(&eintr, sizeof(eintr));
    Msg done_empty(NLMSG_DONE, NLM_F_MULTI, 79);
    Msg err(NLMSG_ERROR, 0, 80);
    struct nlmsgerr e;
    std::memset(&e, 0, sizeof(e));
    e.error = -EBUSY;
    err.bytes(&e, sizeof(e));
    Msg ack(NLMSG_ERROR, 0, 81);
    e.error = 0;
    ack.bytes(&e, sizeof(e));
    Msg noop(NLMSG_NOOP);

    Buf b = a.buf();
    for (Msg *m : {&done, &done_err, &done_empty, &err, &ack, &noop})
        b.append_msg(m->nlh());
    Collector c;
    nl::ParseStats st = parse(b, c);
    EXPECT_TRUE(st.dump_intr);
    EXPECT_EQ(st.malformed, 0u);
    EXPECT_EQ(st.ignored, 1u); // NOOP
    ASSERT_EQ(c.links.size(), 1u);
    EXPECT_TRUE(c.infos[0].dump_intr());
    EXPECT_EQ(c.infos[0].seq, 77u);
    EXPECT_EQ(c.infos[0].portid, 1234u);
    EXPECT_EQ(c.dones, (std::vector<int>{0, -EINTR, 0}));
    EXPECT_EQ(c.errors, (std::vector<int>{-EBUSY, 0}));
}

TEST(NetlinkParseControl, LyingErrors)
{
    Msg pos(NLMSG_ERROR);
    int five = 5;
    pos.bytes(&five, sizeof(five));
    Msg shrt(NLMSG_ERROR);
    shrt.bytes("\xff\xff", 2);
    Msg done(NLMSG_DONE);
    int huge = -100000;
    done.bytes(&huge, sizeof(huge));
    Buf b = pos.buf();
    b.append_msg(shrt.nlh());
    b.append_msg(done.nlh());
    Collector c;
    nl::ParseStats st = parse(b, c);
    EXPECT_EQ(st.malformed, 3u);
    EXPECT_TRUE(c.errors.empty());
    EXPECT_TRUE(c.dones.empty());
}

TEST(NetlinkParseControl, Framing)
{
    Msg m = newlink(2, "eth0");
    {
        Buf b = m.buf();
        reinterpret_cast<struct nlmsghdr *>(b.data())->nlmsg_len = 8; // below the header
        Collector c;
        nl::ParseStats st = parse(b, c);
        EXPECT_TRUE(st.framing_error);
        EXPECT_EQ(st.messages, 0u);
    }
    {
        Buf b = m.buf();
        reinterpret_cast<struct nlmsghdr *>(b.data())->nlmsg_len = 4096; // beyond the buffer
        Collector c;
        EXPECT_TRUE(parse(b, c).framing_error);
        EXPECT_EQ(c.records(), 0u);
    }
    {
        Buf b = m.buf();
        b.append("garbage!", 8); // not a whole nlmsghdr
        Collector c;
        nl::ParseStats st = parse(b, c);
        EXPECT_TRUE(st.framing_error);
        EXPECT_EQ(c.links.size(), 1u); // what came before is fine
    }
    {
        Collector c;
        nl::ParseStats st = nl::parse(nullptr, 0, c);
        EXPECT_FALSE(st.framing_error);
        EXPECT_EQ(st.messages, 0u);
    }
}
