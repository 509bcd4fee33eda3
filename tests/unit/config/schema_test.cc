// The option table: its consistency, and a walk over every row with good and bad values
// through the real loader, checking that each error names file, line, section, option,
// value and the allowed range.
#include "config/schema.h"
#include "testutil.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace cfg;

namespace {

const uint8_t kKinds[] = {K_DEFAULTS, K_INTERFACE, K_SERVER, K_PROXY, K_GRE, K_DAEMON};

std::vector<const OptionSpec *> rows()
{
    size_t n;
    const OptionSpec *t = schema_table(n);
    std::vector<const OptionSpec *> out;
    for (size_t i = 0; i < n; i++)
        out.push_back(&t[i]);
    return out;
}

TEST(Schema, RowsAreConsistent)
{
    std::set<std::pair<std::string, uint8_t>> seen;
    for (const OptionSpec *s : rows()) {
        SCOPED_TRACE(s->name);
        EXPECT_TRUE(uci_valid_name(s->name));
        EXPECT_NE(s->kinds, 0);
        for (uint8_t k : kKinds) {
            if (s->kinds & k) {
                EXPECT_TRUE(seen.insert({s->name, k}).second)
                        << "two rows for one option in a " << kind_name(k) << " section";
            }
        }
        if (s->type == VType::uint) {
            EXPECT_LE(s->min, s->max);
        }
        if (s->type == VType::enumeration) {
            ASSERT_NE(s->names, nullptr);
            EXPECT_NE(s->names[0], nullptr);
        }
        if (s->def) {
            Value v;
            EXPECT_EQ(parse_text(*s, s->def, v), Parse::set) << "default does not validate";
        }
        EXPECT_EQ(find_spec(s->name, s->kinds & -s->kinds), s);
        EXPECT_TRUE(name_in_schema(s->name));
    }
    EXPECT_FALSE(name_in_schema("tris"));
    EXPECT_EQ(find_spec("hosts", K_SERVER), nullptr);
}

// The table's defaults are the initial values of the structs in config.h, so code that
// default-constructs them (tests, the daemon before the first load) sees the same values.
TEST(Schema, TableDefaultsMatchStructInitializers)
{
    TrackerOptions tr;
    Target t;
    t.tr = &tr;
    apply_table_defaults(K_TRACKER, t);
    EXPECT_TRUE(tr == TrackerOptions());
    ServerTrackerOptions srv;
    Target ts;
    ts.srv = &srv;
    apply_table_defaults(K_SERVER, ts);
    EXPECT_TRUE(srv == ServerTrackerOptions());
    DaemonOptions dm;
    Target td;
    td.dm = &dm;
    apply_table_defaults(K_DAEMON, td);
    EXPECT_TRUE(dm == DaemonOptions());
}

TEST(Schema, EveryReferenceOptionIsPresent)
{
    const char *tracker[] = {"enabled",
                             "hosts",
                             "hosts6",
                             "type",
                             "family",
                             "timeout",
                             "count",
                             "size",
                             "max_ttl",
                             "tries",
                             "tries_up",
                             "interval",
                             "interval_tries",
                             "failure_interval",
                             "wait_test",
                             "check_quality",
                             "failure_loss",
                             "failure_latency",
                             "recovery_loss",
                             "recovery_latency",
                             "server_test",
                             "server_http_test",
                             "reliability",
                             "initial_state",
                             "keep_failure_interval",
                             "options",
                             "restart_down",
                             "mail_alert"};
    for (const char *n : tracker) {
        EXPECT_NE(find_spec(n, K_DEFAULTS), nullptr) << n;
        EXPECT_NE(find_spec(n, K_INTERFACE), nullptr) << n;
    }
    for (const char *n : {"script_alert_up", "script_alert_down"})
        EXPECT_NE(find_spec(n, K_INTERFACE), nullptr) << n;
    for (const char *n : {"mail_up_subject", "mail_up_message", "mail_down_subject",
                          "mail_down_message", "country"})
        EXPECT_NE(find_spec(n, K_DEFAULTS), nullptr) << n;
    for (const char *n : {"enabled", "hosts", "hosts6", "timeout", "tries", "interval",
                          "interval_tries", "wait_test", "family", "mail_alert", "initial_state",
                          "script_alert_up", "script_alert_down", "country"})
        EXPECT_NE(find_spec(n, K_PROXY), nullptr) << n;
    for (const char *n : {"enabled", "type", "tries", "timeout", "interval", "interval_tries",
                          "wait_test", "mail_alert", "check_quality", "failure_loss",
                          "failure_latency", "recovery_loss", "recovery_latency", "initial_state"})
        EXPECT_NE(find_spec(n, K_SERVER), nullptr) << n;
    for (const char *n : {"enabled", "timeout", "tries", "interval", "interval_tries", "wait_test"})
        EXPECT_NE(find_spec(n, K_GRE), nullptr) << n;
    for (const char *n :
         {"socket_path", "status_file", "log_level", "hooks_dir", "server_hooks_dir"})
        EXPECT_NE(find_spec(n, K_DAEMON), nullptr) << n;
    // Live vs accepted-but-unused is recorded.
    EXPECT_EQ(find_spec("reliability", K_INTERFACE)->use, Use::unused);
    EXPECT_EQ(find_spec("keep_failure_interval", K_INTERFACE)->use, Use::unused);
    EXPECT_EQ(find_spec("restart_down", K_INTERFACE)->use, Use::hooks);
    EXPECT_EQ(find_spec("tries", K_INTERFACE)->use, Use::live);
}

TEST(Schema, ShellFallbacksAreTheDefaults)
{
    EXPECT_STREQ(find_spec("tries", K_INTERFACE)->def, "5");     // C
    EXPECT_STREQ(find_spec("timeout", K_INTERFACE)->def, "2");   // no C: F
    EXPECT_EQ(find_spec("tries_up", K_INTERFACE)->def, nullptr); // derived: = tries
    EXPECT_STREQ(find_spec("tries", K_SERVER)->def, "4");        // server script C
    EXPECT_STREQ(find_spec("timeout", K_SERVER)->def, "5");
    EXPECT_STREQ(find_spec("interval", K_SERVER)->def, "10");
    EXPECT_STREQ(find_spec("interval_tries", K_SERVER)->def, "2");
    EXPECT_STREQ(find_spec("type", K_SERVER)->def, "apiping");
}

TEST(Schema, ClassifyHost)
{
    struct {
        const char *s;
        HostKind k;
    } cases[] = {
            {"192.0.2.1", HostKind::ipv4},
            {"255.255.255.255", HostKind::ipv4},
            {"2606:4700:4700::1111", HostKind::ipv6},
            {"::1", HostKind::ipv6},
            {"::ffff:192.0.2.1", HostKind::ipv6},
            {"one.one.one.one", HostKind::name},
            {"vps.example.com.", HostKind::name},
            {"a-b.example", HostKind::name},
            {"localhost", HostKind::name},
            {"3com.com", HostKind::name},
            {"", HostKind::invalid},
            {"256.1.1.1", HostKind::invalid},
            {"1.2.3", HostKind::invalid},
            {"01.2.3.4", HostKind::invalid},
            {"bad..host", HostKind::invalid},
            {"-a.example", HostKind::invalid},
            {"a-.example", HostKind::invalid},
            {"under_score.example", HostKind::invalid},
            {"fe80::1%eth0", HostKind::invalid},
            {"2606:4700::1::1", HostKind::invalid},
            {"a b", HostKind::invalid},
            {".", HostKind::invalid},
    };
    for (auto &c : cases)
        EXPECT_EQ(classify_host(c.s), c.k) << c.s;
    EXPECT_EQ(classify_host(std::string(63, 'a') + ".example"), HostKind::name);
    EXPECT_EQ(classify_host(std::string(64, 'a') + ".example"), HostKind::invalid);
    std::string long_name;
    for (int i = 0; i < 64; i++)
        long_name += "abc.";
    EXPECT_EQ(classify_host(long_name), HostKind::invalid);
}

// --- walking the table through load_config ---

const char *kNetwork = "config globals 'globals'\n\toption multipath 'enable'\n"
                       "config interface 'wan1'\n\toption device 'eth1'\n"
                       "\toption multipath 'on'\n";

const char *section_type(uint8_t k)
{
    return kind_name(k);
}
const char *section_name(uint8_t k)
{
    return k == K_INTERFACE ? "wan1" : kind_name(k);
}

// omr-tracker with `option NAME VALUE` in a section of kind |k|; returns the option's line.
int write_case(const cfgtest::TempDir &dir, uint8_t k, const char *name, const std::string &v)
{
    std::string t = "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n";
    int line = 3;
    if (k != K_DEFAULTS) {
        t += std::string("config ") + section_type(k) + " '" + section_name(k) + "'\n";
        line = 4;
    }
    t += std::string("\toption ") + name + " " + uci_quote(v) + "\n";
    dir.write("omr-tracker", t);
    dir.write("network", kNetwork);
    return line;
}

struct Case {
    std::string value;
    bool valid;
};

std::vector<Case> cases_for(const OptionSpec &s)
{
    std::vector<Case> c;
    switch (s.type) {
    case VType::uint:
        c.push_back({std::to_string(s.min), true});
        c.push_back({std::to_string(s.max), true});
        if (s.min > 0)
            c.push_back({std::to_string(s.min - 1), false});
        c.push_back({std::to_string(uint64_t(s.max) + 1), false});
        c.push_back({"abc", false});
        c.push_back({"-1", false});
        c.push_back({"5s", false});
        break;
    case VType::boolean:
        for (const char *b :
             {"1", "0", "yes", "no", "on", "off", "true", "false", "enabled", "disabled", "TRUE"})
            c.push_back({b, true});
        c.push_back({"maybe", false});
        c.push_back({"2", false});
        break;
    case VType::enumeration:
        for (const char *const *n = s.names; *n; n++)
            c.push_back({*n, true});
        c.push_back({"bogus", false});
        break;
    case VType::string:
        c.push_back({"any text, even 'quotes'", true});
        break;
    case VType::hosts4:
        c.push_back({"192.0.2.7 vps.example.com", true});
        c.push_back({"bad..host", false});
        c.push_back({"2001:db8::1", false});
        break;
    case VType::hosts6:
        c.push_back({"2001:db8::7 vps.example.com", true});
        c.push_back({"bad..host", false});
        c.push_back({"192.0.2.1", false});
        break;
    case VType::hosts_any:
    case VType::path:
        c.push_back({"/var/run/x", true});
        c.push_back({"relative/x", false});
        break;
    }
    return c;
}

TEST(Schema, EveryRowRejectsBadValuesWithAPreciseDiag)
{
    size_t checked = 0;
    for (const OptionSpec *s : rows()) {
        for (uint8_t k : kKinds) {
            if (!(s->kinds & k))
                continue;
            for (const Case &c : cases_for(*s)) {
                if (c.valid)
                    continue;
                SCOPED_TRACE(std::string(kind_name(k)) + "." + s->name + "=" + c.value);
                cfgtest::TempDir dir;
                int line = write_case(dir, k, s->name, c.value);
                Config conf;
                std::vector<Diag> errors;
                ASSERT_FALSE(load_config(dir.path(), conf, errors));
                ASSERT_EQ(cfgtest::count_errors(errors), 1u) << cfgtest::all_diags(errors);
                const Diag &d = errors[0];
                EXPECT_EQ(d.file, dir.file("omr-tracker"));
                EXPECT_EQ(d.line, line);
                EXPECT_EQ(d.section, std::string(section_type(k)) + " '" + section_name(k) + "'");
                EXPECT_EQ(d.option, s->name);
                EXPECT_NE(c.value.find(d.value), std::string::npos);
                std::string f = d.format();
                EXPECT_NE(f.find(dir.file("omr-tracker") + ":" + std::to_string(line) + ": "),
                          std::string::npos)
                        << f;
                EXPECT_NE(f.find(std::string("option '") + s->name + "'"), std::string::npos) << f;
                EXPECT_NE(f.find("'" + d.value + "'"), std::string::npos) << f;
                if (s->type == VType::uint) {
                    std::string range = std::to_string(s->min) + ".." + std::to_string(s->max);
                    EXPECT_NE(f.find("(expected an integer " + range), std::string::npos) << f;
                } else if (s->type != VType::hosts4 && s->type != VType::hosts6) {
                    EXPECT_NE(f.find("(expected " + describe_expected(*s) + ")"), std::string::npos)
                            << f;
                }
                checked++;
            }
        }
    }
    EXPECT_GT(checked, 150u);
}

TEST(Schema, EveryRowAcceptsGoodValues)
{
    for (const OptionSpec *s : rows()) {
        for (uint8_t k : kKinds) {
            if (!(s->kinds & k))
                continue;
            for (const Case &c : cases_for(*s)) {
                if (!c.valid)
                    continue;
                SCOPED_TRACE(std::string(kind_name(k)) + "." + s->name + "=" + c.value);
                cfgtest::TempDir dir;
                write_case(dir, k, s->name, c.value);
                Config conf;
                std::vector<Diag> errors;
                ASSERT_TRUE(load_config(dir.path(), conf, errors)) << cfgtest::all_diags(errors);
                for (const Diag &w : conf.warnings)
                    EXPECT_EQ(w.message.find("unknown"), std::string::npos) << w.format();
                // Where the option has a field, the loaded value is the written one.
                if (k != K_INTERFACE || s->bind.kind == Bind::none ||
                    (std::string(s->name) == "failure_interval" && c.value == "0") ||
                    (std::string(s->name) == "enabled" && c.value != "1" && c.value != "yes" &&
                     c.value != "on" && c.value != "true" && c.value != "enabled" &&
                     c.value != "TRUE"))
                    continue;
                const Interface *i = conf.find_interface("wan1");
                ASSERT_NE(i, nullptr) << dump_config(conf);
                TrackerOptions o = i->opts;
                Target t;
                t.tr = &o;
                std::vector<std::string> got;
                ASSERT_TRUE(current_values(*s, t, got));
                Value want;
                ASSERT_EQ(parse_text(*s, c.value, want), Parse::set);
                if (s->type == VType::hosts4 || s->type == VType::hosts6)
                    EXPECT_EQ(got, want.list);
                else if (s->type == VType::boolean)
                    EXPECT_EQ(got[0], want.b ? "1" : "0");
                else
                    EXPECT_EQ(got[0], c.value);
            }
        }
    }
}

TEST(Schema, ListGivenForAScalar)
{
    cfgtest::TempDir dir;
    dir.write("network", kNetwork);
    dir.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                             "\tlist tries '3'\n\tlist tries '4'\n\tlist count '1'\n");
    Config conf;
    std::vector<Diag> errors;
    ASSERT_FALSE(load_config(dir.path(), conf, errors));
    ASSERT_EQ(cfgtest::count_errors(errors), 1u) << cfgtest::all_diags(errors);
    EXPECT_EQ(errors[0].line, 4);
    EXPECT_EQ(errors[0].message, "expected a single value, got a list of 2 values");
    EXPECT_EQ(errors[0].value, "3 4");
}

} // namespace
