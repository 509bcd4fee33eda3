// Packet builders for the ICMP tests: replies, errors and IP headers, valid or forged.
#pragma once

#include "icmp/packet.h"

#include <arpa/inet.h>
#include <cstdint>
#include <cstring>
#include <vector>

namespace forge {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes &b, size_t at, uint16_t v)
{
    b[at] = uint8_t(v >> 8);
    b[at + 1] = uint8_t(v);
}

inline void put32(Bytes &b, size_t at, uint32_t v)
{
    put16(b, at, uint16_t(v >> 16));
    put16(b, at + 2, uint16_t(v));
}

// Recomputes the IPv4 ICMP checksum of a bare ICMP message.
inline void fix_v4_checksum(Bytes &icmp)
{
    put16(icmp, 2, 0);
    put16(icmp, 2, icmp::internet_checksum(icmp.data(), icmp.size()));
}

inline Bytes echo(icmp::Family f, uint16_t id, uint16_t seq, size_t payload, bool reply)
{
    Bytes b(icmp::kIcmpHeaderLen + payload);
    icmp::build_echo_request(f, id, seq, payload, b.data(), b.size());
    if (reply) {
        b[0] = f == icmp::Family::V4 ? icmp::kV4EchoReply : icmp::kV6EchoReply;
        if (f == icmp::Family::V4)
            fix_v4_checksum(b);
    }
    return b;
}

inline uint32_t v4(const char *text)
{
    in_addr a;
    inet_pton(AF_INET, text, &a);
    return ntohl(a.s_addr);
}

inline void v6(const char *text, uint8_t out[16])
{
    inet_pton(AF_INET6, text, out);
}

// A 20-byte IPv4 header (plus |options| bytes of IP options, NOPs) in front of |payload|.
inline Bytes ipv4(const Bytes &payload, uint32_t src, uint32_t dst, uint8_t proto = 1,
                  uint8_t ttl = 64, uint8_t tos = 0, size_t options = 0)
{
    const size_t ihl = 20 + options;
    Bytes b(ihl + payload.size(), 0);
    b[0] = uint8_t(0x40 | (ihl / 4));
    b[1] = tos;
    put16(b, 2, uint16_t(b.size()));
    put16(b, 4, 0x1234); // id
    put16(b, 6, 0x4000); // DF, offset 0
    b[8] = ttl;
    b[9] = proto;
    put32(b, 12, src);
    put32(b, 16, dst);
    for (size_t i = 20; i < ihl; i++)
        b[i] = 1; // NOP
    put16(b, 10, icmp::internet_checksum(b.data(), ihl));
    if (!payload.empty())
        std::memcpy(b.data() + ihl, payload.data(), payload.size());
    return b;
}

inline Bytes ipv6(const Bytes &payload, const char *src, const char *dst, uint8_t nh = 58,
                  uint8_t hops = 64)
{
    Bytes b(40 + payload.size(), 0);
    b[0] = 0x60;
    put16(b, 4, uint16_t(payload.size()));
    b[6] = nh;
    b[7] = hops;
    v6(src, b.data() + 8);
    v6(dst, b.data() + 24);
    if (!payload.empty())
        std::memcpy(b.data() + 40, payload.data(), payload.size());
    return b;
}

// An ICMP error message: type, code, the 4-byte "rest of header", then |quoted|.
inline Bytes error(icmp::Family f, uint8_t type, uint8_t code, uint32_t info, const Bytes &quoted)
{
    Bytes b(8 + quoted.size(), 0);
    b[0] = type;
    b[1] = code;
    put32(b, 4, info);
    if (!quoted.empty())
        std::memcpy(b.data() + 8, quoted.data(), quoted.size());
    if (f == icmp::Family::V4)
        fix_v4_checksum(b);
    return b;
}

} // namespace forge
