// load_config(): OMR's shipped files, the merge rule, interface selection (reference §1.2),
// servers, the daemon section, cross-field checks, error collection and the dump.
#include "config/config.h"
#include "config/uci.h"
#include "testutil.h"

#include <gtest/gtest.h>

#include <string>

using namespace cfg;

namespace {

const std::string kData = OMRT_CONFIG_TESTDATA;

struct Loaded {
    bool ok = false;
    Config c;
    std::vector<Diag> errors;
};

Loaded load(const std::string &dir)
{
    Loaded l;
    l.ok = load_config(dir, l.c, l.errors);
    return l;
}

std::string why_skipped(const Config &c, const std::string &name)
{
    for (const Skipped &s : c.skipped)
        if (s.name == name)
            return s.why;
    return "<tracked or unknown>";
}

std::vector<std::string> tracked(const Config &c)
{
    std::vector<std::string> out;
    for (const Interface &i : c.interfaces)
        out.push_back(i.name);
    return out;
}

bool has_diag(const std::vector<Diag> &d, const std::string &part, bool warning)
{
    for (const Diag &x : d)
        if (x.warning == warning && x.format().find(part) != std::string::npos)
            return true;
    return false;
}

// A config directory with a minimal valid set of files; tests overwrite what they need.
struct Dir : cfgtest::TempDir {
    Dir()
    {
        write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n");
        write("network", "config globals 'globals'\n\toption multipath 'enable'\n"
                         "config interface 'wan1'\n\toption device 'eth1'\n"
                         "\toption multipath 'on'\n");
        write("openmptcprouter", "config settings 'settings'\n\toption vpn 'glorytun_tcp'\n");
    }
};

// --- OMR's shipped configuration -------------------------------------------------------

TEST(Config, ShippedOmrConfigLoads)
{
    Loaded l = load(kData + "/omr");
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    const Config &c = l.c;
    EXPECT_TRUE(c.warnings.empty()) << cfgtest::all_diags(c.warnings);
    EXPECT_EQ(c.dir, kData + "/omr");
    EXPECT_TRUE(c.multipath_enabled);
    EXPECT_EQ(tracked(c), (std::vector<std::string>{"wan1", "wan2", "omrvpn"}));
    EXPECT_EQ(why_skipped(c, "loopback"), "loopback interface");
    EXPECT_EQ(why_skipped(c, "lan"), "LAN interface (name starts with 'lan')");
    EXPECT_EQ(why_skipped(c, "wan3"), "multipath is off");
    EXPECT_EQ(c.skipped.size(), 3u);

    // wan1 has no omr-tracker section: the shipped defaults, with C/F fallbacks.
    const Interface *w = c.find_interface("wan1");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->line, 0);
    const TrackerOptions &o = w->opts;
    EXPECT_TRUE(o.enabled);
    ASSERT_EQ(o.hosts.size(), 13u);
    EXPECT_EQ(o.hosts.front(), "4.2.2.1");
    EXPECT_EQ(o.hosts.back(), "208.67.222.220");
    ASSERT_EQ(o.hosts6.size(), 8u);
    EXPECT_EQ(o.type, ProbeType::ping);
    EXPECT_EQ(o.family, Family::ipv4);
    EXPECT_EQ(o.timeout_s, 2u);
    EXPECT_EQ(o.count, 2u);
    EXPECT_EQ(o.size, 56u);
    EXPECT_EQ(o.max_ttl, 60u);
    EXPECT_EQ(o.tries, 3u);
    EXPECT_EQ(o.tries_up, 5u);
    EXPECT_EQ(o.interval_s, 2u);
    EXPECT_EQ(o.interval_tries_s, 1u);
    EXPECT_EQ(o.failure_interval_s, 20u);
    EXPECT_EQ(o.wait_test_s, 0u);
    EXPECT_FALSE(o.check_quality);
    EXPECT_EQ(o.failure_loss_pct, 40u);
    EXPECT_EQ(o.failure_latency_ms, 1000u);
    EXPECT_EQ(o.recovery_loss_pct, 10u);
    EXPECT_EQ(o.recovery_latency_ms, 500u);
    EXPECT_FALSE(o.server_test);
    EXPECT_FALSE(o.server_http_test);
    EXPECT_EQ(o.reliability, 1u);
    EXPECT_EQ(o.initial_state, "online");
    EXPECT_FALSE(o.restart_down);
    EXPECT_FALSE(o.mail_alert);
    EXPECT_EQ(w->net.device, "eth1");
    EXPECT_EQ(w->net.proto, "static");
    EXPECT_EQ(w->net.multipath, "master");
    EXPECT_EQ(w->net.gateway, "192.0.2.1");
    EXPECT_EQ(w->net.ipv6, "0");
    EXPECT_EQ(w->net.metric, 3u);
    EXPECT_TRUE(w->net.auto_up);
    EXPECT_FALSE(w->net.disabled);
    EXPECT_TRUE(c.defaults == o);

    // wan2 uses the OpenWrt < 21 `ifname`.
    EXPECT_EQ(c.find_interface("wan2")->net.device, "eth2");

    // omrvpn: 1990-omr-tracker's section over the defaults (reference §3.8).
    const Interface *v = c.find_interface("omrvpn");
    ASSERT_NE(v, nullptr);
    EXPECT_GT(v->line, 0);
    EXPECT_EQ(v->opts.type, ProbeType::none);
    EXPECT_EQ(v->opts.hosts, (std::vector<std::string>{"4.2.2.1", "8.8.8.8"}));
    EXPECT_EQ(v->opts.hosts6.size(), 8u); // not in the section: from defaults
    EXPECT_EQ(v->opts.count, 1u);
    EXPECT_EQ(v->opts.tries, 2u);
    EXPECT_EQ(v->opts.tries_up, 1u);
    EXPECT_EQ(v->opts.interval_s, 5u);
    EXPECT_EQ(v->opts.failure_interval_s, 3u);
    EXPECT_EQ(v->opts.timeout_s, 10u);
    EXPECT_TRUE(v->opts.server_http_test);
    EXPECT_EQ(v->net.multipath, "off"); // tracked by name

    // Server tracker: defaults merged under the server section.
    EXPECT_TRUE(c.server_opts.enabled);
    EXPECT_EQ(c.server_opts.type, ServerCheck::apiping);
    EXPECT_EQ(c.server_opts.tries, 3u);
    EXPECT_EQ(c.server_opts.timeout_s, 10u);
    EXPECT_EQ(c.server_opts.interval_s, 5u);
    EXPECT_EQ(c.server_opts.interval_tries_s, 1u); // from defaults (reference §2.3)
    EXPECT_EQ(c.server_opts.wait_test_s, 0u);
    EXPECT_FALSE(c.server_opts.mail_alert);

    EXPECT_TRUE(c.settings.disable_ipv6);
    EXPECT_EQ(c.settings.vpn, "glorytun_tcp");
    EXPECT_EQ(c.settings.proxy, "shadowsocks");
    EXPECT_EQ(c.settings.master, "balancing");
    ASSERT_EQ(c.servers.size(), 1u);
    const Server *s = c.find_server("vps");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->hosts, (std::vector<std::string>{"192.0.2.10"}));
    EXPECT_EQ(s->port, 65500u);
    EXPECT_EQ(s->username, "openmptcprouter");
    EXPECT_EQ(s->password, "S3cr3t-VPS-key");
    EXPECT_TRUE(s->master);
    EXPECT_FALSE(s->backup);
    EXPECT_EQ(c.find_server("nope"), nullptr);
    EXPECT_EQ(c.find_interface("lan"), nullptr);

    EXPECT_TRUE(c.daemon == DaemonOptions());
}

// --- merge rule (reference §2) ----------------------------------------------------------

TEST(Config, InterfaceValueWinsOverDefaults)
{
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n"
                           "\tlist hosts '192.0.2.1'\n"
                           "\tlist hosts '192.0.2.2'\n"
                           "\toption timeout '4'\n"
                           "\toption tries '7'\n"
                           "\toption check_quality '1'\n"
                           "config interface 'wan1'\n"
                           "\tlist hosts 'vps.example.com'\n"
                           "\toption timeout '9'\n"
                           "\tlist count ''\n"); // empty: defaults' (table) value kept
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    const TrackerOptions &o = l.c.find_interface("wan1")->opts;
    EXPECT_EQ(o.hosts, (std::vector<std::string>{"vps.example.com"})); // list replaced whole
    EXPECT_EQ(o.timeout_s, 9u);
    EXPECT_EQ(o.tries, 7u);
    EXPECT_EQ(o.count, 2u);
    EXPECT_TRUE(o.check_quality);
    EXPECT_EQ(l.c.find_interface("wan1")->line, 7);
}

TEST(Config, InterfaceSectionInheritsDefaultsBooleans)
{
    // The shell gives an interface section without `enabled` the validation default 1 even
    // when defaults says 0; omr-trackerd takes the defaults' value (documented deviation).
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "\toption enabled '0'\n\toption server_test '1'\n"
                           "\toption check_quality '1'\n\toption server_http_test '1'\n"
                           "config interface 'wan1'\n\toption timeout '3'\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(why_skipped(l.c, "wan1"), "tracker disabled (omr-tracker enabled=0)");

    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "\toption server_test '1'\n\toption check_quality '1'\n"
                           "\toption server_http_test '1'\n"
                           "config interface 'wan1'\n\toption timeout '3'\n");
    l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    const TrackerOptions &o = l.c.find_interface("wan1")->opts;
    EXPECT_TRUE(o.server_test);
    EXPECT_TRUE(o.check_quality);
    EXPECT_TRUE(o.server_http_test);
}

TEST(Config, DerivedDefaults)
{
    Dir d;
    d.write("network", "config globals 'globals'\n\toption multipath 'enable'\n"
                       "config interface 'wan1'\n\toption multipath 'on'\n"
                       "config interface 'wan2'\n\toption multipath 'on'\n"
                       "config interface 'wan3'\n\toption multipath 'on'\n");
    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "\toption interval '7'\n"
                           "config interface 'wan1'\n\toption tries '4'\n"
                           "config interface 'wan2'\n\toption tries_up '9'\n"
                           "\toption failure_interval '0'\n"
                           "config interface 'wan3'\n\toption failure_interval '30'\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    const TrackerOptions &w1 = l.c.find_interface("wan1")->opts;
    EXPECT_EQ(w1.tries_up, 4u);           // unset: = tries
    EXPECT_EQ(w1.failure_interval_s, 7u); // unset: = interval
    const TrackerOptions &w2 = l.c.find_interface("wan2")->opts;
    EXPECT_EQ(w2.tries, 5u);
    EXPECT_EQ(w2.tries_up, 9u);
    EXPECT_EQ(w2.failure_interval_s, 7u); // 0: = interval
    EXPECT_EQ(l.c.find_interface("wan3")->opts.failure_interval_s, 30u);
    EXPECT_EQ(l.c.defaults.tries_up, 5u);

    // tries_up set in defaults survives an interface that sets only tries.
    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "\toption tries_up '6'\n"
                           "config interface 'wan1'\n\toption tries '2'\n");
    l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(l.c.find_interface("wan1")->opts.tries, 2u);
    EXPECT_EQ(l.c.find_interface("wan1")->opts.tries_up, 6u);
}

TEST(Config, HostsAsSpaceSeparatedOption)
{
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n"
                           "\toption hosts '192.0.2.1  one.one.one.one\t198.51.100.1'\n"
                           "\toption hosts6 '2001:db8::1 dns.example'\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    const TrackerOptions &o = l.c.find_interface("wan1")->opts;
    EXPECT_EQ(o.hosts, (std::vector<std::string>{"192.0.2.1", "one.one.one.one", "198.51.100.1"}));
    EXPECT_EQ(o.hosts6, (std::vector<std::string>{"2001:db8::1", "dns.example"}));
}

TEST(Config, HostsErrorsNameTheEntry)
{
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n"
                           "\tlist hosts '192.0.2.1'\n"
                           "\tlist hosts '2001:db8::5'\n"
                           "\tlist hosts6 '2001:db8::1 192.0.2.9'\n"
                           "\tlist hosts6 'bad_name'\n");
    Loaded l = load(d.path());
    ASSERT_FALSE(l.ok);
    ASSERT_EQ(cfgtest::count_errors(l.errors), 3u) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(l.errors[0].line, 3);
    EXPECT_EQ(l.errors[0].value, "2001:db8::5");
    EXPECT_EQ(l.errors[0].format(),
              d.file("omr-tracker") +
                      ":3: defaults 'defaults': option 'hosts': '2001:db8::5' is an IPv6 address "
                      "(hosts takes IPv4 addresses and host names; IPv6 ones go in hosts6)");
    EXPECT_EQ(l.errors[1].line, 4);
    EXPECT_EQ(l.errors[1].value, "192.0.2.9");
    EXPECT_NE(l.errors[1].message.find("is an IPv4 address"), std::string::npos);
    EXPECT_EQ(l.errors[2].line, 5);
    EXPECT_EQ(l.errors[2].message,
              "invalid host 'bad_name' (expected IPv6 addresses or host names)");
}

// --- interface selection, one rule at a time (reference §1.2 _launch_tracker) -----------

struct SelCase {
    const char *name;
    const char *net_opts;     // extra network options of the interface
    const char *tracker_opts; // its omr-tracker interface section options ("" = none)
    const char *omr;          // extra openmptcprouter text
    const char *why;          // nullptr: tracked
};

TEST(Config, InterfaceSelectionRules)
{
    const SelCase cases[] = {
            {"wan1", "\toption multipath 'on'\n", "", "", nullptr},
            {"wan1", "\toption multipath 'master'\n", "", "", nullptr},
            {"wan1", "\toption multipath 'backup'\n", "", "", nullptr},
            {"wan1", "\toption multipath 'handover'\n", "", "", nullptr},
            {"loopback", "\toption multipath 'on'\n", "", "", "loopback interface"},
            {"lan", "\toption multipath 'on'\n", "", "", "LAN interface (name starts with 'lan')"},
            {"lan2", "\toption multipath 'on'\n", "", "", "LAN interface (name starts with 'lan')"},
            {"if0x", "\toption multipath 'on'\n", "", "", "name starts with 'if0'"},
            {"wan1", "", "", "", "not a multipath interface (network multipath not set)"},
            {"wan1", "\toption multipath 'off'\n", "", "", "multipath is off"},
            {"glorytun", "\toption multipath 'off'\n", "", "", nullptr},
            {"omrvpn", "", "", "", nullptr},
            {"wan1", "\toption multipath 'off'\n", "",
             "config interface 'wan1'\n\toption multipathvpn '1'\n", nullptr},
            {"omrvpn", "", "", "config settings 'settings'\n\toption vpn 'none'\n",
             "VPN disabled (openmptcprouter.settings.vpn is 'none')"},
            {"wan1", "\toption multipath 'on'\n\toption auto '0'\n", "", "",
             "not brought up at boot (network auto=0)"},
            {"wan1", "\toption multipath 'on'\n", "\toption enabled '0'\n", "",
             "tracker disabled (omr-tracker enabled=0)"},
            {"wan1", "\toption multipath 'on'\n\toption disabled '1'\n", "", "",
             "interface disabled (network disabled=1)"},
            {"wan1", "\toption multipath 'on'\n", "\tlist hosts ''\n\toption type 'ping'\n", "",
             nullptr}, // an empty list does not clear the defaults' hosts
    };
    for (const SelCase &c : cases) {
        SCOPED_TRACE(std::string(c.name) + " / " + c.net_opts + c.tracker_opts + c.omr);
        Dir d;
        d.write("network", std::string("config globals 'globals'\n\toption multipath 'enable'\n"
                                       "config interface '") +
                                   c.name + "'\n\toption device 'eth9'\n" + c.net_opts);
        std::string tr = "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n";
        if (*c.tracker_opts)
            tr += std::string("config interface '") + c.name + "'\n" + c.tracker_opts;
        d.write("omr-tracker", tr);
        d.write("openmptcprouter", std::string("config settings 'settings'\n") + c.omr);
        Loaded l = load(d.path());
        ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
        if (c.why) {
            EXPECT_TRUE(l.c.interfaces.empty());
            EXPECT_EQ(why_skipped(l.c, c.name), c.why);
        } else {
            EXPECT_EQ(tracked(l.c), std::vector<std::string>{c.name});
            EXPECT_TRUE(l.c.skipped.empty());
        }
    }
}

TEST(Config, EmptyHostsSkipUnlessTypeNone)
{
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n\toption type 'ping'\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(why_skipped(l.c, "wan1"),
              "no tracking hosts (omr-tracker hosts is empty and type is not 'none')");

    d.write("omr-tracker", "config defaults 'defaults'\n\toption type 'none'\n");
    l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(tracked(l.c), std::vector<std::string>{"wan1"});
}

TEST(Config, NothingTrackedWithoutGlobalMultipath)
{
    for (const char *globals : {"config globals 'globals'\n\toption multipath 'disable'\n",
                                "config globals 'globals'\n", ""}) {
        Dir d;
        d.write("network", std::string(globals) +
                                   "config interface 'wan1'\n\toption multipath 'on'\n"
                                   "config interface 'omrvpn'\n");
        Loaded l = load(d.path());
        ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
        EXPECT_FALSE(l.c.multipath_enabled);
        EXPECT_TRUE(l.c.interfaces.empty());
        ASSERT_EQ(l.c.skipped.size(), 2u);
        EXPECT_EQ(l.c.skipped[0].why,
                  "multipath is disabled globally (network.globals.multipath is not 'enable')");
    }
}

TEST(Config, NetworkFileIsReadLeniently)
{
    Dir d;
    d.write("network", "config globals 'globals'\n\toption multipath 'enable'\n"
                       "config interface 'wan1'\n\toption multipath 'sometimes'\n"
                       "\toption metric 'high'\n\toption auto 'perhaps'\n"
                       "\toption ifname 'eth1 eth2'\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    const Interface *w = l.c.find_interface("wan1");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->net.device, "eth1 eth2");
    EXPECT_EQ(w->net.metric, 0u);
    EXPECT_TRUE(w->net.auto_up);
    EXPECT_EQ(l.c.warnings.size(), 3u) << cfgtest::all_diags(l.c.warnings);
    EXPECT_TRUE(has_diag(l.c.warnings,
                         ":4: warning: interface 'wan1': option 'multipath': "
                         "unknown multipath mode 'sometimes'",
                         true));
    EXPECT_TRUE(has_diag(l.c.warnings,
                         ":5: warning: interface 'wan1': option 'metric': invalid value "
                         "'high' (expected an integer 0..4294967295); ignored, using the default",
                         true));
}

// --- servers ----------------------------------------------------------------------------

TEST(Config, Servers)
{
    Dir d;
    d.write("openmptcprouter", "config settings 'settings'\n"
                               "config server 'vps1'\n"                  // 2
                               "\toption ip '192.0.2.10 vps1.example'\n" // several words
                               "\toption password 'k1'\n"
                               "\toption master '1'\n"
                               "config server 'vps2'\n" // 6
                               "\tlist ip '2001:db8::10'\n"
                               "\tlist ip '192.0.2.11'\n"
                               "\toption port '443'\n"
                               "\toption username 'admin'\n"
                               "\toption backup '1'\n"
                               "\toption token 'not-read'\n"
                               "config server 'old'\n" // 13
                               "\tlist ip '192.0.2.12'\n"
                               "\toption disabled '1'\n"
                               "config server 'empty'\n" // 16
                               "\toption port '65500'\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    ASSERT_EQ(l.c.servers.size(), 2u);
    const Server &a = l.c.servers[0];
    EXPECT_EQ(a.name, "vps1");
    EXPECT_EQ(a.hosts, (std::vector<std::string>{"192.0.2.10", "vps1.example"}));
    EXPECT_EQ(a.port, 65500u);
    EXPECT_EQ(a.username, "openmptcprouter");
    EXPECT_EQ(a.password, "k1");
    EXPECT_TRUE(a.master);
    EXPECT_EQ(a.line, 2);
    const Server &b = l.c.servers[1];
    EXPECT_EQ(b.hosts, (std::vector<std::string>{"2001:db8::10", "192.0.2.11"}));
    EXPECT_EQ(b.port, 443u);
    EXPECT_EQ(b.username, "admin");
    EXPECT_TRUE(b.backup);
    EXPECT_FALSE(b.master);
    ASSERT_EQ(l.c.skipped_servers.size(), 2u);
    EXPECT_EQ(l.c.skipped_servers[0].name, "old");
    EXPECT_EQ(l.c.skipped_servers[0].why, "disabled");
    EXPECT_EQ(l.c.skipped_servers[1].name, "empty");
    EXPECT_TRUE(has_diag(l.c.warnings,
                         "openmptcprouter:16: warning: server 'empty': option 'ip': server has "
                         "no address (list ip); skipped",
                         true))
            << cfgtest::all_diags(l.c.warnings);
}

TEST(Config, ServerErrors)
{
    Dir d;
    d.write("openmptcprouter", "config server 'vps'\n"
                               "\tlist ip '192.0.2.10'\n"
                               "\tlist ip 'no..pe'\n"
                               "\toption port '0'\n"
                               "\toption master 'sure'\n");
    Loaded l = load(d.path());
    ASSERT_FALSE(l.ok);
    ASSERT_EQ(cfgtest::count_errors(l.errors), 3u) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(l.errors[0].format(), d.file("openmptcprouter") +
                                            ":3: server 'vps': option 'ip': invalid host "
                                            "'no..pe' (expected IP addresses or host names)");
    EXPECT_EQ(l.errors[1].format(), d.file("openmptcprouter") +
                                            ":4: server 'vps': option 'port': invalid value "
                                            "'0' (expected an integer 1..65535)");
    EXPECT_EQ(l.errors[2].line, 5);
    EXPECT_EQ(l.errors[2].option, "master");
}

TEST(Config, MissingOpenmptcprouterMeansNoServers)
{
    Dir d;
    d.remove("openmptcprouter");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    EXPECT_TRUE(l.c.servers.empty());
    EXPECT_FALSE(l.c.settings.disable_ipv6); // the shell tests "= 1"
    EXPECT_TRUE(has_diag(l.c.warnings, "openmptcprouter: warning: file not found", true));
}

TEST(Config, MissingRequiredFiles)
{
    Dir d;
    d.remove("omr-tracker");
    d.remove("network");
    Loaded l = load(d.path());
    ASSERT_FALSE(l.ok);
    ASSERT_EQ(cfgtest::count_errors(l.errors), 2u) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(l.errors[0].format(), d.file("omr-tracker") + ": file not found");
    EXPECT_EQ(l.errors[1].format(), d.file("network") + ": file not found");
}

TEST(Config, ServerTrackerMerge)
{
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "\toption tries '7'\n\toption type 'httping'\n"
                           "\toption mail_alert '1'\n\toption wait_test '4'\n"
                           "config server 'server'\n\toption timeout '9'\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    const ServerTrackerOptions &s = l.c.server_opts;
    EXPECT_EQ(s.tries, 7u);                  // from defaults
    EXPECT_EQ(s.type, ServerCheck::apiping); // httping is no server check: not inherited
    EXPECT_FALSE(s.mail_alert);              // read from `server` only
    EXPECT_EQ(s.wait_test_s, 4u);
    EXPECT_EQ(s.timeout_s, 9u);
    EXPECT_EQ(s.interval_s, 10u); // script C
    EXPECT_EQ(s.interval_tries_s, 2u);

    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "\toption type 'none'\n");
    l = load(d.path());
    ASSERT_TRUE(l.ok);
    EXPECT_EQ(l.c.server_opts.type, ServerCheck::none);
}

// --- our own daemon section -------------------------------------------------------------

TEST(Config, DaemonSection)
{
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "config daemon 'daemon'\n"
                           "\toption socket_path '/tmp/t.sock'\n"
                           "\toption status_file '/tmp/t.json'\n"
                           "\toption log_level 'debug'\n"
                           "\toption hooks_dir '/tmp/hooks'\n"
                           "\toption server_hooks_dir '/tmp/shooks'\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(l.c.daemon.socket_path, "/tmp/t.sock");
    EXPECT_EQ(l.c.daemon.status_file, "/tmp/t.json");
    EXPECT_EQ(l.c.daemon.log_level, "debug");
    EXPECT_EQ(l.c.daemon.hooks_dir, "/tmp/hooks");
    EXPECT_EQ(l.c.daemon.server_hooks_dir, "/tmp/shooks");

    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "config daemon 'daemon'\n"
                           "\toption socket_path '/" +
                                   std::string(120, 's') +
                                   "'\n"
                                   "\toption log_level 'verbose'\n"
                                   "\toption hooks_dir 'hooks'\n");
    l = load(d.path());
    ASSERT_FALSE(l.ok);
    ASSERT_EQ(cfgtest::count_errors(l.errors), 3u) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(l.errors[0].line, 4);
    EXPECT_NE(l.errors[0].message.find("too long for a unix socket (121 bytes, limit 107)"),
              std::string::npos);
    EXPECT_EQ(l.errors[1].format(),
              d.file("omr-tracker") +
                      ":5: daemon 'daemon': option 'log_level': invalid value 'verbose' "
                      "(expected one of: debug, info, notice, warning, err)");
    EXPECT_EQ(l.errors[2].message, "invalid value 'hooks' (expected an absolute path)");

    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "config daemon 'daemon'\n\toption socket_path '/tmp/x'\n"
                           "\toption status_file '/tmp/x'\n");
    l = load(d.path());
    ASSERT_FALSE(l.ok);
    EXPECT_EQ(l.errors[0].line, 5);
    EXPECT_EQ(l.errors[0].message, "status_file and socket_path must be different files");
}

// --- warnings: unknown things are accepted ----------------------------------------------

TEST(Config, UnknownOptionsAndSectionsAreWarnings)
{
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n"     // 1
                           "\tlist hosts '192.0.2.1'\n"       // 2
                           "\toption country 'world'\n"       // 3: known, unused
                           "\toption tris '3'\n"              // 4: unknown
                           "\toption script_alert_up 'x'\n"   // 5: not in defaults
                           "config shadowsocks 'proxy_old'\n" // 6: unknown type
                           "config interface 'wan9'\n"        // 7: no such network iface
                           "config defaults 'other'\n"        // 8: wrong name
                           "config proxy 'proxy'\n"           // 9
                           "\toption country 'world_proxy'\n" // 10
                           "\toption tries_up '3'\n");        // 11: not for proxy
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    const std::string f = d.file("omr-tracker");
    std::vector<std::string> got;
    for (const Diag &w : l.c.warnings)
        got.push_back(w.format());
    std::vector<std::string> want = {
            f + ":4: warning: defaults 'defaults': option 'tris': unknown option, ignored",
            f + ":5: warning: defaults 'defaults': option 'script_alert_up': not used in a "
                "defaults section, ignored",
            f + ":6: warning: shadowsocks 'proxy_old': unknown section type, ignored",
            f + ":7: warning: interface 'wan9': no interface of that name in " + d.file("network") +
                    ", ignored",
            f + ":8: warning: defaults 'other': section ignored: the trackers only read the "
                "defaults section named 'defaults'",
            f + ":11: warning: proxy 'proxy': option 'tries_up': not used in a proxy section, "
                "ignored",
    };
    EXPECT_EQ(got, want);
}

// --- cross-field checks -----------------------------------------------------------------

TEST(Config, CrossFieldChecks)
{
    Dir d;
    d.write("omr-tracker", "config defaults 'defaults'\n"   // 1
                           "\tlist hosts '192.0.2.1'\n"     // 2
                           "\toption check_quality '1'\n"   // 3
                           "\toption failure_loss '0'\n"    // 4
                           "config interface 'wan1'\n"      // 5
                           "\toption recovery_loss '0'\n"); // 6
    Loaded l = load(d.path());
    ASSERT_FALSE(l.ok);
    ASSERT_EQ(cfgtest::count_errors(l.errors), 2u) << cfgtest::all_diags(l.errors);
    EXPECT_EQ(l.errors[0].format(), d.file("omr-tracker") +
                                            ":4: interface 'wan1': option 'failure_loss': 0 with "
                                            "check_quality on marks the link down on every cycle "
                                            "(expected 1..100)");
    EXPECT_EQ(l.errors[1].line, 6);
    EXPECT_EQ(l.errors[1].option, "recovery_loss");

    // Without check_quality the thresholds do not matter.
    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "\toption failure_loss '0'\n");
    EXPECT_TRUE(load(d.path()).ok);

    d.write("omr-tracker", "config defaults 'defaults'\n"       // 1
                           "\tlist hosts '192.0.2.1'\n"         // 2
                           "\toption check_quality '1'\n"       // 3
                           "\toption failure_loss '20'\n"       // 4
                           "\toption recovery_loss '30'\n"      // 5
                           "\toption recovery_latency '2000'\n" // 6
                           "\toption tries '50'\n"              // 7
                           "\toption timeout '20'\n"            // 8
                           "\toption family 'ipv4ipv6'\n"       // 9
                           "\toption type 'none'\n");           // 10
    l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    EXPECT_TRUE(has_diag(l.c.warnings,
                         ":3: warning: interface 'wan1': option 'check_quality': "
                         "has no effect with type 'none'",
                         true));
    EXPECT_TRUE(has_diag(l.c.warnings,
                         ":5: warning: interface 'wan1': option 'recovery_loss': "
                         "30% is above failure_loss 20%",
                         true));
    EXPECT_TRUE(has_diag(l.c.warnings,
                         ":6: warning: interface 'wan1': option "
                         "'recovery_latency': 2000 ms is above failure_latency",
                         true));
    EXPECT_TRUE(has_diag(l.c.warnings,
                         ":7: warning: interface 'wan1': option 'tries': a dead "
                         "link is declared down only after up to 1050 s",
                         true));
    EXPECT_FALSE(has_diag(l.c.warnings, "hosts6 is empty", true)); // type none: no hosts used
}

// --- all errors of all files ------------------------------------------------------------

TEST(Config, BadDirectoryListsEveryErrorOfEveryFile)
{
    const std::string dir = kData + "/bad";
    Loaded l = load(dir);
    ASSERT_FALSE(l.ok);
    std::vector<std::string> got, want;
    for (const Diag &d : l.errors) {
        if (d.warning)
            continue;
        std::string file = d.file.substr(d.file.rfind('/') + 1);
        got.push_back(file + ":" + std::to_string(d.line) + " " +
                      (d.option.empty() ? "-" : d.option));
        EXPECT_EQ(d.file, dir + "/" + file);
    }
    std::string expected = cfgtest::read_text(dir + "/expected-errors");
    for (const std::string &line : [&] {
             std::vector<std::string> v;
             size_t b = 0;
             while (b < expected.size()) {
                 size_t e = expected.find('\n', b);
                 if (e == std::string::npos)
                     e = expected.size();
                 v.push_back(expected.substr(b, e - b));
                 b = e + 1;
             }
             return v;
         }())
        if (!line.empty() && line[0] != '#')
            want.push_back(line);
    EXPECT_EQ(got, want) << cfgtest::all_diags(l.errors);
    // Warnings come after the errors.
    EXPECT_TRUE(l.errors.back().warning);
    EXPECT_TRUE(
            has_diag(l.errors, "omr-tracker:17: warning: interface 'wan1': option 'tris'", true));
    // Spot-check the wording users see.
    EXPECT_EQ(l.errors[0].format(), dir + "/omr-tracker:6: defaults 'defaults': option 'timeout': "
                                          "invalid value 'abc' (expected an integer 1..3600, "
                                          "in seconds)");
    EXPECT_EQ(l.errors[1].format(), dir + "/omr-tracker:7: defaults 'defaults': option 'tries': "
                                          "invalid value '0' (expected an integer 1..100)");
}

TEST(Config, FailedLoadLeavesTargetUntouched)
{
    Loaded good = load(kData + "/omr");
    ASSERT_TRUE(good.ok);
    Config keep = good.c;
    std::vector<Diag> errors;
    EXPECT_FALSE(load_config(kData + "/bad", good.c, errors));
    EXPECT_EQ(good.c.interfaces.size(), keep.interfaces.size());
    EXPECT_TRUE(good.c.interfaces[0] == keep.interfaces[0]);
    EXPECT_EQ(good.c.dir, keep.dir);
}

// --- equality for reload diffs ------------------------------------------------------------

TEST(Config, EqualityDrivesReloadDiffs)
{
    cfgtest::TempDir copy;
    for (const char *f : {"omr-tracker", "network", "openmptcprouter"})
        copy.write(f, cfgtest::read_text(kData + "/omr/" + f));
    Loaded a = load(copy.path());
    ASSERT_TRUE(a.ok);
    Loaded b = load(copy.path());
    ASSERT_TRUE(b.ok);
    ASSERT_EQ(a.c.interfaces.size(), b.c.interfaces.size());
    for (size_t i = 0; i < a.c.interfaces.size(); i++)
        EXPECT_TRUE(a.c.interfaces[i] == b.c.interfaces[i]);
    EXPECT_TRUE(a.c.servers[0] == b.c.servers[0]);
    EXPECT_TRUE(a.c.server_opts == b.c.server_opts);

    // One changed option of omrvpn changes omrvpn only; a comment line moving every
    // section down changes nothing.
    std::string tr = cfgtest::read_text(kData + "/omr/omr-tracker");
    size_t at = tr.find("\toption count '1'");
    ASSERT_NE(at, std::string::npos);
    tr.replace(at, 17, "\toption count '3'");
    copy.write("omr-tracker", "# moved\n" + tr);
    std::string omr = cfgtest::read_text(kData + "/omr/openmptcprouter");
    copy.write("openmptcprouter", "# moved\n" + omr);
    Loaded c = load(copy.path());
    ASSERT_TRUE(c.ok) << cfgtest::all_diags(c.errors);
    EXPECT_TRUE(*a.c.find_interface("wan1") == *c.c.find_interface("wan1"));
    EXPECT_FALSE(*a.c.find_interface("omrvpn") == *c.c.find_interface("omrvpn"));
    EXPECT_NE(a.c.find_interface("omrvpn")->line, c.c.find_interface("omrvpn")->line);
    EXPECT_TRUE(*a.c.find_server("vps") == *c.c.find_server("vps"));
    EXPECT_NE(a.c.find_server("vps")->line, c.c.find_server("vps")->line);

    Server s = a.c.servers[0];
    s.password = "other";
    EXPECT_FALSE(s == a.c.servers[0]);
    NetworkIface n = a.c.interfaces[0].net;
    n.metric++;
    EXPECT_FALSE(n == a.c.interfaces[0].net);
    DaemonOptions dm;
    dm.log_level = "debug";
    EXPECT_FALSE(dm == DaemonOptions());
    ServerTrackerOptions so;
    so.interval_s++;
    EXPECT_FALSE(so == ServerTrackerOptions());
}

// --- Diag::format and the dump ----------------------------------------------------------

TEST(Config, DiagFormat)
{
    Diag d;
    d.file = "/etc/config/omr-tracker";
    d.line = 12;
    d.section = "interface 'wan1'";
    d.option = "tries";
    d.value = "x";
    d.message = "invalid value 'x' (expected an integer 1..100)";
    EXPECT_EQ(d.format(), "/etc/config/omr-tracker:12: interface 'wan1': option 'tries': "
                          "invalid value 'x' (expected an integer 1..100)");
    d.warning = true;
    d.line = 0;
    d.option.clear();
    EXPECT_EQ(d.format(), "/etc/config/omr-tracker: warning: interface 'wan1': invalid value "
                          "'x' (expected an integer 1..100)");
    EXPECT_STREQ(family_name(Family::ipv4ipv6), "ipv4ipv6");
    EXPECT_STREQ(probe_type_name(ProbeType::glorytun_udp), "glorytun-udp");
    EXPECT_STREQ(server_check_name(ServerCheck::apiping), "apiping");
}

TEST(Config, DumpIsValidUciWithoutSecrets)
{
    Loaded l = load(kData + "/omr");
    ASSERT_TRUE(l.ok);
    std::string dump = dump_config(l.c);
    EXPECT_EQ(dump.find("S3cr3t"), std::string::npos);
    EXPECT_NE(dump.find("\toption password '********'\n"), std::string::npos);
    EXPECT_EQ(dump, dump_config(l.c)); // stable

    // It is UCI: our reader takes it without a single error.
    UciPackage pkg;
    std::vector<Diag> errors;
    ASSERT_TRUE(parse_uci(dump, "dump", pkg, errors)) << cfgtest::all_diags(errors) << dump;

    for (const char *part : {
                 "package omr-tracker\n",
                 "\nconfig daemon 'daemon'\n\toption socket_path '/var/run/omr-trackerd.sock'\n",
                 "\nconfig interface 'wan1'\n\toption enabled '1'\n\tlist hosts '4.2.2.1'\n",
                 "\toption type 'ping'\n\toption family 'ipv4'\n\toption timeout '2'\n",
                 "\toption tries '3'\n\toption tries_up '5'\n",
                 "\toption failure_interval '20'\n",
                 "\toption reliability '1' # accepted, not used\n",
                 "\toption restart_down '0' # for hooks and alerts\n",
                 "\nconfig interface 'omrvpn'\n\toption enabled '1'\n\tlist hosts '4.2.2.1'\n"
                 "\tlist hosts '8.8.8.8'\n",
                 "\n# interface 'lan' is not tracked: LAN interface (name starts with 'lan')\n",
                 "\nconfig server 'server'\n\toption enabled '1'\n\toption type 'apiping'\n"
                 "\toption tries '3'\n\toption timeout '10'\n\toption interval '5'\n"
                 "\toption interval_tries '1'\n",
                 "\npackage openmptcprouter\n\nconfig settings 'settings'\n"
                 "\toption disable_ipv6 '1'\n\toption vpn 'glorytun_tcp'\n",
                 "\nconfig server 'vps'\n\tlist ip '192.0.2.10'\n\toption port '65500'\n"
                 "\toption username 'openmptcprouter'\n\toption password '********'\n"
                 "\toption master '1'\n\toption backup '0'\n",
                 "\npackage network\n\nconfig globals 'globals'\n\toption multipath 'enable'\n",
                 "\nconfig interface 'wan2'\n\toption device 'eth2'\n\toption proto 'dhcp'\n"
                 "\toption multipath 'on'\n\toption metric '4'\n\toption auto '1'\n"
                 "\toption disabled '0'\n",
         })
        EXPECT_NE(dump.find(part), std::string::npos) << "missing:\n" << part << "\nin:\n" << dump;
}

TEST(Config, DumpMasksEveryPasswordAndQuotes)
{
    Dir d;
    d.write("openmptcprouter", "config server 'a'\n\tlist ip '192.0.2.1'\n"
                               "\toption password \"it's-a-s3cret\"\n"
                               "config server 'b'\n\tlist ip '192.0.2.2'\n"
                               "config server 'c'\n\tlist ip '192.0.2.3'\n"
                               "\toption password 'hunter2'\n\toption disabled '1'\n");
    d.write("omr-tracker", "config defaults 'defaults'\n\tlist hosts '192.0.2.1'\n"
                           "config interface 'wan1'\n"
                           "\toption script_alert_up \"logger 'up'\"\n");
    Loaded l = load(d.path());
    ASSERT_TRUE(l.ok) << cfgtest::all_diags(l.errors);
    std::string dump = dump_config(l.c);
    EXPECT_EQ(dump.find("s3cret"), std::string::npos);
    EXPECT_EQ(dump.find("hunter2"), std::string::npos);
    EXPECT_NE(dump.find("\t# no password\n"), std::string::npos);
    EXPECT_NE(dump.find("# server 'c' is not used: disabled"), std::string::npos);
    UciPackage pkg;
    std::vector<Diag> errors;
    ASSERT_TRUE(parse_uci(dump, "dump", pkg, errors)) << cfgtest::all_diags(errors);
    // The shell text survives quoting.
    const UciSection *w = nullptr;
    for (const UciSection &s : pkg.sections)
        if (s.name == "wan1" && s.find("script_alert_up"))
            w = &s;
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->find("script_alert_up")->values[0], "logger 'up'");
}

} // namespace
