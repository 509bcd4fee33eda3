#include "dns/resolver.h"

#include "core/log.h"
#include "core/str.h"
#include "dns/wire.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <net/if.h>
#include <netinet/in.h>
#include <new>
#include <sys/socket.h>
#include <sys/stat.h>
#include <udns.h>

namespace dns {

namespace {

// The Resolver inside dns_ioevent()/dns_timeouts(): udns' debug hook reports replies it
// could not match to a query without any context pointer, so we attribute them here.
// One loop, one thread: at most one dispatch runs at a time.
Resolver *g_dispatching = nullptr;

// udns' parse callback: our own parser (wire.h) instead of dns_parse_a4/a6, so the reply
// is classified precisely. The result is owned by the query callback.
int parse_trampoline(dnscc_t *, dnscc_t *pkt, dnscc_t *, dnscc_t *end, void **res) noexcept
{
    auto *p = new (std::nothrow) ParsedReply;
    if (!p)
        return DNS_E_NOMEM;
    parse_reply(pkt, size_t(end - pkt), *p);
    *res = p;
    return 0;
}

// The address and port of a server as udns reports it (v4-mapped IPv6 as IPv4).
bool decode_sockaddr(const struct sockaddr *sa, unsigned salen, IpAddr &a, uint16_t &port)
{
    if (sa && sa->sa_family == AF_INET && salen >= sizeof(sockaddr_in)) {
        auto *sin = reinterpret_cast<const sockaddr_in *>(sa);
        a = IpAddr::v4(&sin->sin_addr);
        port = ntohs(sin->sin_port);
    } else if (sa && sa->sa_family == AF_INET6 && salen >= sizeof(sockaddr_in6)) {
        auto *sin6 = reinterpret_cast<const sockaddr_in6 *>(sa);
        static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        const uint8_t *b = sin6->sin6_addr.s6_addr;
        a = std::memcmp(b, kMapped, 12) == 0 ? IpAddr::v4(b + 12) : IpAddr::v6(b);
        port = ntohs(sin6->sin6_port);
    } else {
        return false;
    }
    return true;
}

std::string sockaddr_str(const struct sockaddr *sa, unsigned salen)
{
    ServerAddr s;
    if (!decode_sockaddr(sa, salen, s.addr, s.port))
        return "unknown address";
    return s.str();
}

} // namespace

const char *qtype_name(QType t)
{
    return t == QType::A ? "A" : "AAAA";
}

// ---------------------------------------------------------------------------

void Query::cancel()
{
    if (backend_)
        backend_->cancel(*this);
}

void Query::attach(QueryBackend *b, std::string_view name, QType t)
{
    backend_ = b;
    name_.assign(name.data(), name.size());
    type_ = t;
}

void Query::finish(QueryResult &&r)
{
    backend_ = nullptr;
    result_ = std::move(r);
    done_(ctx_, *this); // may destroy *this: last statement
}

void Query::reset_track()
{
    qid_known_ = false;
    sent_ = 0;
    answered_by_ = -1;
    note_.clear();
    for (ServerTrack &t : track_)
        t = ServerTrack();
}

bool ResolverOptions::operator==(const ResolverOptions &o) const
{
    return label == o.label && servers == o.servers && resolv_conf == o.resolv_conf &&
           resolv_iface == o.resolv_iface && device == o.device && timeout_s == o.timeout_s &&
           tries == o.tries;
}

// ---------------------------------------------------------------------------

Resolver::Resolver(core::Loop &loop, const omrt::Clock &clock, ResolverOptions opts)
    : loop_(loop), clock_(clock), opts_(std::move(opts)),
      io_(loop, core::member_int<Resolver, &Resolver::on_readable>, this),
      timer_(loop, core::member<Resolver, &Resolver::on_timer>, this),
      deferred_(loop, core::member<Resolver, &Resolver::on_deferred>, this)
{}

Resolver::~Resolver()
{
    // Queries just stop: their owners see running() == false and no callback.
    for (Query *q : running_) {
        q->backend_ = nullptr;
        q->uq_ = nullptr; // freed by dns_free() below
    }
    for (Query *q : waiting_) {
        q->backend_ = nullptr;
        q->deferred_ = false;
    }
    running_.clear();
    waiting_.clear();
    close_ctx();
}

int Resolver::fd() const
{
    return ctx_ ? dns_sock(ctx_) : -1;
}

time_t Resolver::now_s() const
{
    // Monotonic seconds, + 1 so it is never 0 (udns would read time(NULL) instead).
    return time_t(clock_.mono_us() / omrt::kUsPerS) + 1;
}

void Resolver::reconfigure(ResolverOptions opts)
{
    if (opts == opts_)
        return;
    opts_ = std::move(opts);
    resolv_checked_ = false;
    dirty_ = true;
    // Reopen from the loop, never from inside a udns dispatch (this may be called from
    // a query callback).
    if (ctx_)
        deferred_.start(0);
}

void Resolver::reload()
{
    resolv_checked_ = false;
    resolv_id_ = FileId();
}

bool Resolver::read_servers(std::vector<ServerAddr> &out, std::string *err)
{
    if (!opts_.servers.empty()) {
        out = opts_.servers;
        if (out.size() > kMaxServers)
            out.resize(kMaxServers);
        return true;
    }
    ResolvConf conf;
    bool ok = opts_.resolv_iface.empty()
                      ? load_resolv_conf(opts_.resolv_conf, conf, err)
                      : load_resolv_auto(opts_.resolv_conf, opts_.resolv_iface, conf, err);
    if (!ok)
        return false;
    if (!conf.warnings.empty() && warn_limit_.allow(clock_.mono_us()))
        for (const std::string &w : conf.warnings)
            LOGW("dns[%s]: %s: %s", opts_.label.c_str(), opts_.resolv_conf.c_str(), w.c_str());
    out = std::move(conf.servers);
    return true;
}

bool Resolver::load_servers()
{
    std::string err;
    if (!read_servers(loaded_, &err)) {
        loaded_.clear();
        servers_.clear();
        open_reason_ = omrt::Reason::dns_no_servers;
        open_error_ = err;
        return false;
    }
    servers_ = loaded_;
    return true;
}

void Resolver::check_resolv_file()
{
    if (!opts_.servers.empty())
        return;
    omrt::MonoUs now = clock_.mono_us();
    // At most one stat() per second, however many queries start.
    if (resolv_checked_ && now - resolv_checked_us_ < omrt::kUsPerS)
        return;
    resolv_checked_ = true;
    resolv_checked_us_ = now;
    FileId id;
    struct stat st;
    if (stat(opts_.resolv_conf.c_str(), &st) == 0) {
        id.exists = true;
        id.dev = uint64_t(st.st_dev);
        id.ino = uint64_t(st.st_ino);
        id.size = uint64_t(st.st_size);
        id.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }
    if (id == resolv_id_)
        return;
    resolv_id_ = id;
    // netifd rewrites the file on every interface event, mostly with the same servers:
    // only a different list is worth a new socket.
    std::vector<ServerAddr> now_servers;
    if (!ctx_ || !read_servers(now_servers, nullptr) || now_servers != loaded_)
        dirty_ = true;
}

bool Resolver::ensure_open()
{
    check_resolv_file();
    if (ctx_ && !dirty_)
        return true;
    if (ctx_) {
        if (g_dispatching == this) {
            // Inside our own udns dispatch: keep using the old socket for now.
            deferred_.start(0);
            return true;
        }
        reopen_running();
        return ctx_ != nullptr;
    }
    return open_ctx();
}

bool Resolver::open_ctx()
{
    close_ctx();
    dirty_ = false;
    open_reason_ = omrt::Reason::ok;
    open_error_.clear();
    if (!load_servers())
        return false;
    if (servers_.empty()) {
        open_reason_ = omrt::Reason::dns_no_servers;
        if (opts_.servers.empty())
            open_error_ = core::strprintf("no nameserver in %s%s%s", opts_.resolv_conf.c_str(),
                                          opts_.resolv_iface.empty() ? "" : " for ",
                                          opts_.resolv_iface.c_str());
        else
            open_error_ = "no name servers configured";
        return false;
    }

    // dns_new() copies udns' default context, which must be initialised; we reset it
    // instead of dns_init() so nothing is read from /etc/resolv.conf behind our back.
    static bool defctx_ready = false;
    if (!defctx_ready) {
        dns_reset(&dns_defctx);
        defctx_ready = true;
    }
    struct dns_ctx *ctx = dns_new(&dns_defctx);
    if (!ctx) {
        open_reason_ = omrt::Reason::internal;
        open_error_ = "cannot allocate a udns context";
        return false;
    }
    dns_add_serv(ctx, nullptr);
    dns_add_srch(ctx, nullptr);
    dns_set_opt(ctx, DNS_OPT_TIMEOUT, int(std::min(std::max(opts_.timeout_s, 1u), 300u)));
    dns_set_opt(ctx, DNS_OPT_NTRIES, int(std::min(std::max(opts_.tries, 1u), 50u)));

    std::vector<ServerAddr> used;
    std::string skipped;
    bool v4 = false, v6 = false;
    for (const ServerAddr &s : servers_) {
        uint32_t scope_id = 0;
        if (!s.scope.empty()) {
            uint64_t n;
            scope_id = core::parse_u64(s.scope, n) && n <= UINT32_MAX
                               ? uint32_t(n)
                               : if_nametoindex(s.scope.c_str());
            if (scope_id == 0) {
                skipped += core::strprintf("%s%s: no interface %s", skipped.empty() ? "" : "; ",
                                           s.str().c_str(), s.scope.c_str());
                continue;
            }
        }
        sockaddr_storage ss;
        IpAddr scoped = s.addr;
        scoped.scope_id = scope_id;
        scoped.to_sockaddr(ss, s.port);
        if (dns_add_serv_s(ctx, reinterpret_cast<sockaddr *>(&ss)) < 0)
            continue;
        used.push_back(s);
        (s.addr.is_v4() ? v4 : v6) = true;
    }
    servers_ = std::move(used);
    if (servers_.empty()) {
        dns_free(ctx);
        open_reason_ = omrt::Reason::dns_no_servers;
        open_error_ = core::strprintf("no usable name server (%s)", skipped.c_str());
        return false;
    }
    if (!skipped.empty())
        LOGW("dns[%s]: name servers skipped: %s", opts_.label.c_str(), skipped.c_str());

    dns_set_dbgfn(ctx, debug_trampoline);
    int fd = dns_open(ctx);
    if (fd < 0) {
        int e = errno;
        dns_free(ctx);
        open_reason_ = omrt::Reason::internal;
        open_error_ = core::strprintf("cannot open a UDP socket: %s", std::strerror(e));
        return false;
    }
    if (v4 && v6) {
        // udns mixed v4+v6: one AF_INET6 socket, v4 servers as ::ffff:a.b.c.d.
        int off = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    if (!opts_.device.empty()) {
        // Before the first sendto(), so even the first query leaves through the device.
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, opts_.device.c_str(),
                       socklen_t(opts_.device.size() + 1)) < 0) {
            int e = errno;
            dns_free(ctx);
            open_reason_ = e == ENODEV ? omrt::Reason::no_device : omrt::Reason::internal;
            open_error_ = core::strprintf("cannot bind the DNS socket to %s: %s",
                                          opts_.device.c_str(), std::strerror(e));
            return false;
        }
    }
    ctx_ = ctx;
    dns_set_tmcbck(ctx_, utm_trampoline, this);
    io_.set(fd, EV_READ);
    io_.start();
    stats_.opens++;
    LOGD("dns[%s]: using %s%s%s", opts_.label.c_str(), join(servers_).c_str(),
         opts_.device.empty() ? "" : " bound to ", opts_.device.c_str());
    return true;
}

void Resolver::close_ctx()
{
    io_.stop(); // before udns closes the fd
    if (ctx_) {
        struct dns_ctx *ctx = ctx_;
        ctx_ = nullptr;
        dns_free(ctx); // frees its queries; calls utm_trampoline(-1)
    }
    timer_.stop();
}

void Resolver::reopen_running()
{
    std::vector<Query *> moving;
    moving.swap(running_);
    for (Query *q : moving) {
        if (q->uq_) {
            dns_cancel(ctx_, q->uq_);
            std::free(q->uq_); // udns 0.4's dns_cancel() unlinks but does not free
            q->uq_ = nullptr;
        }
        q->reset_track();
    }
    bool ok = open_ctx();
    for (Query *q : moving) {
        if (ok)
            submit(*q);
        else
            fail_later(*q, open_reason_, open_error_.c_str());
    }
}

void Resolver::start(Query &q, std::string_view name, QType type)
{
    q.cancel();
    q.attach(this, name, type);
    q.reset_track();
    stats_.queries++;
    std::string err;
    if (!normalize_name(name, q.name_, &err)) {
        fail_later(q, omrt::Reason::config, err.c_str());
        return;
    }
    if (!ensure_open()) {
        fail_later(q, open_reason_, open_error_.c_str());
        return;
    }
    submit(q);
}

void Resolver::submit(Query &q)
{
    int qtype = q.type_ == QType::A ? DNS_T_A : DNS_T_AAAA;
    // DNS_NOSRCH: names are absolute; no search list (we have none anyway).
    q.uq_ = dns_submit_p(ctx_, q.name_.c_str(), DNS_C_IN, qtype, DNS_NOSRCH, parse_trampoline,
                         query_trampoline, &q);
    if (!q.uq_) {
        int st = dns_status(ctx_);
        fail_later(q, st == DNS_E_BADQUERY ? omrt::Reason::config : omrt::Reason::internal,
                   st == DNS_E_BADQUERY ? "udns rejected the name"
                                        : "udns could not queue the query");
        return;
    }
    // udns sends from its timer callback (armed with 0 s by dns_submit), never here.
    running_.push_back(&q);
}

void Resolver::fail_later(Query &q, omrt::Reason r, const char *msg)
{
    QueryResult res;
    res.reason = r;
    res.message = msg;
    res.server = join(servers_);
    q.pending_ = std::move(res);
    q.deferred_ = true;
    waiting_.push_back(&q);
    deferred_.start(0);
}

void Resolver::unlink(Query &q)
{
    auto it = std::find(running_.begin(), running_.end(), &q);
    if (it != running_.end())
        running_.erase(it);
}

void Resolver::cancel(Query &q)
{
    if (q.backend_ != this)
        return;
    if (q.uq_) {
        if (ctx_) {
            dns_cancel(ctx_, q.uq_);
            std::free(q.uq_); // see reopen_running()
        }
        q.uq_ = nullptr;
        unlink(q);
    }
    if (q.deferred_) {
        auto it = std::find(waiting_.begin(), waiting_.end(), &q);
        if (it != waiting_.end())
            waiting_.erase(it);
        q.deferred_ = false;
    }
    q.backend_ = nullptr;
}

void Resolver::on_deferred()
{
    if (dirty_ && ctx_ && g_dispatching != this) {
        if (running_.empty())
            close_ctx(); // reopened by the next start()
        else
            reopen_running();
    }
    // Callbacks may start (and synchronously fail) new queries: those wait for the next
    // round, so a callback that always restarts cannot keep us here.
    size_t n = waiting_.size();
    while (n-- > 0 && !waiting_.empty()) {
        Query *q = waiting_.front();
        waiting_.erase(waiting_.begin());
        q->deferred_ = false;
        QueryResult r = std::move(q->pending_);
        q->finish(std::move(r)); // may destroy *q
    }
    if (!waiting_.empty())
        deferred_.start(0);
}

// ---------------------------------------------------------------------------
// udns callbacks

namespace {

struct DispatchScope {
    Resolver *prev;
    explicit DispatchScope(Resolver *r) : prev(g_dispatching) { g_dispatching = r; }
    ~DispatchScope() { g_dispatching = prev; }
};

} // namespace

void Resolver::on_readable(int)
{
    if (!ctx_)
        return;
    DispatchScope scope(this);
    dns_ioevent(ctx_, now_s()); // drains the socket; query callbacks run inside
}

void Resolver::on_timer()
{
    if (!ctx_)
        return;
    DispatchScope scope(this);
    int wait_s = dns_timeouts(ctx_, -1, now_s());
    // udns re-arms us through utm_trampoline only when its first deadline changes. If
    // libev fired a little early (its timers count from the iteration's start) udns
    // found nothing expired and kept the same deadline: re-arm ourselves.
    if (ctx_ && wait_s >= 0 && !timer_.active())
        timer_.start(wait_s > 0 ? double(wait_s) : 0.1);
}

void Resolver::utm_trampoline(struct dns_ctx *, int timeout, void *data) noexcept
{
    // timeout < 0: no queries; 0: process at once (new query); > 0: seconds.
    auto *self = static_cast<Resolver *>(data);
    if (timeout < 0)
        self->timer_.stop();
    else
        self->timer_.start(double(timeout));
}

void Resolver::query_trampoline(struct dns_ctx *ctx, void *result, void *data) noexcept
{
    auto *q = static_cast<Query *>(data);
    auto *self = static_cast<Resolver *>(q->backend_);
    self->complete(*q, dns_status(ctx), result); // may destroy *q
}

void Resolver::debug_trampoline(int code, const struct sockaddr *sa, unsigned salen,
                                const unsigned char *pkt, int plen, const struct dns_query *,
                                void *data) noexcept
{
    // code 1: query sent; 0: reply matched to its query (data = the query's cbdata);
    // -1 garbled reply, -2 reply from a server not asked, -5 no matching query (data 0).
    auto *q = static_cast<Query *>(data);
    Resolver *self = q ? static_cast<Resolver *>(q->backend_) : g_dispatching;
    if (self)
        self->on_debug(code, sa, salen, pkt, plen, q);
}

int Resolver::server_index(const struct sockaddr *sa, unsigned salen) const
{
    IpAddr a;
    uint16_t port;
    if (!decode_sockaddr(sa, salen, a, port))
        return -1;
    for (size_t i = 0; i < servers_.size(); i++)
        if (servers_[i].addr == a && servers_[i].port == port)
            return int(i);
    return -1;
}

void Resolver::on_debug(int code, const struct sockaddr *sa, unsigned salen, const uint8_t *pkt,
                        int plen, Query *q)
{
    omrt::MonoUs now = clock_.mono_us();
    int idx = server_index(sa, salen);
    Header h;
    bool hdr = plen > 0 && parse_header(pkt, size_t(plen), h);
    if (code == 1 && q) {
        stats_.sent++;
        q->sent_++;
        if (idx >= 0)
            q->track_[idx].sent_us = now;
        if (hdr) {
            q->qid_ = h.id;
            q->qid_known_ = true;
        }
        return;
    }
    if (code == 0 && q) {
        stats_.replies++;
        if (idx >= 0) {
            Query::ServerTrack &t = q->track_[idx];
            t.reply_us = now;
            t.rcode = hdr ? h.rcode : -1;
            t.tc = hdr && h.tc;
            q->answered_by_ = idx;
        }
        return;
    }
    if (code < 0)
        note_ignored(code, sa, salen, pkt, plen);
}

void Resolver::note_ignored(int code, const struct sockaddr *sa, unsigned salen, const uint8_t *pkt,
                            int plen)
{
    stats_.ignored++;
    int idx = server_index(sa, salen);
    std::string from = idx >= 0 ? servers_[size_t(idx)].str() : sockaddr_str(sa, salen);
    Header h;
    bool hdr = plen > 0 && parse_header(pkt, size_t(plen), h);
    std::string qname;
    uint16_t qtype = 0, qclass = 0;
    bool has_q = hdr && parse_question(pkt, size_t(plen), qname, qtype, qclass);
    LOGD("dns[%s]: ignored reply from %s (%d bytes, udns code %d)", opts_.label.c_str(),
         from.c_str(), plen, code);
    for (Query *q : running_) {
        if (!q->note_.empty())
            continue;
        bool asked = idx >= 0 && q->track_[idx].sent_us != 0;
        bool id_match = hdr && q->qid_known_ && h.id == q->qid_;
        uint16_t want = q->type_ == QType::A ? kTypeA : kTypeAaaa;
        bool q_match = has_q && qname == q->name_ && qtype == want;
        const char *what = nullptr;
        if (code == -1 && asked) {
            what = "garbled reply from ";
        } else if (code == -5 && asked && id_match && !q_match) {
            q->note_ = core::strprintf("reply to another question (%s) from %s",
                                       has_q ? core::truncate_for_log(qname, 80).c_str() : "none",
                                       from.c_str());
        } else if (code == -5 && asked && q_match && !id_match) {
            what = "reply with a wrong query id from ";
        } else if (code == -2 && id_match && q_match) {
            what = "reply from an address that was not asked: ";
        }
        if (what) {
            q->note_ = what;
            q->note_ += from;
        }
    }
}

// ---------------------------------------------------------------------------

void Resolver::complete(Query &q, int status, void *result)
{
    std::unique_ptr<ParsedReply> reply(static_cast<ParsedReply *>(result));
    q.uq_ = nullptr; // udns freed it
    unlink(q);
    QueryResult res;
    res.sent = q.sent_;
    std::string from;
    if (q.answered_by_ >= 0) {
        const Query::ServerTrack &t = q.track_[q.answered_by_];
        from = servers_[size_t(q.answered_by_)].str();
        res.server = from;
        if (t.sent_us && t.reply_us >= t.sent_us)
            res.rtt_us = t.reply_us - t.sent_us;
    }
    const char *type = qtype_name(q.type_);
    if (reply) {
        switch (reply->kind) {
        case ReplyKind::Answer:
            res.reason = omrt::Reason::ok;
            res.addrs = std::move(reply->addrs);
            res.ttl_s = reply->ttl_s;
            res.canonical = std::move(reply->canonical);
            break;
        case ReplyKind::NoData:
            res.reason = omrt::Reason::dns_nodata;
            res.message = core::strprintf("no %s record from %s: %s", type, from.c_str(),
                                          reply->detail.c_str());
            break;
        case ReplyKind::OtherName:
        case ReplyKind::Malformed:
            res.reason = omrt::Reason::dns_bad_reply;
            res.message =
                    core::strprintf("bad reply from %s: %s", from.c_str(), reply->detail.c_str());
            break;
        }
    } else {
        switch (status) {
        case DNS_E_NXDOMAIN:
            res.reason = omrt::Reason::dns_nxdomain;
            res.message = core::strprintf("NXDOMAIN from %s", from.c_str());
            break;
        case DNS_E_NODATA:
            res.reason = omrt::Reason::dns_nodata;
            res.message =
                    core::strprintf("no %s record from %s (empty answer)", type, from.c_str());
            break;
        case DNS_E_TEMPFAIL:
            res = classify_failure(q, status);
            break;
        case DNS_E_PROTOCOL:
            res.reason = omrt::Reason::dns_bad_reply;
            res.message = core::strprintf("bad reply from %s", from.c_str());
            break;
        case DNS_E_BADQUERY:
            res.reason = omrt::Reason::config;
            res.message = "udns rejected the query";
            break;
        default:
            res.reason = omrt::Reason::internal;
            res.message = core::strprintf("udns error %d (%s)", status, dns_strerror(status));
            break;
        }
    }
    q.finish(std::move(res)); // may destroy q: last statement
}

QueryResult Resolver::classify_failure(Query &q, int) const
{
    QueryResult res;
    res.sent = q.sent_;
    int rank = 0; // 0 none, 1 other rcode / SERVFAIL, 2 REFUSED, 3 truncated
    std::string parts, asked;
    for (size_t i = 0; i < servers_.size() && i < kMaxServers; i++) {
        const Query::ServerTrack &t = q.track_[i];
        if (!t.sent_us)
            continue;
        std::string s = servers_[i].str();
        if (!asked.empty())
            asked += ", ";
        asked += s;
        const char *what = "no reply";
        char num[24];
        if (t.rcode >= 0) {
            int r;
            if (t.tc) {
                r = 3;
                what = "truncated reply (TC, no TCP fallback)";
            } else if (t.rcode == 5) {
                r = 2;
                what = "REFUSED";
            } else {
                r = 1;
                what = rcode_name(unsigned(t.rcode));
                if (t.rcode > 5) { // rcode_name() has no name for it
                    std::snprintf(num, sizeof num, "rcode %d", t.rcode);
                    what = num;
                }
            }
            if (rank == 0 || r > rank) {
                rank = r;
                res.server = s;
                if (t.reply_us >= t.sent_us)
                    res.rtt_us = t.reply_us - t.sent_us;
            }
        }
        if (!parts.empty())
            parts += "; ";
        parts += what;
        parts += " from ";
        parts += s;
    }
    if (rank == 3) {
        res.reason = omrt::Reason::dns_truncated;
    } else if (rank == 2) {
        res.reason = omrt::Reason::dns_refused;
    } else if (rank == 1) {
        res.reason = omrt::Reason::dns_servfail;
    } else if (!q.note_.empty()) {
        res.reason = omrt::Reason::dns_bad_reply;
        res.server = asked;
        parts.insert(0, "; ");
        parts.insert(0, q.note_);
    } else if (q.sent_ == 0) {
        res.reason = omrt::Reason::net_unreachable;
        res.server = join(servers_);
        parts = core::strprintf("the query could not be sent to %s", res.server.c_str());
    } else {
        res.reason = omrt::Reason::dns_timeout;
        res.server = asked;
        parts = core::strprintf("%s (%u %s sent)", parts.c_str(), q.sent_,
                                q.sent_ == 1 ? "query" : "queries");
    }
    res.message = std::move(parts);
    return res;
}

} // namespace dns
