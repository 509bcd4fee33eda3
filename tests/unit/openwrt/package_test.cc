// The OpenWrt package files against the daemon's own definitions:
//  - the init script's uci_load_validate specs name every option of src/config/schema.cc,
//    per section type, with the same type and range, and nothing else;
//  - the shipped /etc/config/omr-tracker is the test fixture tests/data/config/omr minus
//    its header comment and the omrvpn section that OMR's uci-defaults add on the router.
#include "config/schema.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

#ifndef OMRT_SOURCE_DIR
#error "OMRT_SOURCE_DIR must be defined"
#endif

namespace {

std::string slurp(const std::string &path)
{
    std::string s;
    FILE *f = std::fopen(path.c_str(), "re");
    if (!f)
        return s;
    char buf[8192];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
        s.append(buf, n);
    std::fclose(f);
    return s;
}

// What the init script must say for |s|: validate_data's type for the schema's type.
std::string expected_spec(const cfg::OptionSpec &s)
{
    std::string t;
    switch (s.type) {
    case cfg::VType::uint:
        t = "and(uinteger,range(" + std::to_string(s.min) + "," + std::to_string(s.max) + "))";
        break;
    case cfg::VType::boolean:
        t = "bool";
        break;
    case cfg::VType::enumeration:
        t = "or(";
        for (const char *const *n = s.names; n && *n; n++)
            t += std::string(n == s.names ? "" : ",") + "\"" + *n + "\"";
        t += ")";
        break;
    case cfg::VType::string:
    case cfg::VType::path:
        t = "string";
        break;
    case cfg::VType::hosts4:
        t = "list(or(ip4addr,hostname))";
        break;
    case cfg::VType::hosts6:
        t = "list(or(ip6addr,hostname))";
        break;
    case cfg::VType::hosts_any:
        t = "list(host)";
        break;
    }
    return std::string(s.name) + ":" + t;
}

// The quoted specs of `validate_<kind>_section() { ... }` in the init script.
std::vector<std::string> init_specs(const std::string &init, const std::string &kind)
{
    std::vector<std::string> out;
    std::string head = "validate_" + kind + "_section() {";
    size_t b = init.find(head);
    if (b == std::string::npos)
        return out;
    size_t e = init.find("\n}", b);
    std::string body = init.substr(b, e - b);
    // uci_load_validate PKG TYPE "$1" "$2" 'spec' 'spec' ...
    std::string call = "uci_load_validate omr-tracker " + kind + " \"$1\" \"$2\"";
    if (body.find(call) == std::string::npos)
        return {"(no '" + call + "' line)"};
    for (size_t p = body.find('\''); p != std::string::npos; p = body.find('\'', p + 1)) {
        size_t q = body.find('\'', p + 1);
        if (q == std::string::npos)
            break;
        out.push_back(body.substr(p + 1, q - p - 1));
        p = q;
    }
    return out;
}

} // namespace

TEST(OpenwrtInit, ValidationSpecsAgreeWithTheSchema)
{
    std::string init = slurp(OMRT_SOURCE_DIR "/openwrt/files/omr-tracker.init");
    ASSERT_FALSE(init.empty());
    size_t n = 0;
    const cfg::OptionSpec *table = cfg::schema_table(n);
    const std::pair<const char *, uint8_t> kinds[] = {
            {"defaults", cfg::K_DEFAULTS}, {"interface", cfg::K_INTERFACE},
            {"server", cfg::K_SERVER},     {"proxy", cfg::K_PROXY},
            {"gre", cfg::K_GRE},           {"daemon", cfg::K_DAEMON}};
    for (const auto &k : kinds) {
        std::vector<std::string> have = init_specs(init, k.first);
        std::set<std::string> have_set(have.begin(), have.end());
        EXPECT_EQ(have_set.size(), have.size()) << k.first << ": an option is listed twice";
        std::set<std::string> want;
        for (size_t i = 0; i < n; i++)
            if (table[i].kinds & k.second)
                want.insert(expected_spec(table[i]));
        for (const std::string &w : want)
            EXPECT_TRUE(have_set.count(w)) << "openwrt/files/omr-tracker.init, validate_" << k.first
                                           << "_section: add (or correct) '" << w << "'";
        for (const std::string &h : have)
            EXPECT_TRUE(want.count(h)) << "openwrt/files/omr-tracker.init, validate_" << k.first
                                       << "_section: '" << h << "' is not in the schema";
        if (have_set != want) {
            // The whole list, ready to paste, in schema order.
            std::string block;
            for (size_t i = 0; i < n; i++)
                if (table[i].kinds & k.second)
                    block += " \\\n\t\t'" + expected_spec(table[i]) + "'";
            ADD_FAILURE() << "validate_" << k.first << "_section should list:" << block;
        }
    }
}

TEST(OpenwrtInit, ProcdContract)
{
    std::string init = slurp(OMRT_SOURCE_DIR "/openwrt/files/omr-tracker.init");
    ASSERT_FALSE(init.empty());
    for (const char *must : {"#!/bin/sh /etc/rc.common\n", "\nSTART=90\n", "\nUSE_PROCD=1\n",
                             "procd_set_param command \"$PROG\"\n", "procd_set_param respawn\n",
                             "procd_set_param reload_signal HUP\n",
                             "procd_add_reload_trigger omr-tracker network openmptcprouter\n",
                             "EXTRA_COMMANDS=\"start_interface\"", "\nstart_interface() {\n",
                             "\nPROG=/usr/sbin/omr-trackerd\n"})
        EXPECT_NE(init.find(must), std::string::npos) << "missing: " << must;
}

TEST(OpenwrtConfig, ShippedConfigIsTheFixtureWithoutItsAdditions)
{
    std::string shipped = slurp(OMRT_SOURCE_DIR "/openwrt/files/omr-tracker.config");
    std::string fixture = slurp(OMRT_SOURCE_DIR "/tests/data/config/omr/omr-tracker");
    ASSERT_FALSE(shipped.empty());
    ASSERT_FALSE(fixture.empty());
    // The fixture's header: leading comment lines and the blank line after them.
    size_t p = 0;
    while (p < fixture.size() && fixture[p] == '#')
        p = fixture.find('\n', p) + 1;
    if (p < fixture.size() && fixture[p] == '\n')
        p++;
    std::string body = fixture.substr(p);
    // The section uci-defaults 1990-omr-tracker adds: the last one, to the end.
    size_t vpn = body.find("\nconfig interface 'omrvpn'\n");
    ASSERT_NE(vpn, std::string::npos);
    EXPECT_EQ(body.find("\nconfig ", vpn + 1), std::string::npos) << "omrvpn is not last";
    body.resize(vpn); // ends with the blank line before it
    EXPECT_EQ(shipped, body) << "openwrt/files/omr-tracker.config and "
                                "tests/data/config/omr/omr-tracker differ";
}
