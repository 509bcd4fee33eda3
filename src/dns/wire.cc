#include "dns/wire.h"

#include "core/str.h"

#include <cstdio>

namespace dns {

namespace {

uint16_t get16(const uint8_t *p)
{
    return uint16_t((p[0] << 8) | p[1]);
}

uint32_t get32(const uint8_t *p)
{
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

void append_label_byte(std::string &out, uint8_t c)
{
    if (c >= 'A' && c <= 'Z') {
        out += char(c - 'A' + 'a');
    } else if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
        out += char(c);
    } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\%03u", unsigned(c));
        out += buf;
    }
}

} // namespace

bool parse_header(const uint8_t *pkt, size_t len, Header &out)
{
    if (!pkt || len < kHeaderBytes)
        return false;
    out.id = get16(pkt);
    out.qr = pkt[2] & 0x80;
    out.opcode = uint8_t((pkt[2] >> 3) & 0x0f);
    out.tc = pkt[2] & 0x02;
    out.rcode = pkt[3] & 0x0f;
    out.qdcount = get16(pkt + 4);
    out.ancount = get16(pkt + 6);
    out.nscount = get16(pkt + 8);
    out.arcount = get16(pkt + 10);
    return true;
}

bool read_name(const uint8_t *pkt, size_t len, size_t off, std::string &name, size_t &next)
{
    name.clear();
    size_t pos = off;
    size_t wire_len = 0; // octets of the uncompressed name, RFC 1035 §3.1 limit 255
    bool jumped = false;
    size_t limit = off; // a pointer must point before this (backwards only)
    for (;;) {
        if (pos >= len)
            return false;
        uint8_t c = pkt[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len)
                return false;
            size_t target = size_t(((c & 0x3f) << 8) | pkt[pos + 1]);
            if (target >= limit)
                return false; // forward or self pointer: a loop or garbage
            if (!jumped)
                next = pos + 2;
            jumped = true;
            limit = target;
            pos = target;
            continue;
        }
        if (c & 0xc0)
            return false; // 0x40/0x80: extended label types (RFC 6891 §5), not for names
        wire_len += size_t(c) + 1;
        if (wire_len > 255)
            return false;
        if (c == 0) {
            if (!jumped)
                next = pos + 1;
            return true;
        }
        if (pos + 1 + c > len)
            return false;
        if (!name.empty())
            name += '.';
        for (size_t i = 0; i < c; i++)
            append_label_byte(name, pkt[pos + 1 + i]);
        pos += 1 + c;
    }
}

bool parse_question(const uint8_t *pkt, size_t len, std::string &name, uint16_t &type,
                    uint16_t &cls, size_t *end)
{
    Header h;
    if (!parse_header(pkt, len, h) || h.qdcount < 1)
        return false;
    size_t next;
    if (!read_name(pkt, len, kHeaderBytes, name, next) || next + 4 > len)
        return false;
    type = get16(pkt + next);
    cls = get16(pkt + next + 2);
    if (end)
        *end = next + 4;
    return true;
}

const char *rcode_name(unsigned rcode)
{
    switch (rcode) {
    case 0:
        return "NOERROR";
    case 1:
        return "FORMERR";
    case 2:
        return "SERVFAIL";
    case 3:
        return "NXDOMAIN";
    case 4:
        return "NOTIMP";
    case 5:
        return "REFUSED";
    default:
        return "rcode";
    }
}

namespace {

struct Record {
    std::string owner;
    uint16_t type;
    uint32_t ttl;
    size_t rdata; // offset
    uint16_t rdlen;
};

void fail(ParsedReply &out, ReplyKind kind, const char *why)
{
    out.kind = kind;
    out.addrs.clear();
    out.ttl_s = 0;
    out.detail = why;
}

void fail(ParsedReply &out, ReplyKind kind, std::string &&why)
{
    fail(out, kind, "");
    out.detail = std::move(why);
}

} // namespace

void parse_reply(const uint8_t *pkt, size_t len, ParsedReply &out)
{
    out = ParsedReply();
    Header h;
    if (!parse_header(pkt, len, h))
        return fail(out, ReplyKind::Malformed, "shorter than a DNS header");
    if (h.qdcount != 1)
        return fail(out, ReplyKind::Malformed,
                    core::strprintf("%u questions instead of 1", unsigned(h.qdcount)));
    uint16_t qclass;
    size_t off;
    if (!parse_question(pkt, len, out.qname, out.qtype, qclass, &off))
        return fail(out, ReplyKind::Malformed, "bad question section");
    if (out.qtype != kTypeA && out.qtype != kTypeAaaa)
        return fail(out, ReplyKind::Malformed, "question is not for A or AAAA");

    // Collect the answer section (RFC 1035 §4.1.3), checking every record's bounds.
    std::vector<Record> rrs;
    unsigned n = h.ancount < kMaxAnswerRecords ? h.ancount : kMaxAnswerRecords;
    for (unsigned i = 0; i < n; i++) {
        Record r;
        size_t next;
        if (!read_name(pkt, len, off, r.owner, next) || next + 10 > len)
            return fail(out, ReplyKind::Malformed,
                        core::strprintf("answer record %u is cut short", i + 1));
        r.type = get16(pkt + next);
        uint16_t cls = get16(pkt + next + 2);
        r.ttl = get32(pkt + next + 4);
        // RFC 2181 §8: a TTL with the top bit set is to be treated as zero.
        if (r.ttl & 0x80000000u)
            r.ttl = 0;
        r.rdlen = get16(pkt + next + 8);
        r.rdata = next + 10;
        if (r.rdata + r.rdlen > len)
            return fail(out, ReplyKind::Malformed,
                        core::strprintf("answer record %u overruns the packet", i + 1));
        off = r.rdata + r.rdlen;
        if (cls != kClassIn)
            continue;
        if (r.type == out.qtype) {
            size_t want = out.qtype == kTypeA ? 4 : 16;
            if (r.rdlen != want)
                return fail(out, ReplyKind::Malformed,
                            core::strprintf("%s record of %u bytes",
                                            out.qtype == kTypeA ? "A" : "AAAA", unsigned(r.rdlen)));
        }
        if (r.type == out.qtype || r.type == kTypeCname)
            rrs.push_back(std::move(r));
    }

    // Follow the CNAME chain from the question name (RFC 1034 §3.6.2), within this reply.
    std::string target = out.qname;
    uint32_t ttl = UINT32_MAX;
    for (unsigned hop = 0;; hop++) {
        bool found = false;
        for (const Record &r : rrs)
            if (r.type == out.qtype && r.owner == target) {
                IpAddr a =
                        out.qtype == kTypeA ? IpAddr::v4(pkt + r.rdata) : IpAddr::v6(pkt + r.rdata);
                bool dup = false;
                for (const IpAddr &b : out.addrs)
                    dup = dup || b == a;
                if (!dup)
                    out.addrs.push_back(a);
                if (r.ttl < ttl)
                    ttl = r.ttl;
                found = true;
            }
        if (found) {
            out.kind = ReplyKind::Answer;
            out.ttl_s = ttl;
            if (hop > 0)
                out.canonical = target;
            return;
        }
        const Record *cname = nullptr;
        for (const Record &r : rrs)
            if (r.type == kTypeCname && r.owner == target) {
                cname = &r;
                break;
            }
        if (!cname)
            break;
        if (hop >= kMaxCnameChain)
            return fail(out, ReplyKind::Malformed,
                        core::strprintf("CNAME chain longer than %u", kMaxCnameChain));
        std::string next_name;
        size_t end;
        if (!read_name(pkt, cname->rdata + cname->rdlen, cname->rdata, next_name, end) ||
            end != cname->rdata + cname->rdlen)
            return fail(out, ReplyKind::Malformed, "bad CNAME record");
        if (cname->ttl < ttl)
            ttl = cname->ttl;
        target = std::move(next_name);
    }

    if (target != out.qname)
        return fail(out, ReplyKind::NoData,
                    core::strprintf("CNAME %s -> %s without %s records (udns does not follow "
                                    "CNAMEs with a second query)",
                                    out.qname.c_str(), target.c_str(),
                                    out.qtype == kTypeA ? "A" : "AAAA"));
    for (const Record &r : rrs)
        if (r.type == out.qtype)
            return fail(out, ReplyKind::OtherName,
                        core::strprintf("answer is for %s, not %s",
                                        core::truncate_for_log(r.owner, 80).c_str(),
                                        out.qname.c_str()));
    fail(out, ReplyKind::NoData, "no records of the asked type");
}

} // namespace dns
