#include "core/json.h"

#include <gtest/gtest.h>

#include <cmath>

using core::JsonValue;
using core::JsonWriter;

TEST(JsonWriter, ObjectsArraysAndCommas)
{
    JsonWriter w;
    w.begin_object();
    w.kv("a", 1);
    w.key("b");
    w.begin_array();
    w.value("x");
    w.value(true);
    w.null();
    w.begin_object();
    w.end_object();
    w.end_array();
    w.kv("c", 2.5);
    w.kv("d", 3.0);
    w.kv("e", -0.0001, 2);
    w.end_object();
    EXPECT_EQ(w.str(), R"({"a":1,"b":["x",true,null,{}],"c":2.5,"d":3,"e":0})");
}

TEST(JsonWriter, EscapesEverythingThatNeedsIt)
{
    std::string out;
    core::json_quote(out, std::string("q\"b\\n\n\x01\x7f", 8));
    EXPECT_EQ(out, R"("q\"b\\n\n\u0001\u007f")");
}

TEST(JsonWriter, NonFiniteIsNull)
{
    JsonWriter w;
    w.begin_array();
    w.value(NAN);
    w.value(INFINITY);
    w.end_array();
    EXPECT_EQ(w.str(), "[null,null]");
}

TEST(JsonParse, RoundTripsADocument)
{
    JsonValue v;
    std::string err;
    ASSERT_TRUE(core::json_parse(
            R"( {"access_token": "eyJ.a.b", "token_type":"bearer", "n": -12.5e1,
                 "arr": [1, [2], {"k": null}], "t": true, "u": "\u00e9\ud83d\ude00" } )",
            v, &err))
            << err;
    ASSERT_TRUE(v.is_object());
    ASSERT_NE(v.get_string("access_token"), nullptr);
    EXPECT_EQ(*v.get_string("access_token"), "eyJ.a.b");
    EXPECT_EQ(v.get("n")->as_number(), -125.0);
    EXPECT_EQ(v.get("arr")->size(), 3u);
    EXPECT_TRUE(v.get("arr")->at(2).get("k")->is_null());
    EXPECT_TRUE(v.get("t")->as_bool());
    EXPECT_EQ(*v.get_string("u"), "\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(v.get("missing"), nullptr);
    EXPECT_EQ(v.get_string("n"), nullptr);
}

TEST(JsonParse, RejectsMalformedInputWithOffset)
{
    const char *bad[] = {"",
                         "{",
                         "{\"a\"}",
                         "{\"a\":1,}",
                         "[1,]",
                         "[1 2]",
                         "\"unterminated",
                         "\"bad \\x escape\"",
                         "\"\\ud800\"",
                         "\"\\udc00\"",
                         "01",
                         "-",
                         "1.",
                         "1e",
                         "tru",
                         "nul",
                         "{} {}",
                         "\"ctl\x01\"",
                         "{1:2}"};
    for (const char *b : bad) {
        JsonValue v;
        std::string err;
        EXPECT_FALSE(core::json_parse(b, v, &err)) << b;
        EXPECT_NE(err.find("offset"), std::string::npos) << b << " -> " << err;
    }
}

TEST(JsonParse, EnforcesLimits)
{
    core::JsonLimits lim;
    lim.max_depth = 4;
    JsonValue v;
    std::string err;
    EXPECT_TRUE(core::json_parse("[[[[1]]]]", v, &err, lim));
    EXPECT_FALSE(core::json_parse("[[[[[1]]]]]", v, &err, lim));
    EXPECT_NE(err.find("deep"), std::string::npos);

    std::string deep(100000, '[');
    EXPECT_FALSE(core::json_parse(deep, v, &err)); // default limits: size and depth

    lim = core::JsonLimits();
    lim.max_elements = 10;
    EXPECT_FALSE(core::json_parse("[1,2,3,4,5,6,7,8,9,10,11]", v, &err, lim));
    EXPECT_NE(err.find("too many"), std::string::npos);

    lim = core::JsonLimits();
    lim.max_bytes = 8;
    EXPECT_FALSE(core::json_parse("\"123456789\"", v, &err, lim));
}
