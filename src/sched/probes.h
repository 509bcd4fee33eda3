// The interface tracker's other probe types (reference §3.3), next to ICMP:
//  - type dns: a DNS query for `dns_query_name` (default one.one.one.one, the shell's
//    `dig @HOST … one.one.one.one`) sent to the tracking host over UDP port 53, from a
//    socket bound to the WAN's device and source; success = an answer for the name.
//  - type httping: an HTTPS round trip (GET /) through the WAN, to a VPS's API port or a
//    tracking host's port 443; success = any HTTP response (the shell counted any reply of
//    `httping`), the latency is the whole exchange.
// Both deliver results from the loop only, never from inside send().
#pragma once

#include "api/conn.h"
#include "api/tls.h"
#include "core/fd.h"
#include "core/loop.h"
#include "omrt/clock.h"
#include "omrt/ipaddr.h"
#include "omrt/reason.h"

#include <memory>
#include <string>
#include <vector>

namespace sched {

struct OtherProbeResult {
    uint64_t id = 0;
    bool ok = false;
    omrt::Reason reason = omrt::Reason::ok;
    int64_t rtt_us = -1;
};

class OtherProbeListener {
public:
    virtual void on_other_probe(const OtherProbeResult &r) = 0;

protected:
    ~OtherProbeListener() = default;
};

// DNS queries through one WAN (one socket per family, many queries in flight).
class DnsProber {
public:
    DnsProber(core::Loop &loop, const omrt::Clock &clock, OtherProbeListener &listener);
    ~DnsProber();
    DnsProber(const DnsProber &) = delete;
    DnsProber &operator=(const DnsProber &) = delete;

    // Binds to |device| and |source| (per family, opened lazily). Drops queries in flight.
    void configure(const std::string &device, const omrt::IpAddr source[2],
                   const std::string &qname);
    // Queries |server| (port 53); 0 if it could not even be queued.
    uint64_t send(const omrt::IpAddr &server, int64_t timeout_us);
    void cancel(uint64_t id);

private:
    struct Query {
        uint64_t id;
        uint16_t qid;
        omrt::IpAddr server;
        omrt::MonoUs sent_us;
        omrt::MonoUs deadline_us;
        bool failed; // could not send: reported from the loop
    };
    void on_io4(int) { on_io(0); }
    void on_io6(int) { on_io(1); }
    void on_io(unsigned fam);
    void on_timer();
    void arm();
    bool open(unsigned fam);
    void complete(size_t idx, bool ok, omrt::Reason r, omrt::MonoUs now);

    const omrt::Clock &clock_;
    OtherProbeListener &listener_;
    std::string device_;
    omrt::IpAddr source_[2];
    std::string qname_ = "one.one.one.one";
    core::UniqueFd fd_[2];
    core::IoWatcher io4_, io6_;
    core::Timer timer_;
    std::vector<Query> queries_;
    uint64_t next_id_ = 1;
    uint16_t next_qid_;
};

// HTTPS round trips through one WAN.
class HttpsProber {
public:
    HttpsProber(core::Loop &loop, const omrt::Clock &clock, OtherProbeListener &listener);
    ~HttpsProber();
    HttpsProber(const HttpsProber &) = delete;
    HttpsProber &operator=(const HttpsProber &) = delete;

    void configure(const std::string &device, const std::string &via, const omrt::IpAddr source[2]);
    uint64_t send(const omrt::IpAddr &target, uint16_t port, int64_t timeout_us);
    void cancel(uint64_t id);

private:
    struct Slot {
        uint64_t id = 0; // 0: idle
        omrt::IpAddr target;
        uint16_t port = 0;
        omrt::MonoUs sent_us = 0;
        HttpsProber *owner = nullptr;
        std::unique_ptr<api::Connection> conn;
    };
    static void on_done(void *ctx) noexcept;

    core::Loop &loop_;
    const omrt::Clock &clock_;
    OtherProbeListener &listener_;
    api::TlsPolicy tls_; // insecure, like `httping -l` (no verification)
    bool tls_ok_ = false;
    std::string device_, via_;
    omrt::IpAddr source_[2];
    std::vector<std::unique_ptr<Slot>> slots_;
    uint64_t next_id_ = 1;
};

} // namespace sched
