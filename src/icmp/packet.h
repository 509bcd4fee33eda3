// ICMP / ICMPv6 echo packets: building requests and classifying what a socket returns.
//
// Pure code: no sockets, no clock, no allocation. Every length and field of a received
// packet is checked before it is read (STYLE.md §10); nothing here can read past |len|.
//
// What recvmsg() hands us depends on the socket (see prober.h):
//   raw   AF_INET   the IPv4 header, then the ICMP message      -> Framing::Ipv4Header
//   dgram AF_INET   the ICMP message only (kernel checked it)    -> Framing::IcmpOnly
//   any   AF_INET6  the ICMPv6 message only                      -> Framing::IcmpOnly
//   dgram error queue (MSG_ERRQUEUE): the quoted ICMP header of our own echo request,
//   the ICMP type/code in a sock_extended_err                    -> parse_quoted_echo()
//
// Checksums: the IPv4 ICMP checksum is ours to fill (raw sockets send it as is; ping
// sockets recompute it anyway) and ours to verify on raw sockets (the kernel delivers raw
// copies before icmp_rcv checks anything). The ICMPv6 checksum covers a pseudo-header the
// kernel knows and we do not: for IPPROTO_ICMPV6 sockets, raw and dgram, the kernel fills
// it on send and verifies it on receive (RFC 3542 §3.1), so build_echo_request() leaves 0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace icmp {

// RFC 792 / RFC 4443 message types used here.
constexpr uint8_t kV4EchoReply = 0;
constexpr uint8_t kV4DestUnreach = 3;
constexpr uint8_t kV4SourceQuench = 4;
constexpr uint8_t kV4Redirect = 5;
constexpr uint8_t kV4Echo = 8;
constexpr uint8_t kV4TimeExceeded = 11;
constexpr uint8_t kV4ParamProblem = 12;
constexpr uint8_t kV6DestUnreach = 1;
constexpr uint8_t kV6PacketTooBig = 2;
constexpr uint8_t kV6TimeExceeded = 3;
constexpr uint8_t kV6ParamProblem = 4;
constexpr uint8_t kV6Echo = 128;
constexpr uint8_t kV6EchoReply = 129;

constexpr size_t kIcmpHeaderLen = 8;  // type, code, checksum, id, seq (RFC 792)
constexpr size_t kIpv4MinHeader = 20; // IHL 5
constexpr size_t kIpv4MaxHeader = 60; // IHL 15
constexpr size_t kIpv6Header = 40;    // RFC 8200 §3
// Largest echo payload: 65535 (IPv4 total length) - 20 - 8.
constexpr size_t kMaxPayload = 65507;

enum class Family : uint8_t { V4, V6 };

enum class Framing : uint8_t {
    Ipv4Header, // raw AF_INET socket: the IP header comes first
    IcmpOnly,   // datagram sockets and every AF_INET6 socket
};

enum class Kind : uint8_t {
    EchoReply, // id/seq of the reply
    Error,     // an ICMP error quoting an echo request: id/seq/quoted_dst of that request
    Other,     // well-formed but not about an echo of anyone's (other types, quotes of
               // TCP/UDP, quotes of non-first fragments)
    Malformed, // failed validation; |defect| says where
};

enum class Defect : uint8_t {
    None,
    Truncated,       // shorter than the headers it claims to carry
    IpVersion,       // IP version is not 4 (or 6 in a quote)
    IpHeaderLength,  // IHL < 5 or IHL*4 beyond the data
    IpTotalLength,   // total length shorter than the headers, or longer than received
    IpProtocol,      // raw IPv4 packet that is not ICMP
    Checksum,        // IPv4 ICMP checksum wrong
    EchoCode,        // echo reply with a code other than 0
    QuoteTruncated,  // error whose quote is shorter than IP header + 8 bytes
    QuoteIpHeader,   // quoted IP header invalid (version, IHL, total length)
    QuoteNotRequest, // error-queue payload that is not an echo request
};

struct Packet {
    Kind kind = Kind::Malformed;
    Defect defect = Defect::Truncated;
    uint8_t type = 0; // of the message itself (the error's type for Kind::Error)
    uint8_t code = 0;
    uint16_t id = 0; // host order; for Error: of the quoted echo request
    uint16_t seq = 0;
    // From the outer IPv4 header (Framing::Ipv4Header only); -1 when not known.
    int ttl = -1;
    int tos = -1;
    // Kind::Error only: destination of the quoted datagram (4 or 16 bytes used) and the
    // error's "rest of header" word (next-hop MTU of fragmentation-needed / too-big,
    // pointer of parameter problem), host order.
    uint8_t quoted_dst[16] = {};
    uint32_t info = 0;
    // Bytes of the ICMP message (header + data) as validated.
    size_t icmp_len = 0;
};

// The Internet checksum (RFC 1071) of |len| bytes (big-endian words), folded and
// complemented; store it big-endian. Over a message that carries a valid checksum it is 0.
uint16_t internet_checksum(const uint8_t *data, size_t len);

// Writes an echo request (header + |payload_len| pattern bytes) into |buf|. |id| and
// |seq| in host order. For V4 the checksum is filled; for V6 it is left 0 (see above).
// Returns the number of bytes written, 0 if |cap| is too small or |payload_len| too big.
size_t build_echo_request(Family family, uint16_t id, uint16_t seq, size_t payload_len,
                          uint8_t *buf, size_t cap);

// Rewrites seq and (V4) checksum of a request built by build_echo_request(), without
// touching the payload: the per-send cost of the prober.
void set_echo_sequence(Family family, uint16_t seq, uint8_t *buf, size_t len);

// Classifies one packet as received. |verify_checksum| applies to V4 only (raw sockets).
Packet parse_packet(Family family, Framing framing, bool verify_checksum, const uint8_t *buf,
                    size_t len);

// Parses the payload of a datagram socket's error queue: the ICMP header of our own echo
// request as quoted by the router (8 bytes at least). Returns Kind::Error with id/seq
// filled (type/code/quoted_dst are the caller's, from sock_extended_err and msg_name),
// or Malformed.
Packet parse_quoted_echo(Family family, const uint8_t *buf, size_t len);

// Short English names for logs and messages: "echo reply", "host unreachable",
// "ttl exceeded", "packet too big", ...
const char *icmp_type_name(Family family, uint8_t type, uint8_t code);
const char *defect_name(Defect d);

} // namespace icmp
