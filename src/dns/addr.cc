#include "dns/addr.h"

#include "core/vec.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

namespace dns {

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
    // A name has a handful of addresses.
    core::sort_small(l, [](const IpAddr &a, const IpAddr &b) { return a < b; });
    size_t n = 0; // l[0, n): sorted, without duplicates
    for (size_t i = 0; i < l.size(); i++)
        if (n == 0 || !(l[n - 1] == l[i]))
            l[n++] = l[i];
    l.erase(l.begin() + std::ptrdiff_t(n), l.end());
    return l;
}

} // namespace dns
