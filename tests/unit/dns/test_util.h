// Helpers shared by the DNS tests: a DNS message builder (replies as a server would
// send them, and deliberately broken ones) and a bounded loop runner.
#pragma once

#include "core/loop.h"

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dnstest {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes &b, unsigned v)
{
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}

inline void put32(Bytes &b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}

// Uncompressed wire form of a dotted name ("" = root).
inline Bytes encode_name(const std::string &name)
{
    Bytes out;
    size_t start = 0;
    while (start < name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos)
            dot = name.size();
        out.push_back(uint8_t(dot - start));
        out.insert(out.end(), name.begin() + long(start), name.begin() + long(dot));
        start = dot + 1;
    }
    out.push_back(0);
    return out;
}

inline Bytes rdata_a(const char *s)
{
    Bytes b(4);
    inet_pton(AF_INET, s, b.data());
    return b;
}

inline Bytes rdata_aaaa(const char *s)
{
    Bytes b(16);
    inet_pton(AF_INET6, s, b.data());
    return b;
}

struct Rr {
    std::string owner; // ignored when compress is set
    uint16_t type = 1;
    uint32_t ttl = 60;
    Bytes rdata;
    bool compress = false; // owner = pointer to the question name (offset 12)
    uint16_t cls = 1;
};

struct Msg {
    uint16_t id = 0x1234;
    bool qr = true, aa = true, tc = false, rd = true, ra = true;
    uint8_t rcode = 0;
    bool question = true;
    std::string qname = "vps.test";
    uint16_t qtype = 1;
    std::vector<Rr> an;
};

inline Bytes build(const Msg &m)
{
    Bytes b;
    put16(b, m.id);
    b.push_back(
            uint8_t((m.qr ? 0x80 : 0) | (m.aa ? 0x04 : 0) | (m.tc ? 0x02 : 0) | (m.rd ? 1 : 0)));
    b.push_back(uint8_t((m.ra ? 0x80 : 0) | (m.rcode & 0x0f)));
    put16(b, m.question ? 1 : 0);
    put16(b, unsigned(m.an.size()));
    put16(b, 0);
    put16(b, 0);
    if (m.question) {
        Bytes n = encode_name(m.qname);
        b.insert(b.end(), n.begin(), n.end());
        put16(b, m.qtype);
        put16(b, 1);
    }
    for (const Rr &r : m.an) {
        if (r.compress) {
            b.push_back(0xc0);
            b.push_back(12);
        } else {
            Bytes n = encode_name(r.owner);
            b.insert(b.end(), n.begin(), n.end());
        }
        put16(b, r.type);
        put16(b, r.cls);
        put32(b, r.ttl);
        put16(b, unsigned(r.rdata.size()));
        b.insert(b.end(), r.rdata.begin(), r.rdata.end());
    }
    return b;
}

inline double mono_s()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
}

// Runs |loop| until |done| returns true or |timeout_s| passes; true if done. The
// predicate is checked after every loop iteration that ran a watcher of ours and at
// least every 5 ms, so nothing here sleeps for a fixed time.
inline bool run_until(core::Loop &loop, const std::function<bool()> &done, double timeout_s)
{
    if (done())
        return true;
    double deadline = mono_s() + timeout_s;
    struct Ctx {
        core::Loop *loop;
        const std::function<bool()> *done;
        double deadline;
    } ctx{&loop, &done, deadline};
    core::Timer check(
            loop,
            [](void *p) noexcept {
                auto *c = static_cast<Ctx *>(p);
                if ((*c->done)() || mono_s() >= c->deadline)
                    c->loop->break_loop();
            },
            &ctx);
    check.start(0.005, 0.005);
    loop.run();
    check.stop();
    return done();
}

} // namespace dnstest
