// Fuzz target: DNS replies (dns::parse_reply and its parts parse_header, parse_question,
// read_name): UDP datagrams from the resolver's address, which an off-path attacker can
// also forge. udns matches id and question first; the parser still treats every byte as
// hostile.
//
// Properties: an Answer has at least one address, all of the asked family (A: IPv4,
// AAAA: IPv6), no duplicates; names read are at most 255 wire octets (1009 bytes of text
// with every byte escaped as \DDD); read_name never claims to end beyond the packet.
#include "dns/wire.h"
#include "fuzz_util.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dns::ParsedReply r;
    dns::parse_reply(data, size, r);
    if (r.kind == dns::ReplyKind::Answer) {
        FUZZ_CHECK(!r.addrs.empty());
        FUZZ_CHECK(r.qtype == dns::kTypeA || r.qtype == dns::kTypeAaaa);
        for (size_t i = 0; i < r.addrs.size(); i++) {
            FUZZ_CHECK(r.qtype == dns::kTypeA ? r.addrs[i].is_v4() : r.addrs[i].is_v6());
            for (size_t j = i + 1; j < r.addrs.size(); j++)
                FUZZ_CHECK(!(r.addrs[i] == r.addrs[j]));
        }
        FUZZ_CHECK(r.addrs.size() <= dns::kMaxAnswerRecords);
    } else {
        FUZZ_CHECK(r.addrs.empty());
    }
    FUZZ_CHECK(r.qname.size() <= 1009 && r.canonical.size() <= 1009);

    dns::Header h;
    if (dns::parse_header(data, size, h))
        FUZZ_CHECK(size >= dns::kHeaderBytes && h.opcode < 16 && h.rcode < 16);
    (void)dns::rcode_name(h.rcode);

    std::string name;
    uint16_t type = 0, cls = 0;
    size_t end = 0;
    if (dns::parse_question(data, size, name, type, cls, &end))
        FUZZ_CHECK(end <= size && name.size() <= 1009);

    // Every offset of a short packet as the start of a name (compression pointers land
    // anywhere).
    for (size_t off = 0; off < size && off < 64; off++) {
        size_t next = 0;
        name.clear();
        if (dns::read_name(data, size, off, name, next))
            FUZZ_CHECK(next > off && next <= size && name.size() <= 1009);
    }
    return 0;
}
