// Fuzz target: ICMP and ICMPv6 reply classification (icmp::parse_packet, both framings)
// and the error-queue quote (icmp::parse_quoted_echo): bytes any host on the path can send.
//
// The first input byte selects family (bit 0), framing (bit 1: raw IPv4 with the IP
// header), checksum verification (bit 2) and the error-queue parser (bit 3); the rest is
// the packet, at the end of libFuzzer's exact-size buffer, so any read past |len| is an
// ASan report. Properties: a Malformed result names a defect and nothing else does; the
// validated ICMP length fits the input; a well-formed reply built from the input's id,
// seq and size parses back to the same id and seq.
#include "fuzz_util.h"
#include "icmp/packet.h"

#include <cstring>
#include <vector>

namespace {

void check_packet(const icmp::Packet &p, size_t len)
{
    FUZZ_CHECK((p.kind == icmp::Kind::Malformed) == (p.defect != icmp::Defect::None));
    FUZZ_CHECK(p.icmp_len <= len);
    FUZZ_CHECK(icmp::defect_name(p.defect) != nullptr);
    if (p.kind != icmp::Kind::Malformed)
        FUZZ_CHECK(p.icmp_len >= icmp::kIcmpHeaderLen);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz::Input in(data, size);
    const uint8_t mode = in.u8();
    const icmp::Family family = (mode & 1) ? icmp::Family::V6 : icmp::Family::V4;
    const uint8_t *pkt = in.data();
    const size_t len = in.size();

    if (mode & 8) {
        icmp::Packet p = icmp::parse_quoted_echo(family, pkt, len);
        check_packet(p, len);
        FUZZ_CHECK(p.kind == icmp::Kind::Error || p.kind == icmp::Kind::Malformed);
    } else {
        const icmp::Framing framing =
                (mode & 2) ? icmp::Framing::Ipv4Header : icmp::Framing::IcmpOnly;
        icmp::Packet p = icmp::parse_packet(family, framing, (mode & 4) != 0, pkt, len);
        check_packet(p, len);
        if (p.kind != icmp::Kind::Malformed)
            FUZZ_CHECK(icmp::icmp_type_name(family, p.type, p.code) != nullptr);
        if (framing == icmp::Framing::IcmpOnly && p.kind != icmp::Kind::Malformed)
            FUZZ_CHECK(p.ttl == -1 && p.tos == -1);
    }

    // Our own request, turned into the peer's reply, must parse as that reply.
    if (len >= 4) {
        const uint16_t id = uint16_t(pkt[0] << 8 | pkt[1]);
        const uint16_t seq = uint16_t(pkt[2] << 8 | pkt[3]);
        const size_t payload = len % 1500;
        std::vector<uint8_t> buf(icmp::kIcmpHeaderLen + payload);
        size_t n = icmp::build_echo_request(family, id, seq, payload, buf.data(), buf.size());
        FUZZ_CHECK(n == buf.size());
        icmp::Packet q = icmp::parse_quoted_echo(family, buf.data(), n);
        FUZZ_CHECK(q.kind == icmp::Kind::Error && q.id == id && q.seq == seq);
        buf[0] = family == icmp::Family::V4 ? icmp::kV4EchoReply : icmp::kV6EchoReply;
        if (family == icmp::Family::V4) {
            buf[2] = buf[3] = 0;
            uint16_t c = icmp::internet_checksum(buf.data(), n);
            buf[2] = uint8_t(c >> 8);
            buf[3] = uint8_t(c);
        }
        icmp::Packet r = icmp::parse_packet(family, icmp::Framing::IcmpOnly, true, buf.data(), n);
        FUZZ_CHECK(r.kind == icmp::Kind::EchoReply && r.id == id && r.seq == seq);
        FUZZ_CHECK(r.icmp_len == n);
    }
    return 0;
}
