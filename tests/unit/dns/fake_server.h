// A deliberately misbehaving DNS server for tests: UDP on a loopback address and a
// random port, driven by the test's own event loop. Each Mode is one way real servers,
// middleboxes and captive portals break.
#pragma once

#include "core/fd.h"
#include "core/loop.h"
#include "dns/sysconf.h"
#include "dns/wire.h"
#include "test_util.h"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace dnstest {

enum class Mode {
    ok,            // the configured addresses, TTL |ttl|
    garbage,       // right id, then bytes that are no DNS message
    short_garbage, // 5 bytes
    wrong_id,      // a correct answer with another query id
    truncated,     // TC set, no answer (a server that wants TCP)
    servfail,
    refused,
    formerr,
    nxdomain,
    nodata,   // NOERROR, empty answer
    huge_ttl, // TTL 2^31-1
    msb_ttl,  // TTL with the top bit set: RFC 2181 says treat as 0
    zero_ttl,
    other_name,     // the question echoed, but the records are for evil.test
    other_question, // the question section names evil.test
    bad_loopback,   // 127.0.0.1 / ::1
    bad_zero,       // 0.0.0.0 / ::
    cname_only,     // CNAME to a name whose records are not included
    cname_chain,    // CNAME plus the target's records
    silent,         // never answers
    slow,           // answers after delay_s
};

class FakeDnsServer {
public:
    explicit FakeDnsServer(core::Loop &loop, const char *ip = "127.0.0.1")
        : io_(loop, core::member_int<FakeDnsServer, &FakeDnsServer::on_read>, this),
          later_(loop, core::member<FakeDnsServer, &FakeDnsServer::on_later>, this)
    {
        dns::parse_ip(ip, addr_.addr);
        sockaddr_storage ss;
        socklen_t len = addr_.addr.to_sockaddr(ss, 0);
        fd_.reset(socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd_ || bind(fd_.get(), reinterpret_cast<sockaddr *>(&ss), len) < 0 ||
            getsockname(fd_.get(), reinterpret_cast<sockaddr *>(&ss), &len) < 0) {
            fd_.reset();
            return;
        }
        addr_.port =
                ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in *>(&ss)->sin_port
                                              : reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
        io_.set(fd_.get(), EV_READ);
        io_.start();
    }
    bool ok() const { return fd_.valid(); }
    const dns::ServerAddr &addr() const { return addr_; }
    // Stops answering and closes the socket (a server that went away).
    void close()
    {
        io_.stop();
        fd_.reset();
    }

    Mode mode = Mode::ok;
    std::vector<std::string> v4 = {"198.51.100.10"};
    std::vector<std::string> v6 = {"2001:db8:100::10"};
    uint32_t ttl = 30;
    double delay_s = 0.3;
    unsigned queries = 0, queries_a = 0, queries_aaaa = 0;

private:
    void on_read(int)
    {
        for (;;) {
            uint8_t buf[1500];
            sockaddr_storage from;
            socklen_t flen = sizeof from;
            ssize_t n = recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from),
                                 &flen);
            if (n < 0)
                return; // EAGAIN: drained
            dns::Header h;
            std::string qname;
            uint16_t qtype = 0, qclass = 0;
            if (!dns::parse_header(buf, size_t(n), h) ||
                !dns::parse_question(buf, size_t(n), qname, qtype, qclass))
                continue;
            queries++;
            (qtype == dns::kTypeA ? queries_a : queries_aaaa)++;
            Bytes reply;
            if (!make_reply(h.id, qname, qtype, reply))
                continue;
            if (mode == Mode::slow) {
                pending_.push_back(Pending{reply, from, flen});
                later_.start(delay_s);
                continue;
            }
            sendto(fd_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr *>(&from),
                   flen);
        }
    }

    void on_later()
    {
        for (const Pending &p : pending_)
            sendto(fd_.get(), p.data.data(), p.data.size(), 0,
                   reinterpret_cast<const sockaddr *>(&p.to), p.len);
        pending_.clear();
    }

    void add_records(Msg &m, const std::string &owner, uint16_t qtype, uint32_t t)
    {
        for (const std::string &a : qtype == dns::kTypeA ? v4 : v6) {
            Rr r;
            r.owner = owner;
            r.compress = owner == m.qname;
            r.type = qtype;
            r.ttl = t;
            r.rdata = qtype == dns::kTypeA ? rdata_a(a.c_str()) : rdata_aaaa(a.c_str());
            m.an.push_back(r);
        }
    }

    bool make_reply(uint16_t id, const std::string &qname, uint16_t qtype, Bytes &out)
    {
        Msg m;
        m.id = id;
        m.qname = qname;
        m.qtype = qtype;
        bool a = qtype == dns::kTypeA;
        switch (mode) {
        case Mode::silent:
            return false;
        case Mode::ok:
        case Mode::slow:
            add_records(m, qname, qtype, ttl);
            break;
        case Mode::huge_ttl:
            add_records(m, qname, qtype, 0x7fffffffu);
            break;
        case Mode::msb_ttl:
            add_records(m, qname, qtype, 0x80000000u);
            break;
        case Mode::zero_ttl:
            add_records(m, qname, qtype, 0);
            break;
        case Mode::garbage:
            out = {uint8_t(id >> 8),
                   uint8_t(id),
                   0x81,
                   0x80,
                   0,
                   1,
                   0,
                   1,
                   0,
                   0,
                   0,
                   0,
                   0xff,
                   0xfe,
                   0xfd,
                   0x41,
                   0x42};
            return true;
        case Mode::short_garbage:
            out = {uint8_t(id >> 8), uint8_t(id), 0x81, 0x80, 0};
            return true;
        case Mode::wrong_id:
            m.id = uint16_t(id ^ 0x5a5a);
            add_records(m, qname, qtype, ttl);
            break;
        case Mode::truncated:
            m.tc = true;
            break;
        case Mode::servfail:
            m.rcode = 2;
            break;
        case Mode::refused:
            m.rcode = 5;
            break;
        case Mode::formerr:
            m.rcode = 1;
            break;
        case Mode::nxdomain:
            m.rcode = 3;
            break;
        case Mode::nodata:
            break;
        case Mode::other_name:
            add_records(m, "evil.test", qtype, ttl);
            break;
        case Mode::other_question:
            m.qname = "evil.test";
            add_records(m, "evil.test", qtype, ttl);
            break;
        case Mode::bad_loopback: {
            Rr r;
            r.compress = true;
            r.type = qtype;
            r.rdata = a ? rdata_a("127.0.0.1") : rdata_aaaa("::1");
            m.an.push_back(r);
            break;
        }
        case Mode::bad_zero: {
            Rr r;
            r.compress = true;
            r.type = qtype;
            r.rdata = a ? rdata_a("0.0.0.0") : rdata_aaaa("::");
            m.an.push_back(r);
            break;
        }
        case Mode::cname_only: {
            Rr r;
            r.compress = true;
            r.type = dns::kTypeCname;
            r.rdata = encode_name("target.elsewhere");
            m.an.push_back(r);
            break;
        }
        case Mode::cname_chain: {
            Rr r;
            r.compress = true;
            r.type = dns::kTypeCname;
            r.ttl = ttl;
            r.rdata = encode_name("target.test");
            m.an.push_back(r);
            add_records(m, "target.test", qtype, ttl);
            break;
        }
        }
        out = build(m);
        return true;
    }

    struct Pending {
        Bytes data;
        sockaddr_storage to;
        socklen_t len;
    };
    dns::ServerAddr addr_;
    core::UniqueFd fd_;
    core::IoWatcher io_;
    core::Timer later_;
    std::vector<Pending> pending_;
};

} // namespace dnstest
