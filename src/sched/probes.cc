#include "sched/probes.h"

#include "api/http.h"
#include "core/log.h"
#include "core/str.h"
#include "core/vec.h"
#include "dns/wire.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <random>
#include <sys/socket.h>
#include <unistd.h>

namespace sched {

namespace {

// Header, encoded name (at most 255 bytes), type and class.
constexpr size_t kMaxQuery = 12 + 255 + 4;

// RFC 1035 §4.1: a query for |name| (type A, class IN, recursion desired) into |out|;
// its length, or 0 when the name cannot be encoded.
size_t build_query(uint16_t id, const std::string &name, uint8_t (&out)[kMaxQuery])
{
    static const uint8_t kHeader[12] = {0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    std::memcpy(out, kHeader, sizeof(kHeader));
    out[0] = uint8_t(id >> 8);
    out[1] = uint8_t(id);
    size_t len = 12;
    size_t b = 0;
    while (b < name.size()) {
        size_t e = name.find('.', b);
        if (e == std::string::npos)
            e = name.size();
        size_t n = e - b;
        // The encoded name, its terminating zero included, must fit in 255 bytes.
        if (n == 0 || n > 63 || len + 1 + n >= 12 + 255)
            return 0;
        out[len++] = uint8_t(n);
        std::memcpy(out + len, name.data() + b, n);
        len += n;
        b = e + 1;
    }
    out[len++] = 0;
    static const uint8_t kQuestion[4] = {0, dns::kTypeA, 0, dns::kClassIn};
    std::memcpy(out + len, kQuestion, sizeof(kQuestion));
    return len + sizeof(kQuestion);
}

omrt::Reason rcode_reason(unsigned rcode)
{
    switch (rcode) {
    case 2:
        return omrt::Reason::dns_servfail;
    case 3:
        return omrt::Reason::dns_nxdomain;
    case 5:
        return omrt::Reason::dns_refused;
    default:
        return omrt::Reason::dns_bad_reply;
    }
}

} // namespace

// --------------------------------------------------------------------------- DNS

DnsProber::DnsProber(core::Loop &loop, const omrt::Clock &clock, OtherProbeListener &listener)
    : clock_(clock), listener_(listener),
      io4_(loop, core::member_int<DnsProber, &DnsProber::on_io4>, this),
      io6_(loop, core::member_int<DnsProber, &DnsProber::on_io6>, this),
      timer_(loop, core::member<DnsProber, &DnsProber::on_timer>, this)
{
    std::random_device rd;
    next_qid_ = uint16_t(rd());
}

DnsProber::~DnsProber() = default;

void DnsProber::configure(const std::string &device, const omrt::IpAddr source[2],
                          const std::string &qname)
{
    if (device == device_ && source[0] == source_[0] && source[1] == source_[1] && qname == qname_)
        return;
    device_ = device;
    source_[0] = source[0];
    source_[1] = source[1];
    qname_ = qname;
    io4_.stop();
    io6_.stop();
    fd_[0].reset();
    fd_[1].reset();
    // Queries in flight on the old sockets time out.
}

bool DnsProber::open(unsigned fam)
{
    if (fd_[fam])
        return true;
    int family = fam == 0 ? AF_INET : AF_INET6;
    core::UniqueFd fd(socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        return false;
    if (!device_.empty() && setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, device_.c_str(),
                                       socklen_t(device_.size())) < 0)
        return false;
    if (source_[fam].valid()) {
        struct sockaddr_storage ss;
        socklen_t len = source_[fam].to_sockaddr(ss, 0);
        if (bind(fd.get(), reinterpret_cast<struct sockaddr *>(&ss), len) < 0)
            return false;
    }
    fd_[fam] = std::move(fd);
    core::IoWatcher &io = fam == 0 ? io4_ : io6_;
    io.set(fd_[fam].get(), EV_READ);
    io.start();
    return true;
}

uint64_t DnsProber::send(const omrt::IpAddr &server, int64_t timeout_us)
{
    unsigned fam = server.is_v4() ? 0 : 1;
    omrt::MonoUs now = clock_.mono_us();
    Query q{next_id_++, next_qid_++, server, now, now + timeout_us, false};
    uint8_t pkt[kMaxQuery];
    size_t pkt_len = build_query(q.qid, qname_, pkt);
    struct sockaddr_storage ss;
    socklen_t len = server.to_sockaddr(ss, 53);
    if (pkt_len == 0 || !open(fam) ||
        sendto(fd_[fam].get(), pkt, pkt_len, 0, reinterpret_cast<struct sockaddr *>(&ss), len) <
                0) {
        q.failed = true;
        q.deadline_us = now; // delivered from the timer, never from here
    }
    queries_.push_back(q);
    arm();
    return q.id;
}

void DnsProber::cancel(uint64_t id)
{
    core::erase_where(queries_, [id](const Query &q) { return q.id == id; });
}

void DnsProber::arm()
{
    omrt::MonoUs next = INT64_MAX;
    for (const Query &q : queries_)
        next = std::min(next, q.deadline_us);
    if (next == INT64_MAX) {
        timer_.stop();
        return;
    }
    timer_.start(std::max(0.0, double(next - clock_.mono_us()) / omrt::kUsPerS));
}

void DnsProber::complete(size_t idx, bool ok, omrt::Reason r, omrt::MonoUs now)
{
    Query q = queries_[idx];
    queries_.erase(queries_.begin() + long(idx));
    OtherProbeResult res;
    res.id = q.id;
    res.ok = ok;
    res.reason = r;
    res.rtt_us = ok ? now - q.sent_us : -1;
    listener_.on_other_probe(res);
}

void DnsProber::on_timer()
{
    omrt::MonoUs now = clock_.mono_us();
    for (size_t i = 0; i < queries_.size();) {
        if (queries_[i].deadline_us <= now) {
            omrt::Reason r =
                    queries_[i].failed ? omrt::Reason::net_unreachable : omrt::Reason::dns_timeout;
            complete(i, false, r, now);
            continue;
        }
        i++;
    }
    arm();
}

void DnsProber::on_io(unsigned fam)
{
    uint8_t buf[1500];
    for (unsigned n = 0; n < 64; n++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t got = recvfrom(fd_[fam].get(), buf, sizeof(buf), 0,
                               reinterpret_cast<struct sockaddr *>(&from), &flen);
        if (got < 0)
            break; // EAGAIN, or an ICMP error queued on the socket: the query times out
        omrt::MonoUs now = clock_.mono_us();
        omrt::IpAddr src = omrt::IpAddr::from_sockaddr(reinterpret_cast<struct sockaddr *>(&from));
        dns::Header h;
        if (!dns::parse_header(buf, size_t(got), h) || !h.qr)
            continue; // not a reply: ignore, the query may still be answered
        for (size_t i = 0; i < queries_.size(); i++) {
            if (queries_[i].qid != h.id || queries_[i].server != src)
                continue;
            if (h.rcode != 0) {
                complete(i, false, rcode_reason(h.rcode), now);
            } else if (h.tc) {
                complete(i, false, omrt::Reason::dns_truncated, now);
            } else {
                dns::ParsedReply pr;
                dns::parse_reply(buf, size_t(got), pr);
                if (pr.kind == dns::ReplyKind::Answer)
                    complete(i, true, omrt::Reason::ok, now);
                else if (pr.kind == dns::ReplyKind::NoData)
                    complete(i, false, omrt::Reason::dns_nodata, now);
                else
                    complete(i, false, omrt::Reason::dns_bad_reply, now);
            }
            break;
        }
    }
    arm();
}

// --------------------------------------------------------------------------- HTTPS

HttpsProber::HttpsProber(core::Loop &loop, const omrt::Clock &clock, OtherProbeListener &listener)
    : loop_(loop), clock_(clock), listener_(listener), tls_(clock, nullptr)
{
    api::TlsSettings ts;
    ts.name = "httping";
    ts.policy = api::CertPolicy::insecure;
    std::string err;
    tls_ok_ = tls_.setup(ts, &err);
    if (!tls_ok_)
        LOGE("httping: TLS setup failed: %s", err.c_str());
}

HttpsProber::~HttpsProber()
{
    slots_.clear();
}

void HttpsProber::configure(const std::string &device, const std::string &via,
                            const omrt::IpAddr source[2])
{
    if (device == device_ && via == via_ && source[0] == source_[0] && source[1] == source_[1])
        return;
    device_ = device;
    via_ = via;
    source_[0] = source[0];
    source_[1] = source[1];
    for (auto &s : slots_)
        if (!s->id && s->conn)
            s->conn->disconnect();
}

uint64_t HttpsProber::send(const omrt::IpAddr &target, uint16_t port, int64_t timeout_us)
{
    if (!tls_ok_)
        return 0;
    // An idle connection to the same target first (keep-alive), else a free slot.
    Slot *slot = nullptr;
    for (auto &s : slots_)
        if (!s->id && s->target == target && s->port == port) {
            slot = s.get();
            break;
        }
    if (!slot)
        for (auto &s : slots_)
            if (!s->id) {
                slot = s.get();
                break;
            }
    if (!slot) {
        if (slots_.size() >= 16)
            return 0;
        slots_.push_back(std::make_unique<Slot>());
        slot = slots_.back().get();
        slot->owner = this;
    }
    if (!slot->conn)
        slot->conn = std::make_unique<api::Connection>(loop_, clock_, tls_);
    slot->id = next_id_++;
    slot->target = target;
    slot->port = port;
    slot->sent_us = clock_.mono_us();
    api::Target t;
    t.host = target.str();
    t.port = port;
    t.device = device_;
    t.source = source_[target.is_v4() ? 0 : 1].str();
    t.via = via_;
    api::Timeouts to;
    uint32_t ms = uint32_t(std::max<int64_t>(1, timeout_us / 1000));
    to.connect_ms = ms;
    to.handshake_ms = ms;
    to.response_ms = ms;
    to.total_ms = ms;
    std::string host = core::strprintf(target.is_v6() ? "[%s]" : "%s", t.host.c_str());
    slot->conn->exchange(t, api::http_request("GET", "/", host, "", "", ""), to,
                         slot->sent_us + timeout_us, api::HttpLimits(), &HttpsProber::on_done,
                         slot);
    return slot->id;
}

void HttpsProber::cancel(uint64_t id)
{
    for (auto &s : slots_)
        if (s->id == id) {
            s->conn->disconnect();
            s->id = 0;
        }
}

void HttpsProber::on_done(void *ctx) noexcept
{
    Slot *s = static_cast<Slot *>(ctx);
    HttpsProber *self = s->owner;
    OtherProbeResult r;
    r.id = s->id;
    const api::ExchangeResult &x = s->conn->result();
    // Any HTTP answer proves the path: the shell's httping counted any reply.
    r.ok = x.reason == omrt::Reason::ok;
    r.reason = x.reason;
    r.rtt_us = r.ok ? self->clock_.mono_us() - s->sent_us : -1;
    s->id = 0;
    self->listener_.on_other_probe(r); // last: the listener may send again
}

} // namespace sched
