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
    bool is_v4() const { return family == AF_INET; }
    bool is_v6() const { return family == AF_INET6; }
    size_t size() const { return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0; }

    // Literal only ("198.51.100.1", "2001:db8::1", "fe80::1%3" with a numeric scope);
    // false for names and anything else.
    static bool parse(std::string_view text, IpAddr &out);
    static IpAddr from_sockaddr(const struct sockaddr *sa);
    static IpAddr v4(uint32_t host_order);
    std::string str() const;
    // Fills |ss| with this address and |port|; returns the sockaddr length (0 if invalid).
    socklen_t to_sockaddr(struct sockaddr_storage &ss, uint16_t port = 0) const;

    // Addresses a DNS answer must never point a tracker at (a hijacking resolver or a
    // captive portal): unspecified, loopback, multicast, link-local, broadcast, 0/8.
    bool is_unusable_target() const;

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
