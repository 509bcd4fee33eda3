// IP addresses as the DNS module hands them out, and the check that keeps a hijacked or
// captive-portal answer (0.0.0.0, 127.0.0.1, ...) from ever being used as a VPS address.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr_storage;

namespace dns {

// An IPv4 or IPv6 address (no port, no scope). A plain value: copyable, comparable,
// ordered (IPv4 before IPv6, then by bytes), so sets of them can be compared.
struct IpAddr {
    uint8_t family = 0; // AF_INET, AF_INET6, or 0 when empty
    uint8_t bytes[16] = {};

    static IpAddr v4(const void *four_bytes);
    static IpAddr v6(const void *sixteen_bytes);
    bool empty() const { return family == 0; }
    bool is_v4() const;
    bool is_v6() const;
    // "198.51.100.10", "2001:db8::10"; "" when empty.
    std::string str() const;
    // Fills a sockaddr_in/sockaddr_in6 with |port|; returns its length (0 when empty).
    unsigned to_sockaddr(uint16_t port, sockaddr_storage &out, uint32_t scope_id = 0) const;

    bool operator==(const IpAddr &o) const;
    bool operator!=(const IpAddr &o) const { return !(*this == o); }
    bool operator<(const IpAddr &o) const;
};

using AddrList = std::vector<IpAddr>;

// Strict parse of a literal address: dotted quad or RFC 4291 text, no brackets, no
// "%scope", no port, no surrounding spaces.
bool parse_ip(std::string_view s, IpAddr &out);

// Why an address taken from a DNS answer must not be used, or nullptr when it may.
// Rejected: unspecified (0.0.0.0, ::), "this network" 0.0.0.0/8, loopback (127/8, ::1),
// link-local (169.254/16, fe80::/10), multicast (224/4, ff00::/8), the limited broadcast
// 255.255.255.255, and IPv4-mapped IPv6 forms of those. Private ranges (10/8, ...) are
// accepted: a VPS may well sit on one.
const char *unusable_reason(const IpAddr &a);

// "198.51.100.10, 2001:db8::10"; "none" when empty.
std::string join(const AddrList &l);
// The same addresses in canonical order without duplicates: the "address set".
AddrList as_set(AddrList l);

} // namespace dns
