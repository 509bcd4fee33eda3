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

IpAddr IpAddr::v4(uint32_t host_order)
{
    IpAddr a;
    a.family = AF_INET;
    uint32_t n = htonl(host_order);
    std::memcpy(a.bytes, &n, 4);
    return a;
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

bool IpAddr::is_unusable_target() const
{
    if (family == AF_INET) {
        uint8_t a = bytes[0], b = bytes[1];
        if (a == 0 || a == 127 || a >= 224) // 0/8, loopback, multicast, reserved+broadcast
            return true;
        return a == 169 && b == 254; // link-local
    }
    if (family == AF_INET6) {
        static const uint8_t zero[16] = {};
        if (std::memcmp(bytes, zero, 15) == 0 && (bytes[15] == 0 || bytes[15] == 1))
            return true;      // :: and ::1
        if (bytes[0] == 0xff) // multicast
            return true;
        if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) // fe80::/10
            return true;
        // IPv4-mapped: judge the embedded address.
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(bytes, mapped, 12) == 0) {
            IpAddr v4a;
            v4a.family = AF_INET;
            std::memcpy(v4a.bytes, bytes + 12, 4);
            return v4a.is_unusable_target();
        }
        return false;
    }
    return true;
}

} // namespace omrt
