// DNS reply parsing (RFC 1035 §4.1), done by us rather than by udns' dns_parse_a4/a6 so
// that a reply can be classified precisely (an answer for another name, a CNAME without
// its target, a malformed record) and so the parser can be unit-tested and fuzzed on its
// own. Pure functions over a byte buffer; every length and offset is checked.
#pragma once

#include "dns/addr.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace dns {

// RFC 1035 §3.2.2 / RFC 3596 §2.1.
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kClassIn = 1;
constexpr size_t kHeaderBytes = 12;
// Longest CNAME chain we follow inside one reply (BIND and glibc stop around 8-16).
constexpr unsigned kMaxCnameChain = 8;
// Records of one reply we look at; the rest are ignored (a 4 KiB EDNS reply holds at
// most ~250 A records).
constexpr unsigned kMaxAnswerRecords = 256;

struct Header {
    uint16_t id = 0;
    bool qr = false; // a response
    bool tc = false; // truncated
    uint8_t opcode = 0;
    uint8_t rcode = 0;
    uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
};

bool parse_header(const uint8_t *pkt, size_t len, Header &out);

// The first question: name (lower case, dotted, no trailing dot; non-printable bytes
// escaped as \DDD), type and class. |end| is the offset just past it.
bool parse_question(const uint8_t *pkt, size_t len, std::string &name, uint16_t &type,
                    uint16_t &cls, size_t *end = nullptr);

// Reads a possibly compressed domain name at |off| (RFC 1035 §4.1.4). Pointers must go
// backwards, so a loop is impossible; the name is limited to 255 octets on the wire.
// |next| is the offset after the name's own bytes.
bool read_name(const uint8_t *pkt, size_t len, size_t off, std::string &name, size_t &next);

// RFC 1035 §4.1.1 response codes we name.
const char *rcode_name(unsigned rcode);

enum class ReplyKind : uint8_t {
    Answer,    // addresses of the asked type for the name (possibly through CNAMEs)
    NoData,    // no such records (e.g. only a CNAME whose target is not in the reply)
    OtherName, // records of the asked type, but only for other names
    Malformed, // the reply cannot be parsed
};

struct ParsedReply {
    ReplyKind kind = ReplyKind::Malformed;
    std::string qname; // from the question section
    uint16_t qtype = 0;
    AddrList addrs;        // Answer: in reply order, duplicates removed
    uint32_t ttl_s = 0;    // Answer: smallest TTL along the chain (RFC 2181 §8 applied)
    std::string canonical; // the name the addresses belong to, when reached via CNAMEs
    std::string detail;    // why NoData/OtherName/Malformed, for logs
};

// Classifies a whole reply to an A or AAAA question. The header's rcode is not looked
// at (udns handles rcodes); the question must be present.
void parse_reply(const uint8_t *pkt, size_t len, ParsedReply &out);

} // namespace dns
