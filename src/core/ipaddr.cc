#include "omrt/ipaddr.h"

#include "core/str.h"

#include <arpa/inet.h>

namespace omrt {

bool IpAddr::parse(std::string_view text, IpAddr &out)
{
    if (text.empty() || text.size() > INET6_ADDRSTRLEN + 11)
        return false;
    char buf[INET6_ADDRSTRLEN + 12];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddr a;
    if (inet_pton(AF_INET, buf, a.bytes) == 1) {
        a.family = AF_INET;
        out = a;
        return true;
    }
    char *pct = std::strchr(buf, '%');
    if (pct) {
        uint64_t scope;
        if (!core::parse_u64(pct + 1, scope) || scope > UINT32_MAX)
            return false;
        a.scope_id = uint32_t(scope);
        *pct = '\0';
    }
    if (inet_pton(AF_INET6, buf, a.bytes) == 1) {
        a.family = AF_INET6;
        out = a;
        return true;
    }
    return false;
}

IpAddr IpAddr::from_sockaddr(const struct sockaddr *sa)
{
    IpAddr a;
    if (!sa)
        return a;
    if (sa->sa_family == AF_INET) {
        const auto *s4 = reinterpret_cast<const struct sockaddr_in *>(sa);
        a.family = AF_INET;
        std::memcpy(a.bytes, &s4->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const auto *s6 = reinterpret_cast<const struct sockaddr_in6 *>(sa);
        a.family = AF_INET6;
        std::memcpy(a.bytes, &s6->sin6_addr, 16);
        a.scope_id = s6->sin6_scope_id;
    }
    return a;
}

IpAddr IpAddr::from_v4_host_order(uint32_t host_order)
{
    uint32_t n = htonl(host_order);
    return v4(&n);
}

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

bool IpAddr::assign(int fam, const void *data, size_t len)
{
    *this = IpAddr();
    if (!((fam == AF_INET && len == 4) || (fam == AF_INET6 && len == 16)))
        return false;
    family = static_cast<uint8_t>(fam);
    std::memcpy(bytes, data, len);
    return true;
}

std::string IpAddr::str() const
{
    char buf[INET6_ADDRSTRLEN + 12];
    if (!valid() || !inet_ntop(family, bytes, buf, sizeof(buf)))
        return std::string();
    std::string s(buf);
    if (family == AF_INET6 && scope_id)
        s += "%" + std::to_string(scope_id);
    return s;
}

socklen_t IpAddr::to_sockaddr(struct sockaddr_storage &ss, uint16_t port) const
{
    std::memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        auto *s4 = reinterpret_cast<struct sockaddr_in *>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        std::memcpy(&s4->sin_addr, bytes, 4);
        return sizeof(*s4);
    }
    if (family == AF_INET6) {
        auto *s6 = reinterpret_cast<struct sockaddr_in6 *>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        std::memcpy(&s6->sin6_addr, bytes, 16);
        s6->sin6_scope_id = scope_id;
        return sizeof(*s6);
    }
    return 0;
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

const char *IpAddr::unusable_reason() const
{
    if (family == AF_INET)
        return unusable_v4(bytes);
    if (family != AF_INET6)
        return "no address";
    static const uint8_t kZero[16] = {};
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes, kZero, 16) == 0)
        return "unspecified address";
    if (std::memcmp(bytes, kZero, 15) == 0 && bytes[15] == 1)
        return "loopback address";
    if (bytes[0] == 0xff)
        return "multicast address";
    if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80)
        return "link-local address";
    if (std::memcmp(bytes, kMapped, 12) == 0)
        return unusable_v4(bytes + 12);
    return nullptr;
}

} // namespace omrt
