// IP addresses as the DNS module hands them out, and the check that keeps a hijacked or
// captive-portal answer (0.0.0.0, 127.0.0.1, ...) from ever being used as a VPS address.
#pragma once

#include "omrt/ipaddr.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dns {

// The project's one address type (include/omrt/ipaddr.h): copyable, comparable, ordered
// (IPv4 before IPv6, then by bytes), so sets of them can be compared.
using IpAddr = omrt::IpAddr;

using AddrList = std::vector<IpAddr>;

// Strict parse of a literal address: dotted quad or RFC 4291 text, no brackets, no
// "%scope", no port, no surrounding spaces.
bool parse_ip(std::string_view s, IpAddr &out);

// Why an address taken from a DNS answer must not be used, or nullptr when it may
// (omrt::IpAddr::unusable_reason).
inline const char *unusable_reason(const IpAddr &a)
{
    return a.unusable_reason();
}

// "198.51.100.10, 2001:db8::10"; "none" when empty.
std::string join(const AddrList &l);
// The same addresses in canonical order without duplicates: the "address set".
AddrList as_set(AddrList l);

} // namespace dns
