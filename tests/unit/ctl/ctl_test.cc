// The pure parts of omr-trackerctl: the Prometheus renderer and the rpcd helpers. The
// exposition as a whole is checked by the strict parser in metrics_test.sh; this file pins
// the individual rules.
#include "core/json.h"
#include "ctl/metrics.h"
#include "ctl/rpcd.h"

#include <gtest/gtest.h>

#include <string>

namespace {

core::JsonValue parse(const std::string &text)
{
    core::JsonValue v;
    std::string err;
    EXPECT_TRUE(core::json_parse(text, v, &err)) << err;
    return v;
}

bool has_line(const std::string &text, const std::string &line)
{
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

size_t count_of(const std::string &text, const std::string &needle)
{
    size_t n = 0;
    for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1))
        n++;
    return n;
}

} // namespace

TEST(Metrics, LabelEscapingAndUtf8)
{
    EXPECT_EQ(ctl::prom_escape_label("plain"), "plain");
    EXPECT_EQ(ctl::prom_escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(ctl::prom_escape_label("\xc3\xa9th"), "\xc3\xa9th"); // é stays
    // A lone continuation byte, a truncated sequence, an overlong form, a surrogate.
    EXPECT_EQ(ctl::prom_escape_label("a\x80z"), "a\xef\xbf\xbdz");
    EXPECT_EQ(ctl::prom_escape_label("a\xc3"), "a\xef\xbf\xbd");
    EXPECT_EQ(ctl::prom_escape_label("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_EQ(ctl::prom_escape_label("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_EQ(ctl::prom_escape_label("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80"); // U+1F600
}

TEST(Metrics, OneStateSetPerEntryAndUnitsInBaseUnits)
{
    std::string t = ctl::metrics_text(parse(R"({
        "interfaces": {"wan1": {"status": "OK", "reason": "ok", "device": "eth1",
                                "latency_ms": 12.5, "loss_pct": 10, "jitter_ms": 1,
                                "since": 1700000000, "transitions": 4}},
        "servers": {},
        "daemon": {"version": "1.2.3", "cpu_ms": 250, "rss_kb": 3, "uptime_s": 9}})"));
    EXPECT_EQ(t.rfind("# HELP omrt_up ", 0), 0u) << t;
    EXPECT_TRUE(has_line(t, "omrt_up 1"));
    EXPECT_TRUE(has_line(t, "omrt_build_info{version=\"1.2.3\"} 1"));
    EXPECT_TRUE(has_line(t, "omrt_interface_up{interface=\"wan1\"} 1"));
    EXPECT_TRUE(has_line(t, "omrt_interface_state{interface=\"wan1\",state=\"OK\"} 1"));
    EXPECT_TRUE(has_line(t, "omrt_interface_state{interface=\"wan1\",state=\"ERROR\"} 0"));
    EXPECT_TRUE(has_line(t, "omrt_interface_state{interface=\"wan1\",state=\"UNKNOWN\"} 0"));
    EXPECT_TRUE(has_line(t, "omrt_interface_latency_seconds{interface=\"wan1\"} 0.0125"));
    EXPECT_TRUE(has_line(t, "omrt_interface_loss_ratio{interface=\"wan1\"} 0.1"));
    EXPECT_TRUE(has_line(t, "omrt_interface_jitter_seconds{interface=\"wan1\"} 0.001"));
    EXPECT_TRUE(has_line(t, "omrt_interface_transitions_total{interface=\"wan1\"} 4"));
    EXPECT_TRUE(has_line(t, "omrt_interface_last_change_timestamp_seconds{interface=\"wan1\"} "
                            "1700000000"));
    EXPECT_TRUE(has_line(t, "omrt_process_cpu_seconds_total 0.25"));
    EXPECT_TRUE(has_line(t, "omrt_process_resident_memory_bytes 3072"));
    EXPECT_TRUE(has_line(t, "# TYPE omrt_interface_transitions_total counter"));
    EXPECT_TRUE(has_line(t, "# TYPE omrt_interface_latency_seconds gauge"));
    // No server: no server family at all, not even HELP/TYPE.
    EXPECT_EQ(t.find("omrt_server_"), std::string::npos) << t;
    // Every family has exactly one HELP and one TYPE.
    EXPECT_EQ(count_of(t, "# HELP "), count_of(t, "# TYPE "));
    EXPECT_EQ(count_of(t, "# TYPE omrt_interface_up "), 1u);
}

TEST(Metrics, AbsentOrInvalidFieldsAreSkippedNotGuessed)
{
    std::string t = ctl::metrics_text(parse(R"({
        "interfaces": {"wan1": {"status": "PURPLE", "latency_ms": null, "loss_pct": 101,
                                "jitter_ms": -1, "transitions": -2, "since": "yesterday"},
                       "wan1": {"status": "OK"},
                       "bad": 7},
        "servers": {"vps": {"status": "OK", "dns": {"queries": 1e30, "failures": -1},
                            "api": {"checks": "many"}}}})"));
    EXPECT_TRUE(has_line(t, "omrt_interface_state{interface=\"wan1\",state=\"UNKNOWN\"} 1"));
    EXPECT_EQ(count_of(t, "omrt_interface_up{interface=\"wan1\"}"), 1u) << "duplicate key";
    EXPECT_EQ(t.find("interface=\"bad\""), std::string::npos);
    for (const char *f : {"latency_seconds", "loss_ratio", "jitter_seconds", "transitions_total",
                          "last_change_timestamp_seconds"})
        EXPECT_EQ(t.find(std::string("omrt_interface_") + f), std::string::npos) << f;
    EXPECT_TRUE(has_line(t, "omrt_server_dns_queries_total{server=\"vps\"} 1e+30"));
    EXPECT_EQ(t.find("omrt_server_dns_failures_total"), std::string::npos);
    EXPECT_EQ(t.find("omrt_server_api_checks_total"), std::string::npos);
    // No "daemon": none of its families, and no build_info.
    EXPECT_EQ(t.find("omrt_process_"), std::string::npos);
    EXPECT_EQ(t.find("omrt_build_info"), std::string::npos);
}

TEST(Metrics, DownTextIsOnlyUpZero)
{
    EXPECT_EQ(ctl::metrics_down_text(), "# HELP omrt_up 1 if omr-trackerd answered this scrape\n"
                                        "# TYPE omrt_up gauge\n"
                                        "omrt_up 0\n");
}

TEST(Rpcd, SignaturesAreAnObjectOfObjects)
{
    core::JsonValue v = parse(ctl::rpcd_signatures());
    ASSERT_TRUE(v.is_object());
    ASSERT_EQ(v.size(), 3u);
    for (size_t i = 0; i < v.size(); i++)
        EXPECT_TRUE(v.at(i).is_object()) << v.key_at(i);
    ASSERT_NE(v.get("recheck"), nullptr);
    const std::string *t = v.get("recheck")->get_string("name");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(*t, "str");
}

TEST(Rpcd, ArgumentsMustBeAnObject)
{
    core::JsonValue a;
    std::string err;
    EXPECT_TRUE(ctl::rpcd_parse_args("", a, &err));
    EXPECT_TRUE(a.is_object());
    EXPECT_TRUE(ctl::rpcd_parse_args(" \n", a, &err));
    EXPECT_TRUE(ctl::rpcd_parse_args(R"({"name":"wan1"})", a, &err));
    ASSERT_NE(a.get_string("name"), nullptr);
    EXPECT_EQ(*a.get_string("name"), "wan1");
    EXPECT_FALSE(ctl::rpcd_parse_args("[1]", a, &err));
    EXPECT_NE(err.find("object"), std::string::npos) << err;
    EXPECT_FALSE(ctl::rpcd_parse_args(R"({"name":)", a, &err));
    EXPECT_NE(err.find("bad JSON"), std::string::npos) << err;
    EXPECT_FALSE(ctl::rpcd_parse_args(std::string(70000, ' ') + "{}", a, &err));
}

TEST(Rpcd, ErrorIsAJsonObject)
{
    core::JsonValue v = parse(ctl::rpcd_error("cannot \"connect\"\n"));
    ASSERT_TRUE(v.is_object());
    ASSERT_NE(v.get("ok"), nullptr);
    EXPECT_FALSE(v.get("ok")->as_bool());
    ASSERT_NE(v.get_string("error"), nullptr);
    EXPECT_EQ(*v.get_string("error"), "cannot \"connect\"\n");
}
