#include "omrt/ipaddr.h"

#include <gtest/gtest.h>

using omrt::IpAddr;

TEST(IpAddr, ParsesAndFormatsLiterals)
{
    IpAddr a;
    ASSERT_TRUE(IpAddr::parse("198.51.100.10", a));
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a.str(), "198.51.100.10");
    ASSERT_TRUE(IpAddr::parse("2001:DB8::10", a));
    EXPECT_TRUE(a.is_v6());
    EXPECT_EQ(a.str(), "2001:db8::10");
    ASSERT_TRUE(IpAddr::parse("fe80::1%7", a));
    EXPECT_EQ(a.scope_id, 7u);
    EXPECT_EQ(a.str(), "fe80::1%7");
    for (const char *bad : {"", "vps.example.net", "1.2.3", "1.2.3.4.5", "256.1.1.1", "fe80::1%x",
                            "fe80::1%", "::g", "1.2.3.4 "})
        EXPECT_FALSE(IpAddr::parse(bad, a)) << bad;
}

TEST(IpAddr, SockaddrRoundTrip)
{
    IpAddr a, b;
    ASSERT_TRUE(IpAddr::parse("2001:db8::53", a));
    struct sockaddr_storage ss;
    ASSERT_EQ(a.to_sockaddr(ss, 53), sizeof(struct sockaddr_in6));
    b = IpAddr::from_sockaddr(reinterpret_cast<struct sockaddr *>(&ss));
    EXPECT_EQ(a, b);
    EXPECT_EQ(IpAddr::from_v4_host_order(0xc6336401).str(), "198.51.100.1");
    EXPECT_EQ(IpAddr().to_sockaddr(ss), 0u);
}

TEST(IpAddr, AssignFromRawBytes)
{
    IpAddr a;
    EXPECT_TRUE(a.assign(AF_INET, "\xc6\x33\x64\x0a", 4));
    EXPECT_EQ(a.str(), "198.51.100.10");
    EXPECT_FALSE(a.assign(AF_INET, "abcd", 5));
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(a.str(), "");
    EXPECT_FALSE(a.assign(AF_INET6, "abcd", 4));
    EXPECT_EQ(IpAddr::v4("\x0a\0\0\x01").str(), "10.0.0.1");
}

TEST(IpAddr, UnusableTargets)
{
    const char *bad[] = {"0.0.0.0",         "0.1.2.3", "127.0.0.1", "169.254.1.1", "224.0.0.1",
                         "255.255.255.255", "::",      "::1",       "fe80::1",     "ff02::1",
                         "::ffff:127.0.0.1"};
    const char *good[] = {"198.51.100.10", "10.1.2.3", "2001:db8::1", "::ffff:198.51.100.1"};
    IpAddr a;
    for (const char *s : bad) {
        ASSERT_TRUE(IpAddr::parse(s, a)) << s;
        EXPECT_TRUE(a.is_unusable_target()) << s;
    }
    for (const char *s : good) {
        ASSERT_TRUE(IpAddr::parse(s, a)) << s;
        EXPECT_FALSE(a.is_unusable_target()) << s;
    }
}
