#include "dns/addr.h"

#include <gtest/gtest.h>

using namespace dns;

TEST(Addr, ParseAndFormat)
{
    IpAddr a;
    ASSERT_TRUE(parse_ip("198.51.100.10", a));
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a.str(), "198.51.100.10");
    ASSERT_TRUE(parse_ip("2001:DB8:0::10", a));
    EXPECT_TRUE(a.is_v6());
    EXPECT_EQ(a.str(), "2001:db8::10");
    for (const char *bad :
         {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", " 1.2.3.4", "1.2.3.4 ", "[::1]", "fe80::1%eth0",
          "host.example", "1.2.3.4:53", "0000:0000:0000:0000:0000:0000:0000:0000:0000"})
        EXPECT_FALSE(parse_ip(bad, a)) << bad;
    EXPECT_EQ(IpAddr().str(), "");
}

TEST(Addr, ValidationTable)
{
    struct {
        const char *addr;
        const char *why; // nullptr: usable
    } table[] = {
            {"198.51.100.10", nullptr},
            {"10.1.2.3", nullptr}, // a VPS on a private network is fine
            {"192.168.1.1", nullptr},
            {"100.64.0.1", nullptr},
            {"1.0.0.0", nullptr},
            {"223.255.255.255", nullptr},
            {"240.0.0.1", nullptr}, // reserved but not in our reject list
            {"255.255.255.254", nullptr},
            {"0.0.0.0", "unspecified address"},
            {"0.1.2.3", "\"this network\" address (0/8)"},
            {"0.0.0.1", "\"this network\" address (0/8)"},
            {"127.0.0.1", "loopback address"},
            {"127.255.255.254", "loopback address"},
            {"169.254.1.1", "link-local address"},
            {"224.0.0.1", "multicast address"},
            {"239.255.255.250", "multicast address"},
            {"255.255.255.255", "broadcast address"},
            {"2001:db8::10", nullptr},
            {"fd00::1", nullptr},
            {"::", "unspecified address"},
            {"::1", "loopback address"},
            {"fe80::1", "link-local address"},
            {"febf::1", "link-local address"},
            {"fec0::1", nullptr},
            {"ff02::1", "multicast address"},
            {"::ffff:127.0.0.1", "loopback address"},
            {"::ffff:0.0.0.0", "unspecified address"},
            {"::ffff:198.51.100.10", nullptr},
            {"::2", nullptr},
    };
    for (auto &row : table) {
        IpAddr a;
        ASSERT_TRUE(parse_ip(row.addr, a)) << row.addr;
        const char *why = unusable_reason(a);
        if (row.why)
            EXPECT_STREQ(why, row.why) << row.addr;
        else
            EXPECT_EQ(why, nullptr) << row.addr << ": " << why;
    }
    EXPECT_STREQ(unusable_reason(IpAddr()), "no address");
}

TEST(Addr, SetsCompareWithoutOrderOrDuplicates)
{
    IpAddr a, b, c;
    parse_ip("198.51.100.11", a);
    parse_ip("198.51.100.10", b);
    parse_ip("2001:db8::1", c);
    EXPECT_EQ(as_set({c, a, b, a}), as_set({b, c, a}));
    EXPECT_NE(as_set({a}), as_set({a, b}));
    AddrList s = as_set({c, a, b});
    EXPECT_EQ(join(s), "198.51.100.10, 198.51.100.11, 2001:db8::1"); // IPv4 first
    EXPECT_EQ(join({}), "none");
}
