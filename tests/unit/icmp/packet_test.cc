#include "forge.h"
#include "icmp/packet.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>

using forge::Bytes;
using icmp::Defect;
using icmp::Family;
using icmp::Framing;
using icmp::Kind;

namespace {

constexpr uint16_t kId = 0x4d2e;
constexpr uint16_t kSeq = 0x0102;

const uint32_t kUs = forge::v4("10.79.1.2");
const uint32_t kTarget = forge::v4("198.51.100.10");
const uint32_t kRouter = forge::v4("10.79.1.1");

// Parses from an exactly-sized heap copy so that ASan builds catch any over-read.
icmp::Packet parse(Family f, Framing fr, bool verify, const Bytes &b, size_t len)
{
    std::unique_ptr<uint8_t[]> copy(new uint8_t[len ? len : 1]);
    if (len)
        std::memcpy(copy.get(), b.data(), len);
    return icmp::parse_packet(f, fr, verify, copy.get(), len);
}

icmp::Packet parse(Family f, Framing fr, bool verify, const Bytes &b)
{
    return parse(f, fr, verify, b, b.size());
}

icmp::Packet raw4(const Bytes &b)
{
    return parse(Family::V4, Framing::Ipv4Header, true, b);
}

icmp::Packet only4(const Bytes &b)
{
    return parse(Family::V4, Framing::IcmpOnly, false, b);
}

icmp::Packet only6(const Bytes &b)
{
    return parse(Family::V6, Framing::IcmpOnly, false, b);
}

// Our echo request as it left (IP header + ICMP), the datagram an error quotes.
Bytes our_v4_request(uint16_t id = kId, uint16_t seq = kSeq, uint32_t dst = kTarget)
{
    return forge::ipv4(forge::echo(Family::V4, id, seq, 56, false), kUs, dst);
}

Bytes our_v6_request(uint16_t id = kId, uint16_t seq = kSeq)
{
    return forge::ipv6(forge::echo(Family::V6, id, seq, 56, false), "2001:db8:79:1::2",
                       "2001:db8:100::10");
}

// The classic RFC 792 quote: IP header + first 8 bytes.
Bytes head(const Bytes &b, size_t n)
{
    return Bytes(b.begin(), b.begin() + std::min(n, b.size()));
}

} // namespace

TEST(Checksum, Rfc1071Example)
{
    // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to 0xddf2; the checksum is its complement.
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(icmp::internet_checksum(data, sizeof(data)), 0x220d);
    // Odd length: the last byte is padded with a zero byte.
    const uint8_t odd[] = {0x00, 0x01, 0xf2};
    EXPECT_EQ(icmp::internet_checksum(odd, sizeof(odd)), uint16_t(~(0x0001 + 0xf200)));
    EXPECT_EQ(icmp::internet_checksum(nullptr, 0), 0xffff);
}

TEST(Build, V4RequestHasChecksumIdSeqAndPattern)
{
    uint8_t buf[64 + 8];
    ASSERT_EQ(icmp::build_echo_request(Family::V4, kId, kSeq, 56, buf, sizeof(buf)), 64u);
    EXPECT_EQ(buf[0], 8);
    EXPECT_EQ(buf[1], 0);
    EXPECT_EQ(buf[4] << 8 | buf[5], kId);
    EXPECT_EQ(buf[6] << 8 | buf[7], kSeq);
    EXPECT_EQ(icmp::internet_checksum(buf, 64), 0); // valid checksum sums to zero
    EXPECT_EQ(buf[8], 0x10);
    EXPECT_EQ(buf[63], uint8_t(0x10 + 55));

    icmp::set_echo_sequence(Family::V4, 0xfffe, buf, 64);
    EXPECT_EQ(buf[6] << 8 | buf[7], 0xfffe);
    EXPECT_EQ(icmp::internet_checksum(buf, 64), 0);
    EXPECT_EQ(buf[8], 0x10); // payload untouched
}

TEST(Build, V6RequestLeavesChecksumToKernel)
{
    uint8_t buf[8];
    ASSERT_EQ(icmp::build_echo_request(Family::V6, kId, kSeq, 0, buf, sizeof(buf)), 8u);
    EXPECT_EQ(buf[0], 128);
    EXPECT_EQ(buf[2], 0);
    EXPECT_EQ(buf[3], 0);
    icmp::set_echo_sequence(Family::V6, 7, buf, 8);
    EXPECT_EQ(buf[7], 7);
    EXPECT_EQ(buf[2] | buf[3], 0);
}

TEST(Build, RefusesSmallBufferAndHugePayload)
{
    uint8_t buf[16];
    EXPECT_EQ(icmp::build_echo_request(Family::V4, 1, 1, 9, buf, sizeof(buf)), 0u);
    EXPECT_EQ(icmp::build_echo_request(Family::V4, 1, 1, 8, buf, sizeof(buf)), 16u);
    std::vector<uint8_t> big(icmp::kMaxPayload + 9);
    EXPECT_EQ(icmp::build_echo_request(Family::V4, 1, 1, icmp::kMaxPayload + 1, big.data(),
                                       big.size()),
              0u);
    EXPECT_EQ(icmp::build_echo_request(Family::V4, 1, 1, icmp::kMaxPayload, big.data(), big.size()),
              icmp::kMaxPayload + 8);
    EXPECT_EQ(icmp::internet_checksum(big.data(), icmp::kMaxPayload + 8), 0);
}

TEST(Parse, V4RawReply)
{
    Bytes pkt = forge::ipv4(forge::echo(Family::V4, kId, kSeq, 56, true), kTarget, kUs, 1, 57, 184);
    auto p = raw4(pkt);
    ASSERT_EQ(p.kind, Kind::EchoReply) << icmp::defect_name(p.defect);
    EXPECT_EQ(p.defect, Defect::None);
    EXPECT_EQ(p.type, 0);
    EXPECT_EQ(p.id, kId);
    EXPECT_EQ(p.seq, kSeq);
    EXPECT_EQ(p.ttl, 57);
    EXPECT_EQ(p.tos, 184);
    EXPECT_EQ(p.icmp_len, 64u);
}

TEST(Parse, V4RawReplyWithIpOptions)
{
    Bytes pkt =
            forge::ipv4(forge::echo(Family::V4, kId, kSeq, 8, true), kTarget, kUs, 1, 64, 0, 12);
    auto p = raw4(pkt);
    ASSERT_EQ(p.kind, Kind::EchoReply);
    EXPECT_EQ(p.icmp_len, 16u);
    EXPECT_EQ(p.seq, kSeq);
}

TEST(Parse, V4DgramAndV6Replies)
{
    auto p = only4(forge::echo(Family::V4, kId, kSeq, 56, true));
    ASSERT_EQ(p.kind, Kind::EchoReply);
    EXPECT_EQ(p.id, kId);
    EXPECT_EQ(p.seq, kSeq);
    EXPECT_EQ(p.ttl, -1); // no IP header: the socket's cmsg tells it

    auto q = only6(forge::echo(Family::V6, kId, kSeq, 0, true));
    ASSERT_EQ(q.kind, Kind::EchoReply);
    EXPECT_EQ(q.type, 129);
    EXPECT_EQ(q.id, kId);
    EXPECT_EQ(q.seq, kSeq);
    EXPECT_EQ(q.icmp_len, 8u);
}

TEST(Parse, WrongIdAndSeqAreReportedAsTheyAre)
{
    // Matching is the prober's job; the parser must hand over exactly what came.
    auto p = raw4(forge::ipv4(forge::echo(Family::V4, kId + 1, kSeq + 9, 4, true), kTarget, kUs));
    ASSERT_EQ(p.kind, Kind::EchoReply);
    EXPECT_EQ(p.id, kId + 1);
    EXPECT_EQ(p.seq, kSeq + 9);
}

TEST(Parse, V4RawHeaderValidation)
{
    const Bytes good = forge::ipv4(forge::echo(Family::V4, kId, kSeq, 56, true), kTarget, kUs);

    Bytes b = good;
    b[0] = 0x65; // version 6
    EXPECT_EQ(raw4(b).defect, Defect::IpVersion);

    b = good;
    b[0] = 0x44; // IHL 4 (16 bytes) < 5
    EXPECT_EQ(raw4(b).defect, Defect::IpHeaderLength);
    b[0] = 0x40; // IHL 0
    EXPECT_EQ(raw4(b).defect, Defect::IpHeaderLength);

    Bytes small = forge::ipv4(forge::echo(Family::V4, kId, kSeq, 0, true), kTarget, kUs);
    small[0] = 0x4f; // IHL 15 = 60 bytes > 28 received
    EXPECT_EQ(raw4(small).defect, Defect::IpHeaderLength);

    b = good;
    forge::put16(b, 2, uint16_t(good.size() + 1)); // total length lies: longer than received
    EXPECT_EQ(raw4(b).defect, Defect::IpTotalLength);
    forge::put16(b, 2, 19); // shorter than the header
    EXPECT_EQ(raw4(b).defect, Defect::IpTotalLength);
    forge::put16(b, 2, 27); // header + 7: too short for an ICMP header
    EXPECT_EQ(raw4(b).defect, Defect::Truncated);

    b = good;
    b[9] = 17; // UDP
    EXPECT_EQ(raw4(b).defect, Defect::IpProtocol);

    // Trailing bytes beyond the total length (link padding) are ignored.
    b = good;
    b.push_back(0xee);
    b.push_back(0xee);
    auto p = raw4(b);
    ASSERT_EQ(p.kind, Kind::EchoReply);
    EXPECT_EQ(p.icmp_len, 64u);
}

TEST(Parse, V4BadChecksumOnlyWhenVerifying)
{
    Bytes icmp = forge::echo(Family::V4, kId, kSeq, 56, true);
    icmp[20] ^= 0x01; // payload corrupted after the checksum was computed
    auto p = raw4(forge::ipv4(icmp, kTarget, kUs));
    EXPECT_EQ(p.kind, Kind::Malformed);
    EXPECT_EQ(p.defect, Defect::Checksum);
    // Datagram sockets: the kernel verified it already; we do not verify again.
    EXPECT_EQ(only4(icmp).kind, Kind::EchoReply);
}

TEST(Parse, WrongTypesAndCodes)
{
    // Our own request seen on a raw socket (unfiltered), timestamp request, redirect.
    auto req = raw4(forge::ipv4(forge::echo(Family::V4, kId, kSeq, 8, false), kUs, kTarget));
    EXPECT_EQ(req.kind, Kind::Other);
    EXPECT_EQ(req.type, 8);

    Bytes ts(20, 0);
    ts[0] = 13;
    forge::fix_v4_checksum(ts);
    EXPECT_EQ(raw4(forge::ipv4(ts, kTarget, kUs)).kind, Kind::Other);

    Bytes redirect =
            forge::error(Family::V4, icmp::kV4Redirect, 1, kRouter, head(our_v4_request(), 28));
    EXPECT_EQ(raw4(forge::ipv4(redirect, kRouter, kUs)).kind, Kind::Other);
    // Source quench quotes our request too, but must be ignored (RFC 6633).
    Bytes quench =
            forge::error(Family::V4, icmp::kV4SourceQuench, 0, 0, head(our_v4_request(), 28));
    EXPECT_EQ(raw4(forge::ipv4(quench, kRouter, kUs)).kind, Kind::Other);

    Bytes coded = forge::echo(Family::V4, kId, kSeq, 8, true);
    coded[1] = 1;
    forge::fix_v4_checksum(coded);
    EXPECT_EQ(raw4(forge::ipv4(coded, kTarget, kUs)).defect, Defect::EchoCode);

    EXPECT_EQ(only6(forge::echo(Family::V6, kId, kSeq, 8, false)).kind, Kind::Other); // request
    Bytes v6coded = forge::echo(Family::V6, kId, kSeq, 8, true);
    v6coded[1] = 3;
    EXPECT_EQ(only6(v6coded).defect, Defect::EchoCode);
    Bytes nd(24, 0);
    nd[0] = 135; // neighbour solicitation
    EXPECT_EQ(only6(nd).kind, Kind::Other);
    // An IPv4 echo reply type (0) is nothing on an ICMPv6 socket.
    Bytes zero = forge::echo(Family::V6, kId, kSeq, 8, true);
    zero[0] = 0;
    EXPECT_EQ(only6(zero).kind, Kind::Other);
}

TEST(Parse, V4ErrorsQuotingOurRequest)
{
    // Time exceeded from a router, classic 28-byte quote.
    Bytes te = forge::error(Family::V4, icmp::kV4TimeExceeded, 0, 0, head(our_v4_request(), 28));
    auto p = raw4(forge::ipv4(te, kRouter, kUs, 1, 255, 192));
    ASSERT_EQ(p.kind, Kind::Error) << icmp::defect_name(p.defect);
    EXPECT_EQ(p.type, 11);
    EXPECT_EQ(p.code, 0);
    EXPECT_EQ(p.id, kId);
    EXPECT_EQ(p.seq, kSeq);
    uint32_t dst;
    std::memcpy(&dst, p.quoted_dst, 4);
    EXPECT_EQ(ntohl(dst), kTarget);
    EXPECT_EQ(p.ttl, 255);

    // Fragmentation needed with the next-hop MTU (RFC 1191), full quote (RFC 1812).
    Bytes fn = forge::error(Family::V4, icmp::kV4DestUnreach, 4, 1400, our_v4_request());
    p = raw4(forge::ipv4(fn, kRouter, kUs));
    ASSERT_EQ(p.kind, Kind::Error);
    EXPECT_EQ(p.info, 1400u);
    EXPECT_EQ(p.code, 4);

    // Quoted IP header with options.
    Bytes withopt =
            forge::ipv4(forge::echo(Family::V4, kId, kSeq, 8, false), kUs, kTarget, 1, 64, 0, 8);
    p = raw4(forge::ipv4(forge::error(Family::V4, 3, 1, 0, head(withopt, 36)), kRouter, kUs));
    ASSERT_EQ(p.kind, Kind::Error);
    EXPECT_EQ(p.seq, kSeq);

    // Dgram framing works the same (no outer header).
    EXPECT_EQ(only4(te).kind, Kind::Error);
}

TEST(Parse, V4ErrorsQuotingOthers)
{
    // A UDP datagram of someone else.
    Bytes udp(8, 0);
    Bytes q = forge::ipv4(udp, kUs, kTarget, 17);
    EXPECT_EQ(raw4(forge::ipv4(forge::error(Family::V4, 3, 3, 0, q), kRouter, kUs)).kind,
              Kind::Other);
    // Someone's echo reply (not a request).
    q = forge::ipv4(forge::echo(Family::V4, kId, kSeq, 8, true), kUs, kTarget);
    EXPECT_EQ(raw4(forge::ipv4(forge::error(Family::V4, 3, 1, 0, head(q, 28)), kRouter, kUs)).kind,
              Kind::Other);
    // A non-first fragment: the 8 bytes after the header are not an ICMP header.
    q = our_v4_request();
    forge::put16(q, 6, 0x00b9); // offset 185*8
    EXPECT_EQ(raw4(forge::ipv4(forge::error(Family::V4, 11, 1, 0, head(q, 28)), kRouter, kUs)).kind,
              Kind::Other);
    // Another process's echo (other id): still Kind::Error, the prober tells by the id.
    auto p = raw4(
            forge::ipv4(forge::error(Family::V4, 3, 1, 0, head(our_v4_request(kId ^ 0xffff), 28)),
                        kRouter, kUs));
    ASSERT_EQ(p.kind, Kind::Error);
    EXPECT_EQ(p.id, kId ^ 0xffff);
}

TEST(Parse, V4ErrorsWithBadQuotes)
{
    const Bytes req = our_v4_request();
    auto err_of = [&](const Bytes &quote) {
        return raw4(forge::ipv4(forge::error(Family::V4, 3, 1, 0, quote), kRouter, kUs));
    };
    // Truncated quotes: no IP header at all, header but < 8 ICMP bytes.
    EXPECT_EQ(err_of(Bytes()).defect, Defect::QuoteTruncated);
    EXPECT_EQ(err_of(head(req, 19)).defect, Defect::QuoteTruncated);
    EXPECT_EQ(err_of(head(req, 24)).defect, Defect::QuoteTruncated);
    EXPECT_EQ(err_of(head(req, 27)).defect, Defect::QuoteTruncated);
    EXPECT_EQ(err_of(head(req, 28)).kind, Kind::Error);

    Bytes q = head(req, 28);
    q[0] = 0x65; // version 6
    EXPECT_EQ(err_of(q).defect, Defect::QuoteIpHeader);
    q = head(req, 28);
    q[0] = 0x43; // IHL 3
    EXPECT_EQ(err_of(q).defect, Defect::QuoteIpHeader);
    q = head(req, 28);
    q[0] = 0x4f; // IHL 15: needs 68 bytes of quote
    EXPECT_EQ(err_of(q).defect, Defect::QuoteTruncated);
    q = head(req, 28);
    forge::put16(q, 2, 27); // quoted total length lies: shorter than what is quoted
    EXPECT_EQ(err_of(q).defect, Defect::QuoteIpHeader);
}

TEST(Parse, V6Errors)
{
    Bytes req = our_v6_request();
    auto p = only6(forge::error(Family::V6, icmp::kV6TimeExceeded, 0, 0, req));
    ASSERT_EQ(p.kind, Kind::Error) << icmp::defect_name(p.defect);
    EXPECT_EQ(p.type, 3);
    EXPECT_EQ(p.id, kId);
    EXPECT_EQ(p.seq, kSeq);
    uint8_t want[16];
    forge::v6("2001:db8:100::10", want);
    EXPECT_EQ(std::memcmp(p.quoted_dst, want, 16), 0);

    p = only6(forge::error(Family::V6, icmp::kV6PacketTooBig, 0, 1280, req));
    ASSERT_EQ(p.kind, Kind::Error);
    EXPECT_EQ(p.info, 1280u);
    EXPECT_EQ(p.type, 2);

    // Quote truncated inside the IPv6 header, then inside the ICMPv6 header.
    EXPECT_EQ(only6(forge::error(Family::V6, 1, 3, 0, head(req, 39))).defect,
              Defect::QuoteTruncated);
    EXPECT_EQ(only6(forge::error(Family::V6, 1, 3, 0, head(req, 47))).defect,
              Defect::QuoteTruncated);
    EXPECT_EQ(only6(forge::error(Family::V6, 1, 3, 0, head(req, 48))).kind, Kind::Error);

    Bytes q = req;
    q[0] = 0x45; // version 4
    EXPECT_EQ(only6(forge::error(Family::V6, 1, 3, 0, q)).defect, Defect::QuoteIpHeader);
    q = req;
    forge::put16(q, 4, 4); // payload length shorter than an ICMPv6 header
    EXPECT_EQ(only6(forge::error(Family::V6, 1, 3, 0, q)).defect, Defect::QuoteIpHeader);
    // Quote of a UDP datagram, and of an echo reply.
    q = forge::ipv6(Bytes(8, 0), "2001:db8:79:1::2", "2001:db8:100::10", 17);
    EXPECT_EQ(only6(forge::error(Family::V6, 1, 4, 0, q)).kind, Kind::Other);
    q = forge::ipv6(forge::echo(Family::V6, kId, kSeq, 0, true), "::1", "::1");
    EXPECT_EQ(only6(forge::error(Family::V6, 1, 3, 0, q)).kind, Kind::Other);
}

TEST(Parse, QuotedEchoFromErrorQueue)
{
    Bytes req = forge::echo(Family::V4, kId, kSeq, 56, false);
    auto p = icmp::parse_quoted_echo(Family::V4, req.data(), req.size());
    ASSERT_EQ(p.kind, Kind::Error);
    EXPECT_EQ(p.id, kId);
    EXPECT_EQ(p.seq, kSeq);
    EXPECT_EQ(icmp::parse_quoted_echo(Family::V4, req.data(), 7).defect, Defect::QuoteTruncated);
    EXPECT_EQ(icmp::parse_quoted_echo(Family::V6, req.data(), req.size()).defect,
              Defect::QuoteNotRequest);
    Bytes req6 = forge::echo(Family::V6, kId, kSeq, 0, false);
    EXPECT_EQ(icmp::parse_quoted_echo(Family::V6, req6.data(), req6.size()).kind, Kind::Error);
    Bytes rep6 = forge::echo(Family::V6, kId, kSeq, 0, true);
    EXPECT_EQ(icmp::parse_quoted_echo(Family::V6, rep6.data(), rep6.size()).defect,
              Defect::QuoteNotRequest);
}

// Every prefix of every valid packet: either Malformed, or (for framings whose length
// comes from the data itself) a shorter but still well-formed message. Never a crash.
TEST(Parse, TruncatedAtEveryByte)
{
    const Bytes v4reply = forge::ipv4(forge::echo(Family::V4, kId, kSeq, 56, true), kTarget, kUs);
    for (size_t n = 0; n < v4reply.size(); n++) {
        auto p = parse(Family::V4, Framing::Ipv4Header, true, v4reply, n);
        EXPECT_EQ(p.kind, Kind::Malformed) << n; // total length says more than received
        EXPECT_EQ(p.defect, n < 20 ? Defect::Truncated : Defect::IpTotalLength) << n;
    }
    // A consistent IP header around a cut ICMP message: the checksum catches the cut.
    const Bytes icmp4 = forge::echo(Family::V4, kId, kSeq, 56, true);
    for (size_t n = 0; n < icmp4.size(); n++) {
        auto p = raw4(forge::ipv4(head(icmp4, n), kTarget, kUs));
        EXPECT_EQ(p.kind, Kind::Malformed) << n;
        EXPECT_EQ(p.defect, n < 8 ? Defect::Truncated : Defect::Checksum) << n;
    }
    // Bare messages: below 8 bytes truncated; above, a reply with a shorter payload.
    const Bytes icmp6 = forge::echo(Family::V6, kId, kSeq, 56, true);
    for (size_t n = 0; n <= icmp6.size(); n++) {
        auto p = parse(Family::V6, Framing::IcmpOnly, false, icmp6, n);
        EXPECT_EQ(p.kind, n < 8 ? Kind::Malformed : Kind::EchoReply) << n;
        if (n >= 8) {
            EXPECT_EQ(p.icmp_len, n);
        }
    }
    // Errors cut at every byte, with consistent outer headers and checksums.
    const Bytes quote4 = head(our_v4_request(), 28);
    for (size_t n = 0; n <= quote4.size(); n++) {
        auto p = raw4(
                forge::ipv4(forge::error(Family::V4, 11, 0, 0, head(quote4, n)), kRouter, kUs));
        if (n < 28) {
            EXPECT_EQ(p.kind, Kind::Malformed) << n;
            EXPECT_EQ(p.defect, Defect::QuoteTruncated) << n;
        } else {
            EXPECT_EQ(p.kind, Kind::Error) << n;
        }
    }
    const Bytes quote6 = our_v6_request();
    for (size_t n = 0; n <= quote6.size(); n++) {
        auto p = only6(forge::error(Family::V6, 3, 0, 0, head(quote6, n)));
        EXPECT_EQ(p.kind, n < 48 ? Kind::Malformed : Kind::Error) << n;
    }
}

namespace {

void check_invariants(const icmp::Packet &p, size_t len)
{
    if (p.kind == Kind::Malformed) {
        EXPECT_NE(p.defect, Defect::None);
    } else {
        EXPECT_EQ(p.defect, Defect::None);
        EXPECT_GE(p.icmp_len, icmp::kIcmpHeaderLen);
        EXPECT_LE(p.icmp_len, len);
    }
}

} // namespace

// Random bytes, and random mutations of valid packets, through every parser entry point.
// Deterministic seed; an ASan build (OMRT_SANITIZE=ON) turns any over-read into a failure.
TEST(Parse, FuzzDeterministic)
{
    std::mt19937 rng(20240604);
    const Bytes seeds[] = {
            forge::ipv4(forge::echo(Family::V4, kId, kSeq, 24, true), kTarget, kUs),
            forge::ipv4(forge::error(Family::V4, 11, 0, 0, head(our_v4_request(), 28)), kRouter,
                        kUs),
            forge::echo(Family::V6, kId, kSeq, 24, true),
            forge::error(Family::V6, 1, 3, 0, head(our_v6_request(), 64)),
    };
    unsigned kinds[4] = {};
    for (int iter = 0; iter < 40000; iter++) {
        Bytes b;
        if (iter % 2 == 0) {
            b.resize(rng() % 160);
            for (auto &x : b)
                x = uint8_t(rng());
            if (!b.empty() && iter % 4 == 0)
                b[0] = uint8_t(0x40 | (rng() % 16)); // look like IPv4 to get further
        } else {
            b = seeds[rng() % 4];
            const unsigned flips = 1 + rng() % 4;
            for (unsigned i = 0; i < flips; i++)
                b[rng() % b.size()] = uint8_t(rng());
            if (rng() % 3 == 0)
                b.resize(rng() % (b.size() + 1));
        }
        const struct {
            Family f;
            Framing fr;
            bool verify;
        } modes[] = {{Family::V4, Framing::Ipv4Header, true},
                     {Family::V4, Framing::Ipv4Header, false},
                     {Family::V4, Framing::IcmpOnly, false},
                     {Family::V6, Framing::IcmpOnly, false}};
        for (const auto &m : modes) {
            auto p = parse(m.f, m.fr, m.verify, b);
            check_invariants(p, b.size());
            kinds[unsigned(p.kind)]++;
        }
        std::unique_ptr<uint8_t[]> copy(new uint8_t[b.size() + 1]);
        if (!b.empty())
            std::memcpy(copy.get(), b.data(), b.size());
        auto q4 = icmp::parse_quoted_echo(Family::V4, copy.get(), b.size());
        auto q6 = icmp::parse_quoted_echo(Family::V6, copy.get(), b.size());
        EXPECT_TRUE(q4.kind == Kind::Error || q4.kind == Kind::Malformed);
        EXPECT_TRUE(q6.kind == Kind::Error || q6.kind == Kind::Malformed);
    }
    // The mutations reach every classification, so the loop exercised every branch kind.
    for (unsigned k = 0; k < 4; k++)
        EXPECT_GT(kinds[k], 0u) << "kind " << k;
}

TEST(Names, CoverTypesAndDefects)
{
    EXPECT_STREQ(icmp::icmp_type_name(Family::V4, 11, 0), "ttl exceeded");
    EXPECT_STREQ(icmp::icmp_type_name(Family::V4, 3, 1), "host unreachable");
    EXPECT_STREQ(icmp::icmp_type_name(Family::V6, 2, 0), "packet too big");
    EXPECT_STREQ(icmp::icmp_type_name(Family::V6, 3, 0), "hop limit exceeded");
    EXPECT_STREQ(icmp::icmp_type_name(Family::V6, 1, 3), "address unreachable");
    EXPECT_STREQ(icmp::defect_name(Defect::Checksum), "bad checksum");
    EXPECT_STREQ(icmp::defect_name(Defect::QuoteTruncated), "truncated quote");
}
