#include "icmp/packet.h"

#include <cstring>

namespace icmp {

namespace {

uint16_t get16(const uint8_t *p)
{
    return uint16_t(uint16_t(p[0]) << 8 | p[1]);
}

uint32_t get32(const uint8_t *p)
{
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void put16(uint8_t *p, uint16_t v)
{
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

Packet malformed(Defect d)
{
    Packet p;
    p.kind = Kind::Malformed;
    p.defect = d;
    return p;
}

// Source quench is not among them: RFC 6633 §3 says hosts must silently ignore it.
bool is_v4_error(uint8_t type)
{
    return type == kV4DestUnreach || type == kV4TimeExceeded || type == kV4ParamProblem;
}

bool is_v6_error(uint8_t type)
{
    // RFC 4443 §2.1: types 0..127 are errors; these four are the ones defined.
    return type == kV6DestUnreach || type == kV6PacketTooBig || type == kV6TimeExceeded ||
           type == kV6ParamProblem;
}

// The datagram quoted by an ICMPv4 error (RFC 792: IP header + at least 8 data bytes;
// RFC 1812 §4.3.2.3 allows up to 576 bytes in all). |p| has type/code/info set.
void parse_v4_quote(const uint8_t *q, size_t qlen, Packet &p)
{
    if (qlen < kIpv4MinHeader) {
        p = malformed(Defect::QuoteTruncated);
        return;
    }
    if ((q[0] >> 4) != 4) {
        p = malformed(Defect::QuoteIpHeader);
        return;
    }
    size_t ihl = size_t(q[0] & 0x0f) * 4;
    if (ihl < kIpv4MinHeader) {
        p = malformed(Defect::QuoteIpHeader);
        return;
    }
    if (qlen < ihl + kIcmpHeaderLen) {
        p = malformed(Defect::QuoteTruncated);
        return;
    }
    // The quote may be shorter than the quoted total length (that is normal), but the
    // total length cannot be shorter than the headers the quote shows.
    if (get16(q + 2) < ihl + kIcmpHeaderLen) {
        p = malformed(Defect::QuoteIpHeader);
        return;
    }
    const bool is_icmp = q[9] == 1;
    const bool first_fragment = (get16(q + 6) & 0x1fff) == 0;
    const uint8_t *inner = q + ihl;
    if (!is_icmp || !first_fragment || inner[0] != kV4Echo || inner[1] != 0) {
        p.kind = Kind::Other;
        p.defect = Defect::None;
        return;
    }
    p.kind = Kind::Error;
    p.defect = Defect::None;
    p.id = get16(inner + 4);
    p.seq = get16(inner + 6);
    std::memcpy(p.quoted_dst, q + 16, 4);
}

// RFC 4443 §3: the invoking packet "as possible without the ICMPv6 packet exceeding the
// minimum IPv6 MTU". Our requests carry no extension headers, so a quote whose next
// header is not ICMPv6 is not one of ours.
void parse_v6_quote(const uint8_t *q, size_t qlen, Packet &p)
{
    if (qlen < kIpv6Header) {
        p = malformed(Defect::QuoteTruncated);
        return;
    }
    if ((q[0] >> 4) != 6) {
        p = malformed(Defect::QuoteIpHeader);
        return;
    }
    if (q[6] != 58) {
        p.kind = Kind::Other;
        p.defect = Defect::None;
        return;
    }
    if (qlen < kIpv6Header + kIcmpHeaderLen) {
        p = malformed(Defect::QuoteTruncated);
        return;
    }
    if (get16(q + 4) < kIcmpHeaderLen) {
        p = malformed(Defect::QuoteIpHeader);
        return;
    }
    const uint8_t *inner = q + kIpv6Header;
    if (inner[0] != kV6Echo || inner[1] != 0) {
        p.kind = Kind::Other;
        p.defect = Defect::None;
        return;
    }
    p.kind = Kind::Error;
    p.defect = Defect::None;
    p.id = get16(inner + 4);
    p.seq = get16(inner + 6);
    std::memcpy(p.quoted_dst, q + 24, 16);
}

} // namespace

uint16_t internet_checksum(const uint8_t *data, size_t len)
{
    uint32_t sum = 0;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += get16(data + i);
    if (i < len)
        sum += uint32_t(data[i]) << 8; // odd byte, padded with zero (RFC 1071 §4.1)
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return uint16_t(~sum);
}

size_t build_echo_request(Family family, uint16_t id, uint16_t seq, size_t payload_len,
                          uint8_t *buf, size_t cap)
{
    if (payload_len > kMaxPayload || cap < kIcmpHeaderLen + payload_len)
        return 0;
    const size_t len = kIcmpHeaderLen + payload_len;
    buf[0] = family == Family::V4 ? kV4Echo : kV6Echo;
    buf[1] = 0;
    put16(buf + 2, 0);
    put16(buf + 4, id);
    put16(buf + 6, seq);
    // A recognisable pattern, like ping's: some paths drop all-zero payloads.
    for (size_t i = 0; i < payload_len; i++)
        buf[kIcmpHeaderLen + i] = uint8_t(0x10 + i);
    if (family == Family::V4)
        put16(buf + 2, internet_checksum(buf, len));
    return len;
}

void set_echo_sequence(Family family, uint16_t seq, uint8_t *buf, size_t len)
{
    if (len < kIcmpHeaderLen)
        return;
    put16(buf + 6, seq);
    if (family == Family::V4) {
        put16(buf + 2, 0);
        put16(buf + 2, internet_checksum(buf, len));
    }
}

Packet parse_packet(Family family, Framing framing, bool verify_checksum, const uint8_t *buf,
                    size_t len)
{
    int ttl = -1, tos = -1;
    const uint8_t *msg = buf;
    size_t msg_len = len;

    if (framing == Framing::Ipv4Header) {
        if (len < kIpv4MinHeader)
            return malformed(Defect::Truncated);
        if ((buf[0] >> 4) != 4)
            return malformed(Defect::IpVersion);
        const size_t ihl = size_t(buf[0] & 0x0f) * 4;
        if (ihl < kIpv4MinHeader || ihl > len)
            return malformed(Defect::IpHeaderLength);
        // The kernel trims to the total length and rewrites it after reassembly, so it
        // must fit what we got; trailing bytes beyond it are ignored.
        const size_t total = get16(buf + 2);
        if (total < ihl || total > len)
            return malformed(Defect::IpTotalLength);
        if (buf[9] != 1)
            return malformed(Defect::IpProtocol);
        tos = buf[1];
        ttl = buf[8];
        msg = buf + ihl;
        msg_len = total - ihl;
    }
    if (msg_len < kIcmpHeaderLen)
        return malformed(Defect::Truncated);
    if (family == Family::V4 && verify_checksum && internet_checksum(msg, msg_len) != 0)
        return malformed(Defect::Checksum);

    Packet p;
    p.type = msg[0];
    p.code = msg[1];
    p.icmp_len = msg_len;
    p.info = get32(msg + 4);
    const uint8_t echo_reply = family == Family::V4 ? kV4EchoReply : kV6EchoReply;
    if (p.type == echo_reply) {
        if (p.code != 0)
            return malformed(Defect::EchoCode);
        p.kind = Kind::EchoReply;
        p.defect = Defect::None;
        p.id = get16(msg + 4);
        p.seq = get16(msg + 6);
        p.info = 0;
    } else if (family == Family::V4 && is_v4_error(p.type)) {
        parse_v4_quote(msg + kIcmpHeaderLen, msg_len - kIcmpHeaderLen, p);
    } else if (family == Family::V6 && is_v6_error(p.type)) {
        parse_v6_quote(msg + kIcmpHeaderLen, msg_len - kIcmpHeaderLen, p);
    } else {
        p.kind = Kind::Other;
        p.defect = Defect::None;
    }
    if (p.kind != Kind::Malformed) {
        p.ttl = ttl;
        p.tos = tos;
    }
    return p;
}

Packet parse_quoted_echo(Family family, const uint8_t *buf, size_t len)
{
    if (len < kIcmpHeaderLen)
        return malformed(Defect::QuoteTruncated);
    const uint8_t echo = family == Family::V4 ? kV4Echo : kV6Echo;
    if (buf[0] != echo || buf[1] != 0)
        return malformed(Defect::QuoteNotRequest);
    Packet p;
    p.kind = Kind::Error;
    p.defect = Defect::None;
    p.id = get16(buf + 4);
    p.seq = get16(buf + 6);
    p.icmp_len = len;
    return p;
}

const char *icmp_type_name(Family family, uint8_t type, uint8_t code)
{
    if (family == Family::V4) {
        switch (type) {
        case kV4EchoReply:
            return "echo reply";
        case kV4DestUnreach:
            switch (code) {
            case 0:
                return "network unreachable";
            case 1:
                return "host unreachable";
            case 2:
                return "protocol unreachable";
            case 3:
                return "port unreachable";
            case 4:
                return "fragmentation needed";
            case 9:
            case 10:
            case 13:
                return "administratively prohibited";
            default:
                return "destination unreachable";
            }
        case kV4SourceQuench:
            return "source quench";
        case kV4Redirect:
            return "redirect";
        case kV4Echo:
            return "echo request";
        case kV4TimeExceeded:
            return code == 1 ? "fragment reassembly time exceeded" : "ttl exceeded";
        case kV4ParamProblem:
            return "parameter problem";
        default:
            return "unknown icmp type";
        }
    }
    switch (type) {
    case kV6DestUnreach:
        switch (code) {
        case 0:
            return "no route to destination";
        case 1:
            return "administratively prohibited";
        case 3:
            return "address unreachable";
        case 4:
            return "port unreachable";
        case 6:
            return "reject route";
        default:
            return "destination unreachable";
        }
    case kV6PacketTooBig:
        return "packet too big";
    case kV6TimeExceeded:
        return code == 1 ? "fragment reassembly time exceeded" : "hop limit exceeded";
    case kV6ParamProblem:
        return "parameter problem";
    case kV6Echo:
        return "echo request";
    case kV6EchoReply:
        return "echo reply";
    default:
        return "unknown icmpv6 type";
    }
}

const char *defect_name(Defect d)
{
    switch (d) {
    case Defect::None:
        return "none";
    case Defect::Truncated:
        return "truncated";
    case Defect::IpVersion:
        return "bad ip version";
    case Defect::IpHeaderLength:
        return "bad ip header length";
    case Defect::IpTotalLength:
        return "bad ip total length";
    case Defect::IpProtocol:
        return "not icmp";
    case Defect::Checksum:
        return "bad checksum";
    case Defect::EchoCode:
        return "echo reply with nonzero code";
    case Defect::QuoteTruncated:
        return "truncated quote";
    case Defect::QuoteIpHeader:
        return "bad quoted ip header";
    case Defect::QuoteNotRequest:
        return "quote is not an echo request";
    }
    return "?";
}

} // namespace icmp
