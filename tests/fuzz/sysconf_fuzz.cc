// Fuzz target: the resolver configuration files the DNS module reads — /etc/resolv.conf
// (dns::parse_resolv_conf), netifd's resolv.conf.auto (dns::parse_resolv_auto) and
// /etc/hosts (dns::HostsTable) — plus the server and host name syntax (parse_server,
// normalize_name). On OpenWrt these files are written by netifd, odhcp6c and udhcpc from
// what DHCP and RA servers of the ISP sent.
//
// Properties: at most kMaxServers servers per block, without duplicates; every server's
// str() parses back to the same server; a normalized name is lower case, <= 253 bytes,
// without a trailing dot, and normalizes to itself; a hosts lookup only returns addresses
// of the families asked for.
#include "dns/sysconf.h"
#include "fuzz_util.h"

#include <string>

namespace {

void check_conf(const dns::ResolvConf &c)
{
    FUZZ_CHECK(c.servers.size() <= dns::kMaxServers);
    for (size_t i = 0; i < c.servers.size(); i++) {
        for (size_t j = i + 1; j < c.servers.size(); j++)
            FUZZ_CHECK(c.servers[i] != c.servers[j]);
        dns::ServerAddr back;
        std::string err;
        FUZZ_CHECK(dns::parse_server(c.servers[i].str(), back, &err));
        FUZZ_CHECK(back == c.servers[i]);
    }
    (void)dns::join(c.servers);
}

void check_name(std::string_view name)
{
    std::string norm, err;
    if (!dns::normalize_name(name, norm, &err)) {
        FUZZ_CHECK(!err.empty());
        return;
    }
    FUZZ_CHECK(!norm.empty() && norm.size() <= 253 && norm.back() != '.');
    for (char c : norm)
        FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    std::string again;
    FUZZ_CHECK(dns::normalize_name(norm, again, &err) && again == norm);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view text(reinterpret_cast<const char *>(data), size);

    check_conf(dns::parse_resolv_conf(text));
    for (const dns::IfaceResolv &b : dns::parse_resolv_auto(text))
        check_conf(b.conf);

    dns::HostsTable hosts;
    size_t kept = hosts.parse(text);
    FUZZ_CHECK(kept == hosts.size());
    // Look up the first word of every line, and the input's first line as a whole.
    size_t pos = 0;
    unsigned lookups = 0;
    while (pos < text.size() && lookups < 64) {
        size_t nl = text.find('\n', pos);
        std::string_view line =
                text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        size_t sp = line.find_last_of(" \t");
        std::string_view name = sp == std::string_view::npos ? line : line.substr(sp + 1);
        for (int fam = 1; fam <= 3; fam++) {
            dns::AddrList out;
            size_t n = hosts.lookup(name, fam & 1, fam & 2, out);
            FUZZ_CHECK(n == out.size());
            for (const dns::IpAddr &a : out)
                FUZZ_CHECK(a.is_v6() ? (fam & 2) : (fam & 1));
        }
        check_name(name);
        lookups++;
    }

    dns::ServerAddr sa;
    std::string err;
    std::string_view first = text.substr(0, text.find('\n'));
    if (dns::parse_server(first, sa, &err)) {
        dns::ServerAddr back;
        FUZZ_CHECK(dns::parse_server(sa.str(), back, &err) && back == sa);
    }
    check_name(first);
    return 0;
}
