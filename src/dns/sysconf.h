// The system's resolver configuration, parsed without side effects (no I/O in the
// parse_* functions, so they can be tested and fuzzed):
//  - /etc/resolv.conf: `nameserver` lines (resolv.conf(5));
//  - OpenWrt netifd's per-interface list, /tmp/resolv.conf.d/resolv.conf.auto, where each
//    interface's servers follow a "# Interface NAME" line;
//  - /etc/hosts (hosts(5)), so a name found there is answered as the system resolver
//    would answer it, without DNS.
// The load_* helpers read the files with a size limit and call the parsers.
#pragma once

#include "dns/addr.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dns {

// udns consults at most DNS_MAXSERV (6) servers per context; further ones are reported.
constexpr size_t kMaxServers = 6;
// Size limits for the files we read (each is a few hundred bytes on a router).
constexpr size_t kMaxResolvConfBytes = 64 * 1024;
constexpr size_t kMaxHostsBytes = 512 * 1024;
// Longer lines are skipped with a warning (glibc's resolv.conf reader uses 1 KiB too).
constexpr size_t kMaxLineBytes = 1024;

// A name server: address, port (53 unless a test says otherwise) and, for an IPv6
// link-local address, the interface it is reached through ("fe80::1%eth0").
struct ServerAddr {
    IpAddr addr;
    uint16_t port = 53;
    std::string scope; // interface name or number; only for IPv6

    // "192.0.2.53", "192.0.2.53:5353", "2001:db8::53", "[2001:db8::53]:5353",
    // "fe80::1%eth0".
    std::string str() const;
    bool operator==(const ServerAddr &o) const
    {
        return addr == o.addr && port == o.port && scope == o.scope;
    }
    bool operator!=(const ServerAddr &o) const { return !(*this == o); }
};

// Parses one of the forms str() prints. False (and |err|) for anything else.
bool parse_server(std::string_view spec, ServerAddr &out, std::string *err);
// "192.0.2.53, 192.0.2.54".
std::string join(const std::vector<ServerAddr> &servers);

struct ResolvConf {
    std::vector<ServerAddr> servers;   // at most kMaxServers, duplicates removed, file order
    std::vector<std::string> dropped;  // valid servers beyond kMaxServers, as written
    std::vector<std::string> warnings; // "line 3: invalid nameserver address 'x'"
};

// resolv.conf(5): `nameserver ADDR` lines are kept; `search`, `domain`, `options`,
// `sortlist` and comments (# or ;) are tolerated and ignored; anything else is a warning.
ResolvConf parse_resolv_conf(std::string_view text);

// netifd's resolv.conf.auto: servers per interface, in file order. Lines before the
// first "# Interface NAME" belong to the interface "" (hand-written files).
struct IfaceResolv {
    std::string iface;
    ResolvConf conf;
};
std::vector<IfaceResolv> parse_resolv_auto(std::string_view text);

// Reads and parses |path| (at most kMaxResolvConfBytes). False with |err| when the file
// cannot be read; a file without servers is not an error here.
bool load_resolv_conf(const std::string &path, ResolvConf &out, std::string *err);
// The block of |iface| in a resolv.conf.auto file; false with |err| when the file cannot
// be read or has no block for |iface|.
bool load_resolv_auto(const std::string &path, const std::string &iface, ResolvConf &out,
                      std::string *err);

// /etc/hosts: "ADDR NAME [ALIAS...]" with # comments. Names are matched without regard
// to case or a trailing dot. lookup() returns every address of the name in file order,
// IPv4 ones first, like getaddrinfo(AF_UNSPEC) with "multi on".
class HostsTable {
public:
    // Replaces the table; returns the number of entries kept. Bad lines are skipped
    // (and counted in warnings()).
    size_t parse(std::string_view text);
    bool load(const std::string &path, std::string *err);
    // Appends the addresses of |name| (want_v4/want_v6 select families); returns how
    // many were appended.
    size_t lookup(std::string_view name, bool want_v4, bool want_v6, AddrList &out) const;
    size_t size() const { return entries_.size(); }
    unsigned warnings() const { return warnings_; }

private:
    struct Entry {
        std::string name; // lower case, no trailing dot
        IpAddr addr;
    };
    std::vector<Entry> entries_;
    unsigned warnings_ = 0;
};

// Host names as the module accepts them (RFC 1035 §2.3.4 lengths, RFC 952/1123
// letters, digits and hyphens, plus '_' found in real zones): 1..253 characters, labels
// of 1..63, one optional trailing dot. On success |out| is the lower-case name without
// the trailing dot.
bool normalize_name(std::string_view name, std::string &out, std::string *err);

} // namespace dns
