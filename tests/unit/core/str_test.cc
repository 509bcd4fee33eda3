#include "core/str.h"

#include <gtest/gtest.h>

TEST(Str, TrimAndSplit)
{
    EXPECT_EQ(core::trim("  a b \t\n"), "a b");
    EXPECT_EQ(core::trim(""), "");
    auto w = core::split_words("  4.2.2.1\t8.8.8.8  1.1.1.1 ");
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[0], "4.2.2.1");
    EXPECT_EQ(w[2], "1.1.1.1");
    EXPECT_TRUE(core::split_words("   ").empty());
}

TEST(Str, ParseUnsignedIsStrict)
{
    uint64_t v = 7;
    EXPECT_TRUE(core::parse_u64("0", v));
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(core::parse_u64("18446744073709551615", v));
    EXPECT_EQ(v, UINT64_MAX);
    for (const char *bad : {"", "-1", "+1", " 1", "1 ", "1a", "0x10", "18446744073709551616",
                            "99999999999999999999999"})
        EXPECT_FALSE(core::parse_u64(bad, v)) << bad;
    int64_t i;
    EXPECT_TRUE(core::parse_i64("-9223372036854775808", i));
    EXPECT_EQ(i, INT64_MIN);
    EXPECT_FALSE(core::parse_i64("9223372036854775808", i));
    EXPECT_FALSE(core::parse_i64("--1", i));
}

TEST(Str, ParseDecimal)
{
    double d;
    EXPECT_TRUE(core::parse_decimal("1.5", d));
    EXPECT_DOUBLE_EQ(d, 1.5);
    EXPECT_TRUE(core::parse_decimal("20", d));
    EXPECT_DOUBLE_EQ(d, 20);
    for (const char *bad : {"", ".5", "1.", "1.2.3", "-1", "1e3", "1,5"})
        EXPECT_FALSE(core::parse_decimal(bad, d)) << bad;
}

TEST(Str, UciBooleans)
{
    bool b;
    for (const char *t : {"1", "yes", "on", "true", "enabled", "TRUE", "Yes"}) {
        ASSERT_TRUE(core::parse_uci_bool(t, b)) << t;
        EXPECT_TRUE(b);
    }
    for (const char *f : {"0", "no", "off", "false", "disabled"}) {
        ASSERT_TRUE(core::parse_uci_bool(f, b)) << f;
        EXPECT_FALSE(b);
    }
    for (const char *bad : {"", "2", "y", "nope"})
        EXPECT_FALSE(core::parse_uci_bool(bad, b)) << bad;
}

TEST(Str, TruncateKeepsUtf8Whole)
{
    EXPECT_EQ(core::truncate_for_log("short", 10), "short");
    std::string s = "ab\xc3\xa9"
                    "cdef";
    std::string t = core::truncate_for_log(s, 3);
    EXPECT_EQ(t.substr(0, 2), "ab");
    EXPECT_NE(t.find("(8 bytes)"), std::string::npos);
    EXPECT_EQ(core::strprintf("%s-%d", std::string(300, 'x').c_str(), 5).size(), 302u);
}
