#include "dns/wire.h"
#include "test_util.h"

#include <gtest/gtest.h>

using namespace dns;
using namespace dnstest;

namespace {

ParsedReply parse(const Bytes &b)
{
    ParsedReply p;
    parse_reply(b.data(), b.size(), p);
    return p;
}

Rr a_rr(const std::string &owner, const char *addr, uint32_t ttl = 60)
{
    Rr r;
    r.owner = owner;
    r.type = kTypeA;
    r.ttl = ttl;
    r.rdata = rdata_a(addr);
    return r;
}

Rr cname_rr(const std::string &owner, const std::string &target, uint32_t ttl = 60)
{
    Rr r;
    r.owner = owner;
    r.type = kTypeCname;
    r.ttl = ttl;
    r.rdata = encode_name(target);
    return r;
}

} // namespace

TEST(Wire, HeaderAndQuestion)
{
    Msg m;
    m.id = 0xbeef;
    m.tc = true;
    m.rcode = 5;
    m.qname = "VPS.Test";
    m.qtype = kTypeAaaa;
    Bytes b = build(m);
    Header h;
    ASSERT_TRUE(parse_header(b.data(), b.size(), h));
    EXPECT_EQ(h.id, 0xbeef);
    EXPECT_TRUE(h.qr);
    EXPECT_TRUE(h.tc);
    EXPECT_EQ(h.rcode, 5);
    EXPECT_EQ(h.qdcount, 1);
    std::string name;
    uint16_t type, cls;
    size_t end;
    ASSERT_TRUE(parse_question(b.data(), b.size(), name, type, cls, &end));
    EXPECT_EQ(name, "vps.test");
    EXPECT_EQ(type, kTypeAaaa);
    EXPECT_EQ(cls, kClassIn);
    EXPECT_EQ(end, b.size());
    EXPECT_FALSE(parse_header(b.data(), 11, h));
    EXPECT_FALSE(parse_question(b.data(), b.size() - 1, name, type, cls));
    EXPECT_STREQ(rcode_name(2), "SERVFAIL");
}

TEST(Wire, AnswersWithCompressionAndTtl)
{
    Msg m;
    Rr r1 = a_rr("", "198.51.100.10", 300);
    r1.compress = true;
    Rr r2 = a_rr("VPS.test", "198.51.100.11", 120);
    m.an = {r1, r2, a_rr("vps.test", "198.51.100.10", 60)}; // duplicate address
    ParsedReply p = parse(build(m));
    ASSERT_EQ(p.kind, ReplyKind::Answer) << p.detail;
    EXPECT_EQ(join(p.addrs), "198.51.100.10, 198.51.100.11");
    EXPECT_EQ(p.ttl_s, 60u); // smallest
    EXPECT_EQ(p.canonical, "");
}

TEST(Wire, TtlWithTopBitIsZero)
{
    Msg m;
    m.an = {a_rr("vps.test", "198.51.100.10", 0x80000000u)};
    EXPECT_EQ(parse(build(m)).ttl_s, 0u); // RFC 2181 §8
    m.an = {a_rr("vps.test", "198.51.100.10", 0x7fffffffu)};
    EXPECT_EQ(parse(build(m)).ttl_s, 0x7fffffffu);
}

TEST(Wire, Aaaa)
{
    Msg m;
    m.qtype = kTypeAaaa;
    Rr r;
    r.owner = "vps.test";
    r.type = kTypeAaaa;
    r.rdata = rdata_aaaa("2001:db8::10");
    m.an = {r, a_rr("vps.test", "198.51.100.10")}; // an A record in an AAAA reply: ignored
    ParsedReply p = parse(build(m));
    ASSERT_EQ(p.kind, ReplyKind::Answer);
    EXPECT_EQ(join(p.addrs), "2001:db8::10");
}

TEST(Wire, CnameChainInsideTheReply)
{
    Msg m;
    m.an = {cname_rr("vps.test", "b.test", 30), cname_rr("b.test", "c.test", 40),
            a_rr("c.test", "198.51.100.12", 50)};
    ParsedReply p = parse(build(m));
    ASSERT_EQ(p.kind, ReplyKind::Answer);
    EXPECT_EQ(join(p.addrs), "198.51.100.12");
    EXPECT_EQ(p.canonical, "c.test");
    EXPECT_EQ(p.ttl_s, 30u); // smallest along the chain
}

TEST(Wire, CnameWithoutTargetIsNoData)
{
    Msg m;
    m.an = {cname_rr("vps.test", "elsewhere.example")};
    ParsedReply p = parse(build(m));
    EXPECT_EQ(p.kind, ReplyKind::NoData);
    EXPECT_NE(p.detail.find("CNAME vps.test -> elsewhere.example without A records"),
              std::string::npos)
            << p.detail;
}

TEST(Wire, CnameLoopAndLongChainAreMalformed)
{
    Msg m;
    m.an = {cname_rr("vps.test", "b.test"), cname_rr("b.test", "vps.test")};
    EXPECT_EQ(parse(build(m)).kind, ReplyKind::Malformed);
    m.an.clear();
    for (int i = 0; i < 12; i++)
        m.an.push_back(cname_rr(i ? "n" + std::to_string(i) + ".test" : "vps.test",
                                "n" + std::to_string(i + 1) + ".test"));
    ParsedReply p = parse(build(m));
    EXPECT_EQ(p.kind, ReplyKind::Malformed);
    EXPECT_NE(p.detail.find("CNAME chain longer than 8"), std::string::npos);
}

TEST(Wire, AnswerForAnotherName)
{
    Msg m;
    m.an = {a_rr("evil.test", "203.0.113.66")};
    ParsedReply p = parse(build(m));
    EXPECT_EQ(p.kind, ReplyKind::OtherName);
    EXPECT_EQ(p.detail, "answer is for evil.test, not vps.test");
    EXPECT_TRUE(p.addrs.empty());
}

TEST(Wire, EmptyAnswerIsNoData)
{
    Msg m;
    EXPECT_EQ(parse(build(m)).kind, ReplyKind::NoData);
}

TEST(Wire, MalformedInputs)
{
    Msg m;
    m.an = {a_rr("vps.test", "198.51.100.10")};
    Bytes good = build(m);
    // Every truncation of a good reply is rejected or, if the cut falls after the
    // records, still parses: never reads out of bounds (run under ASan in CI).
    for (size_t n = 0; n < good.size(); n++) {
        ParsedReply p;
        parse_reply(good.data(), n, p);
        EXPECT_NE(p.kind, ReplyKind::Answer) << n;
    }
    // Bad A length.
    Msg bad = m;
    bad.an[0].rdata.push_back(0);
    EXPECT_EQ(parse(build(bad)).kind, ReplyKind::Malformed);
    // No question.
    Msg noq = m;
    noq.question = false;
    EXPECT_EQ(parse(build(noq)).kind, ReplyKind::Malformed);
    // Question for MX.
    Msg mx = m;
    mx.qtype = 15;
    EXPECT_EQ(parse(build(mx)).kind, ReplyKind::Malformed);
    // Compression pointer to itself / forward.
    Bytes loop = good;
    size_t owner = 12 + encode_name("vps.test").size() + 4;
    loop[owner] = 0xc0;
    loop[owner + 1] = uint8_t(owner);
    EXPECT_EQ(parse(loop).kind, ReplyKind::Malformed);
    loop[owner + 1] = uint8_t(owner + 2);
    EXPECT_EQ(parse(loop).kind, ReplyKind::Malformed);
    // Extended label type.
    Bytes ext = good;
    ext[12] = 0x41;
    EXPECT_EQ(parse(ext).kind, ReplyKind::Malformed);
    // Record count larger than the packet.
    Bytes many = good;
    many[7] = 5;
    EXPECT_EQ(parse(many).kind, ReplyKind::Malformed);
}

TEST(Wire, ReadNameEscapesOddBytesAndLimitsLength)
{
    Bytes b = {3, 'a', '.', 0x01, 2, 'B', 'c', 0};
    std::string name;
    size_t next;
    ASSERT_TRUE(read_name(b.data(), b.size(), 0, name, next));
    EXPECT_EQ(name, "a\\046\\001.bc");
    EXPECT_EQ(next, b.size());
    Bytes longname;
    for (int i = 0; i < 5; i++) {
        longname.push_back(63);
        longname.insert(longname.end(), 63, 'x');
    }
    longname.push_back(0);
    EXPECT_FALSE(read_name(longname.data(), longname.size(), 0, name, next)); // 321 octets
}
