// An IPv4 or IPv6 address (with an IPv6 scope id), small and copyable, shared by the
// modules that exchange addresses: dns (answers), icmp (targets), api (peers), netlink
// (device addresses and gateways), sched (trackers).
#pragma once

#include <cstdint>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace omrt {

struct IpAddr {
    uint8_t family = 0; // AF_INET, AF_INET6, or 0 = none
    uint8_t bytes[16] = {};
    uint32_t scope_id = 0; // IPv6 link-local scope

    bool valid() const { return family == AF_INET || family == AF_INET6; }
    bool empty() const { return !valid(); }
    bool is_v4() const { return family == AF_INET; }
    bool is_v6() const { return family == AF_INET6; }
    size_t size() const { return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0; }

    // Literal only ("198.51.100.1", "2001:db8::1", "fe80::1%3" with a numeric scope);
    // false for names and anything else.
    static bool parse(std::string_view text, IpAddr &out);
    static IpAddr from_sockaddr(const struct sockaddr *sa);
    static IpAddr from_v4_host_order(uint32_t a);
    static IpAddr v4(const void *four_bytes);
    static IpAddr v6(const void *sixteen_bytes);
    // Sets family and address from |len| raw bytes (4 for AF_INET, 16 for AF_INET6);
    // false, and left empty, for anything else.
    bool assign(int fam, const void *data, size_t len);
    std::string str() const;
    // Fills |ss| with this address and |port|; returns the sockaddr length (0 if invalid).
    socklen_t to_sockaddr(struct sockaddr_storage &ss, uint16_t port = 0) const;

    // Why a DNS answer must never point a tracker at this address (a hijacking resolver
    // or a captive portal), e.g. "loopback address"; nullptr when it is usable.
    // Rejected: unspecified, "this network" 0/8, loopback, link-local, multicast, the
    // limited broadcast, and the IPv4-mapped IPv6 forms of these. Private ranges are fine.
    const char *unusable_reason() const;
    bool is_unusable_target() const { return unusable_reason() != nullptr; }

    bool operator==(const IpAddr &o) const
    {
        return family == o.family && scope_id == o.scope_id &&
               std::memcmp(bytes, o.bytes, size()) == 0;
    }
    bool operator!=(const IpAddr &o) const { return !(*this == o); }
    bool operator<(const IpAddr &o) const
    {
        if (family != o.family)
            return family < o.family;
        int c = std::memcmp(bytes, o.bytes, size());
        return c != 0 ? c < 0 : scope_id < o.scope_id;
    }
};

} // namespace omrt
