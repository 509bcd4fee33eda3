// Fuzz-style tests of every parser the module has: seeded random mutations of valid
// inputs plus pure noise, with the invariants each parser promises. Deterministic (fixed
// seeds), a few hundred thousand inputs in well under a second; run under
// -DOMRT_SANITIZE=ON to turn any out-of-bounds read into a failure.
#include "dns/sysconf.h"
#include "dns/wire.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <random>

using namespace dns;
using namespace dnstest;

namespace {

Bytes mutate(const Bytes &seed, std::mt19937 &rng)
{
    Bytes b = seed;
    int edits = 1 + int(rng() % 4);
    for (int i = 0; i < edits; i++) {
        switch (rng() % 6) {
        case 0: // flip a byte
            if (!b.empty())
                b[rng() % b.size()] = uint8_t(rng());
            break;
        case 1: // truncate
            if (!b.empty())
                b.resize(rng() % b.size());
            break;
        case 2: // insert
            b.insert(b.begin() + long(b.empty() ? 0 : rng() % b.size()), uint8_t(rng()));
            break;
        case 3: // a compression pointer somewhere
            if (b.size() > 2) {
                size_t at = rng() % (b.size() - 1);
                b[at] = uint8_t(0xc0 | (rng() % 4));
                b[at + 1] = uint8_t(rng());
            }
            break;
        case 4: // an interesting length/count byte
            if (!b.empty())
                b[rng() % b.size()] = uint8_t((rng() % 2) ? 0xff : (rng() % 70));
            break;
        default: // duplicate a chunk
            if (b.size() > 4) {
                size_t from = rng() % b.size(), len = rng() % (b.size() - from);
                Bytes chunk(b.begin() + long(from), b.begin() + long(from + len));
                b.insert(b.begin() + long(rng() % b.size()), chunk.begin(), chunk.end());
            }
            break;
        }
    }
    return b;
}

std::vector<Bytes> reply_seeds()
{
    std::vector<Bytes> seeds;
    Msg m;
    Rr a;
    a.compress = true;
    a.rdata = rdata_a("198.51.100.10");
    m.an = {a};
    seeds.push_back(build(m));
    Rr cname;
    cname.compress = true;
    cname.type = kTypeCname;
    cname.rdata = encode_name("target.test");
    Rr ta;
    ta.owner = "target.test";
    ta.rdata = rdata_a("198.51.100.11");
    m.an = {cname, ta};
    seeds.push_back(build(m));
    m.qtype = kTypeAaaa;
    Rr six;
    six.compress = true;
    six.type = kTypeAaaa;
    six.rdata = rdata_aaaa("2001:db8::1");
    m.an = {six, six};
    seeds.push_back(build(m));
    m.an.clear();
    m.rcode = 3;
    seeds.push_back(build(m));
    return seeds;
}

} // namespace

TEST(Fuzz, ReplyParserKeepsItsPromises)
{
    std::mt19937 rng(20240601);
    std::vector<Bytes> seeds = reply_seeds();
    unsigned answers = 0, others = 0;
    for (int i = 0; i < 200000; i++) {
        Bytes b;
        if (i % 10 == 0) {
            b.resize(rng() % 80);
            for (uint8_t &c : b)
                c = uint8_t(rng());
        } else {
            b = mutate(seeds[size_t(i) % seeds.size()], rng);
        }
        ParsedReply p;
        parse_reply(b.data(), b.size(), p);
        if (p.kind == ReplyKind::Answer) {
            answers++;
            ASSERT_FALSE(p.addrs.empty());
            for (const IpAddr &a : p.addrs)
                ASSERT_EQ(a.is_v4(), p.qtype == kTypeA);
            ASSERT_LE(p.ttl_s, 0x7fffffffu);
            ASSERT_EQ(as_set(p.addrs).size(), p.addrs.size()); // no duplicates
        } else {
            others++;
            ASSERT_TRUE(p.addrs.empty());
        }
        Header h;
        parse_header(b.data(), b.size(), h);
        std::string name;
        size_t next = 0;
        if (!b.empty() && read_name(b.data(), b.size(), rng() % b.size(), name, next)) {
            ASSERT_LE(next, b.size());
            ASSERT_LE(name.size(), 255u * 4);
        }
    }
    // The mutations must exercise both outcomes, or the test proves little.
    EXPECT_GT(answers, 1000u);
    EXPECT_GT(others, 1000u);
}

TEST(Fuzz, TextParsersKeepTheirPromises)
{
    std::mt19937 rng(4242);
    const std::string seeds[] = {
            "# Interface wan1\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch lan\n"
            "# Interface wan2\nnameserver fe80::1%eth1\noptions ndots:1\n",
            "127.0.0.1 localhost\n198.51.100.10 vps.example.net vps # c\n::1 ip6-localhost\n",
            "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver "
            "192.0.2.4\nnameserver 192.0.2.5\nnameserver 192.0.2.6\nnameserver 192.0.2.7\n",
    };
    const char alphabet[] = "0123456789abcdef:.%[]# \t\n\rnameservInterfc;\0\xff";
    for (int i = 0; i < 60000; i++) {
        std::string s;
        if (i % 4 == 0) {
            size_t n = rng() % 200;
            for (size_t k = 0; k < n; k++)
                s += alphabet[rng() % (sizeof alphabet - 1)];
        } else {
            const std::string &seed = seeds[size_t(i) % 3];
            Bytes b(seed.begin(), seed.end());
            b = mutate(b, rng);
            s.assign(b.begin(), b.end());
        }
        ResolvConf c = parse_resolv_conf(s);
        ASSERT_LE(c.servers.size(), kMaxServers);
        for (const ServerAddr &sv : c.servers) {
            ServerAddr again;
            ASSERT_TRUE(parse_server(sv.str(), again, nullptr)) << sv.str();
            ASSERT_EQ(again, sv);
        }
        for (const IfaceResolv &r : parse_resolv_auto(s))
            ASSERT_LE(r.conf.servers.size(), kMaxServers);
        HostsTable h;
        h.parse(s);
        AddrList out;
        h.lookup("vps.example.net", true, true, out);
        std::string line = s.substr(0, s.find('\n'));
        ServerAddr sv;
        if (parse_server(line, sv, nullptr)) {
            ServerAddr again;
            ASSERT_TRUE(parse_server(sv.str(), again, nullptr));
        }
        std::string norm;
        if (normalize_name(line, norm, nullptr)) {
            ASSERT_LE(norm.size(), 253u);
            for (char ch : norm)
                ASSERT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                            ch == '_' || ch == '.');
        }
        IpAddr ip;
        if (parse_ip(line, ip)) {
            IpAddr again;
            ASSERT_TRUE(parse_ip(ip.str(), again));
            ASSERT_EQ(again, ip);
        }
    }
}
