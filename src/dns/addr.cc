#include "dns/addr.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

namespace dns {

IpAddr IpAddr::v4(const void *four_bytes)
{
    IpAddr a;
    a.family = AF_INET;
    std::memcpy(a.bytes, four_bytes, 4);
    return a;
}

IpAddr IpAddr::v6(const void *sixteen_bytes)
{
    IpAddr a;
    a.family = AF_INET6;
    std::memcpy(a.bytes, sixteen_bytes, 16);
    return a;
}

bool IpAddr::is_v4() const
{
    return family == AF_INET;
}

bool IpAddr::is_v6() const
{
    return family == AF_INET6;
}

std::string IpAddr::str() const
{
    char buf[INET6_ADDRSTRLEN];
    if (empty() || !inet_ntop(family, bytes, buf, sizeof buf))
        return std::string();
    return buf;
}

unsigned IpAddr::to_sockaddr(uint16_t port, sockaddr_storage &out, uint32_t scope_id) const
{
    std::memset(&out, 0, sizeof out);
    if (is_v4()) {
        auto *sin = reinterpret_cast<sockaddr_in *>(&out);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        std::memcpy(&sin->sin_addr, bytes, 4);
        return sizeof(sockaddr_in);
    }
    if (is_v6()) {
        auto *sin6 = reinterpret_cast<sockaddr_in6 *>(&out);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        sin6->sin6_scope_id = scope_id;
        std::memcpy(&sin6->sin6_addr, bytes, 16);
        return sizeof(sockaddr_in6);
    }
    return 0;
}

bool IpAddr::operator==(const IpAddr &o) const
{
    return family == o.family && std::memcmp(bytes, o.bytes, sizeof bytes) == 0;
}

bool IpAddr::operator<(const IpAddr &o) const
{
    // AF_INET (2) < AF_INET6 (10): IPv4 first.
    if (family != o.family)
        return family < o.family;
    return std::memcmp(bytes, o.bytes, sizeof bytes) < 0;
}

bool parse_ip(std::string_view s, IpAddr &out)
{
    char buf[INET6_ADDRSTRLEN];
    // inet_pton() stops at a NUL: "192.0.2.1\0junk" must not pass as 192.0.2.1.
    if (s.empty() || s.size() >= sizeof buf || s.find('\0') != std::string_view::npos)
        return false;
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    IpAddr a;
    if (inet_pton(AF_INET, buf, a.bytes) == 1) {
        a.family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, a.bytes) == 1) {
        a.family = AF_INET6;
    } else {
        return false;
    }
    out = a;
    return true;
}

namespace {

const char *unusable_v4(const uint8_t *b)
{
    if (b[0] == 0)
        return b[1] == 0 && b[2] == 0 && b[3] == 0 ? "unspecified address"
                                                   : "\"this network\" address (0/8)";
    if (b[0] == 127)
        return "loopback address";
    if (b[0] == 169 && b[1] == 254)
        return "link-local address";
    if (b[0] >= 224 && b[0] <= 239)
        return "multicast address";
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
        return "broadcast address";
    return nullptr;
}

} // namespace

const char *unusable_reason(const IpAddr &a)
{
    if (a.is_v4())
        return unusable_v4(a.bytes);
    if (!a.is_v6())
        return "no address";
    const uint8_t *b = a.bytes;
    static const uint8_t kZero[16] = {};
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b, kZero, 16) == 0)
        return "unspecified address";
    if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1)
        return "loopback address";
    if (b[0] == 0xff)
        return "multicast address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return "link-local address";
    if (std::memcmp(b, kMapped, 12) == 0)
        return unusable_v4(b + 12);
    return nullptr;
}

std::string join(const AddrList &l)
{
    if (l.empty())
        return "none";
    std::string out;
    for (const IpAddr &a : l) {
        if (!out.empty())
            out += ", ";
        out += a.str();
    }
    return out;
}

AddrList as_set(AddrList l)
{
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
    return l;
}

} // namespace dns
