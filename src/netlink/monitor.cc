#include "netlink/monitor.h"

#include "core/str.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

namespace nl {

namespace {

constexpr unsigned kGroups[] = {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE};
// A dump interrupted this many times in a row is accepted as it is, without removing
// what it did not mention: under a constant storm the kernel's tables never hold still
// long enough, and the events keep the table right for what they cover.
constexpr unsigned kMaxPhaseRestarts = 8;
constexpr int64_t kMaxRetryUs = 30 * omrt::kUsPerS;

double to_seconds(int64_t us)
{
    return static_cast<double>(us) / 1e6;
}

const char *phase_name(int phase)
{
    static const char *const names[] = {"idle", "link", "address", "route"};
    return names[phase];
}

// SO_RCVBUFFORCE (CAP_NET_ADMIN) may exceed net.core.rmem_max; SO_RCVBUF is capped by it.
void set_rcvbuf(int fd, int bytes)
{
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

int get_rcvbuf(int fd)
{
    int v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) < 0)
        return 0;
    return v;
}

void close_socket(mnl_socket *&s)
{
    if (s) {
        mnl_socket_close(s);
        s = nullptr;
    }
}

} // namespace

// Applies what the event socket says.
struct Monitor::EventSink final : Sink {
    explicit EventSink(Monitor &m) : m_(m) {}
    void on_link(const MsgInfo &, const LinkRecord &r) override { m_.table_.apply(r); }
    void on_addr(const MsgInfo &, const AddrRecord &r) override { m_.table_.apply(r); }
    void on_route(const MsgInfo &, const RouteRecord &r) override { m_.table_.apply(r); }
    void on_malformed(const MsgInfo &info, const char *why) override
    {
        m_.note_malformed(info, why, "");
    }
    Monitor &m_;
};

// Applies the replies to the dump request in progress and notes how it ended.
struct Monitor::DumpSink final : Sink {
    DumpSink(Monitor &m, uint32_t seq) : m_(m), seq_(seq) {}
    bool mine(const MsgInfo &info)
    {
        if (info.seq != seq_ || info.portid != m_.req_portid_ || !m_.awaiting_reply_) {
            ++m_.stats_.foreign;
            return false;
        }
        if (info.dump_intr())
            m_.dump_intr_ = true;
        return true;
    }
    void on_link(const MsgInfo &info, const LinkRecord &r) override
    {
        if (mine(info)) {
            m_.table_.apply(r);
            ++m_.dump_counts_[0];
        }
    }
    void on_addr(const MsgInfo &info, const AddrRecord &r) override
    {
        if (mine(info)) {
            m_.table_.apply(r);
            ++m_.dump_counts_[1];
        }
    }
    void on_route(const MsgInfo &info, const RouteRecord &r) override
    {
        if (mine(info)) {
            m_.table_.apply(r);
            ++m_.dump_counts_[2];
        }
    }
    void on_done(const MsgInfo &info, int error) override
    {
        if (mine(info)) {
            done_ = true;
            error_ = error;
        }
    }
    void on_error(const MsgInfo &info, int error) override
    {
        if (mine(info) && error < 0) {
            done_ = true;
            error_ = error;
        }
    }
    void on_malformed(const MsgInfo &info, const char *why) override
    {
        if (info.seq == seq_ && m_.awaiting_reply_)
            m_.dump_intr_ = true; // something of the dump is missing: do it again
        m_.note_malformed(info, why, "dump ");
    }
    Monitor &m_;
    uint32_t seq_;
    bool done_ = false;
    int error_ = 0;
};

void Monitor::note_malformed(const MsgInfo &info, const char *why, const char *what)
{
    ++stats_.malformed;
    unsigned more = 0;
    if (malformed_log_.allow(clock_.mono_us(), &more))
        LOGW("netlink: dropped a malformed %smessage (type %u): %s (%u more since)", what,
             info.type, why, more);
}

Monitor::Monitor(core::Loop &loop, const omrt::Clock &clock, const MonitorOptions &opts)
    : clock_(clock), opts_(opts),
      ev_io_(loop, core::member_int<Monitor, &Monitor::on_event_readable>, this),
      req_io_(loop, core::member_int<Monitor, &Monitor::on_dump_readable>, this),
      publish_timer_(loop, core::member<Monitor, &Monitor::on_publish_timer>, this),
      dump_timer_(loop, core::member<Monitor, &Monitor::on_dump_timer>, this),
      loss_log_(10 * omrt::kUsPerS), malformed_log_(60 * omrt::kUsPerS)
{}

Monitor::~Monitor()
{
    stop();
}

const MonitorStats &Monitor::stats() const
{
    stats_.rcvbuf_bytes = ev_sock_ ? get_rcvbuf(mnl_socket_get_fd(ev_sock_)) : 0;
    return stats_;
}

bool Monitor::start(std::string *err)
{
    if (running())
        return true;
    if (!buf_)
        buf_.reset(new uint64_t[kBufBytes / sizeof(uint64_t)]);

    auto fail = [&](const char *what) {
        int e = errno;
        if (err)
            *err = core::strprintf("netlink: %s: %s", what, std::strerror(e));
        stop();
        return false;
    };
    ev_sock_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!ev_sock_)
        return fail("event socket");
    if (mnl_socket_bind(ev_sock_, 0, MNL_SOCKET_AUTOPID) < 0)
        return fail("bind event socket");
    for (unsigned group : kGroups) {
        int g = static_cast<int>(group);
        if (mnl_socket_setsockopt(ev_sock_, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
            return fail("join rtnetlink group");
    }
    rcvbuf_bytes_ = opts_.rcvbuf_bytes;
    set_rcvbuf(mnl_socket_get_fd(ev_sock_), rcvbuf_bytes_);
    if (!open_request_socket(err)) {
        stop();
        return false;
    }
    ev_io_.set(mnl_socket_get_fd(ev_sock_), EV_READ);
    ev_io_.start();
    // Subscribed first, dumped second: nothing can fall between the two.
    start_dump_sequence();
    return true;
}

bool Monitor::open_request_socket(std::string *err)
{
    req_io_.stop();
    close_socket(req_sock_);
    req_sock_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!req_sock_ || mnl_socket_bind(req_sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        if (err)
            *err = core::strprintf("netlink: request socket: %s", std::strerror(e));
        close_socket(req_sock_);
        return false;
    }
    req_portid_ = mnl_socket_get_portid(req_sock_);
    req_io_.set(mnl_socket_get_fd(req_sock_), EV_READ);
    req_io_.start();
    return true;
}

void Monitor::stop()
{
    ev_io_.stop();
    req_io_.stop();
    publish_timer_.stop();
    dump_timer_.stop();
    close_socket(ev_sock_);
    close_socket(req_sock_);
    phase_ = Phase::Idle;
    awaiting_reply_ = false;
    dump_again_ = false;
    synced_ = false;
    announce_sync_ = false;
    table_.clear();
}

// ---------------------------------------------------------------------------
// Reading

ssize_t Monitor::receive(mnl_socket *sock, bool *foreign)
{
    struct sockaddr_nl addr;
    std::memset(&addr, 0, sizeof(addr));
    struct iovec iov = {buf_.get(), kBufBytes};
    struct msghdr msg;
    std::memset(&msg, 0, sizeof(msg));
    msg.msg_name = &addr;
    msg.msg_namelen = sizeof(addr);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg(mnl_socket_get_fd(sock), &msg, 0);
    if (n < 0)
        return -1;
    if (msg.msg_flags & MSG_TRUNC) {
        errno = EMSGSIZE;
        return -1;
    }
    // Any local process may send to our port; only the kernel (port 0) speaks for it.
    *foreign = msg.msg_namelen < sizeof(addr) || addr.nl_family != AF_NETLINK || addr.nl_pid != 0;
    return n;
}

void Monitor::on_event_readable(int)
{
    read_events(opts_.max_reads_per_wakeup);
    schedule_publish();
}

// Reads up to |limit| datagrams (0: until EAGAIN) from the event socket into the table.
void Monitor::read_events(unsigned limit)
{
    EventSink sink(*this);
    for (unsigned i = 0; (limit == 0 || i < limit) && ev_sock_; ++i) {
        bool foreign = false;
        ssize_t n = receive(ev_sock_, &foreign);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) {
                ++stats_.enobufs;
                handle_event_loss("receive buffer overrun (ENOBUFS)");
                continue;
            }
            if (errno == EMSGSIZE) {
                ++stats_.truncated;
                handle_event_loss("truncated datagram");
                continue;
            }
            unsigned more = 0;
            if (loss_log_.allow(clock_.mono_us(), &more))
                LOGE("netlink: event socket: %s (%u more since)", std::strerror(errno), more);
            break;
        }
        ++stats_.datagrams;
        if (foreign) {
            ++stats_.foreign;
            continue;
        }
        ParseStats ps = parse(buf_.get(), static_cast<size_t>(n), sink);
        stats_.messages += ps.messages;
        if (ps.framing_error) {
            ++stats_.truncated;
            handle_event_loss("badly framed datagram");
        }
    }
}

void Monitor::handle_event_loss(const char *what)
{
    grow_rcvbuf();
    unsigned more = 0;
    if (loss_log_.allow(clock_.mono_us(), &more))
        LOGW("netlink: lost notifications: %s; receive buffer now %d bytes, re-dumping "
             "(%u more since)",
             what, ev_sock_ ? get_rcvbuf(mnl_socket_get_fd(ev_sock_)) : 0, more);
    if (draining_) {
        // A dump request follows the drain; but the phases already done in this
        // sequence may have missed what was lost: one more sequence afterwards.
        if (phase_ != Phase::Links)
            dump_again_ = true;
        return;
    }
    start_dump_sequence();
}

void Monitor::grow_rcvbuf()
{
    if (!ev_sock_ || rcvbuf_bytes_ >= opts_.max_rcvbuf_bytes)
        return;
    rcvbuf_bytes_ =
            rcvbuf_bytes_ > opts_.max_rcvbuf_bytes / 2 ? opts_.max_rcvbuf_bytes : rcvbuf_bytes_ * 2;
    set_rcvbuf(mnl_socket_get_fd(ev_sock_), rcvbuf_bytes_);
}

void Monitor::on_dump_readable(int)
{
    for (unsigned i = 0; i < opts_.max_reads_per_wakeup && req_sock_; ++i) {
        bool foreign = false;
        ssize_t n = receive(req_sock_, &foreign);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            if (errno == EMSGSIZE || errno == ENOBUFS) {
                ++stats_.truncated;
                dump_intr_ = true; // part of this dump is lost: do it again at its end
                continue;
            }
            dump_failed("receive", errno);
            break;
        }
        ++stats_.datagrams;
        if (foreign) {
            ++stats_.foreign;
            continue;
        }
        DumpSink sink(*this, seq_);
        ParseStats ps = parse(buf_.get(), static_cast<size_t>(n), sink);
        stats_.messages += ps.messages;
        if (ps.framing_error && awaiting_reply_)
            dump_intr_ = true;
        if (!sink.done_) {
            if (awaiting_reply_)
                dump_timer_.start(to_seconds(opts_.dump_timeout_us)); // progress
            continue;
        }
        if (sink.error_ < 0)
            dump_failed("kernel reply", -sink.error_);
        else
            dump_phase_done();
    }
    schedule_publish();
}

// ---------------------------------------------------------------------------
// Dumps

void Monitor::request_dump()
{
    start_dump_sequence();
}

void Monitor::start_dump_sequence()
{
    if (!running())
        return;
    if (awaiting_reply_) {
        dump_again_ = true; // the kernel allows one dump per socket at a time
        return;
    }
    ++stats_.dumps_started;
    dump_again_ = false;
    phase_ = Phase::Links;
    phase_restarts_ = 0;
    std::fill(std::begin(dump_counts_), std::end(dump_counts_), 0u);
    send_dump_request();
}

void Monitor::send_dump_request()
{
    if (!req_sock_ && !open_request_socket(nullptr)) {
        dump_failed("request socket", errno);
        return;
    }
    alignas(4) char req[64];
    std::memset(req, 0, sizeof(req));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    if (++seq_ == 0)
        seq_ = 1;
    nlh->nlmsg_seq = seq_;
    DeviceTable::Kind kind = DeviceTable::Kind::Links;
    switch (phase_) {
    case Phase::Links:
        nlh->nlmsg_type = RTM_GETLINK;
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
        kind = DeviceTable::Kind::Links;
        break;
    case Phase::Addrs:
        nlh->nlmsg_type = RTM_GETADDR;
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifaddrmsg));
        kind = DeviceTable::Kind::Addrs;
        break;
    case Phase::Routes:
        nlh->nlmsg_type = RTM_GETROUTE;
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
        kind = DeviceTable::Kind::Routes;
        break;
    case Phase::Idle:
        return;
    }
    // Everything already queued on the event socket is older than the dump: apply it
    // before the new generation opens, so that the sweep can remove what such stale
    // events re-add after their correction was lost (ENOBUFS). Events read from now on
    // describe changes at or after the dump's start and count as fresh.
    draining_ = true;
    read_events(0);
    draining_ = false;
    schedule_publish();
    table_.dump_begin(kind);
    dump_intr_ = false;
    dump_counts_[static_cast<int>(kind)] = 0;
    // Family AF_UNSPEC (zeroed payload): every family in one dump.
    if (mnl_socket_sendto(req_sock_, nlh, nlh->nlmsg_len) < 0) {
        dump_failed("send", errno);
        return;
    }
    awaiting_reply_ = true;
    dump_timer_.start(to_seconds(opts_.dump_timeout_us));
}

void Monitor::dump_failed(const char *why, int error)
{
    ++stats_.dump_failures;
    ++consecutive_failures_;
    awaiting_reply_ = false;
    int64_t delay_us = opts_.dump_retry_us;
    for (unsigned i = 1; i < consecutive_failures_ && delay_us < kMaxRetryUs; ++i)
        delay_us *= 2;
    delay_us = std::min(delay_us, kMaxRetryUs);
    unsigned more = 0;
    if (loss_log_.allow(clock_.mono_us(), &more))
        LOGW("netlink: %s dump failed (%s: %s), retrying in %.1f s (%u more since)",
             phase_name(static_cast<int>(phase_)), why, std::strerror(error), to_seconds(delay_us),
             more);
    // A fresh socket: the kernel may still hold the old dump's state on this one.
    (void)open_request_socket(nullptr);
    dump_timer_.start(to_seconds(delay_us));
}

void Monitor::on_dump_timer()
{
    if (awaiting_reply_) {
        dump_failed("no reply", ETIMEDOUT);
        return;
    }
    if (phase_ == Phase::Idle)
        return;
    if (dump_again_)
        start_dump_sequence();
    else
        send_dump_request();
}

void Monitor::dump_phase_done()
{
    awaiting_reply_ = false;
    dump_timer_.stop();
    consecutive_failures_ = 0;
    const auto kind = static_cast<DeviceTable::Kind>(static_cast<int>(phase_) - 1);
    if (dump_intr_) {
        ++stats_.dump_restarts;
        if (++phase_restarts_ <= kMaxPhaseRestarts) {
            LOGD("netlink: %s dump interrupted (tables changed), restarting",
                 phase_name(static_cast<int>(phase_)));
            send_dump_request();
            return;
        }
        LOGD("netlink: %s dump interrupted %u times, keeping it without sweeping",
             phase_name(static_cast<int>(phase_)), phase_restarts_ - 1);
    } else {
        table_.dump_end(kind);
    }
    phase_restarts_ = 0;
    switch (phase_) {
    case Phase::Links:
        phase_ = Phase::Addrs;
        send_dump_request();
        return;
    case Phase::Addrs:
        phase_ = Phase::Routes;
        send_dump_request();
        return;
    case Phase::Routes:
    case Phase::Idle:
        break;
    }
    phase_ = Phase::Idle;
    ++stats_.dumps_completed;
    const bool first = !synced_;
    synced_ = true;
    announce_sync_ = true;
    LOGI("netlink: %s found %u links, %u addresses, %u routes (%zu devices, %zu default "
         "route next hops kept)",
         first ? "initial dump" : "re-dump", dump_counts_[0], dump_counts_[1], dump_counts_[2],
         table_.device_count(), table_.default_routes().size());
    // A loss or a request while this sequence ran: one more, from the links. Finishing
    // the current one first guarantees progress however often that happens.
    if (dump_again_)
        start_dump_sequence();
}

// ---------------------------------------------------------------------------
// Publishing

void Monitor::schedule_publish()
{
    if (!synced_ || publish_timer_.active())
        return;
    if (!table_.has_changes() && !announce_sync_)
        return;
    const omrt::MonoUs now = clock_.mono_us();
    const omrt::MonoUs due = last_publish_us_ + opts_.publish_interval_us;
    publish_timer_.start(due > now ? to_seconds(due - now) : 0.0);
}

void Monitor::on_publish_timer()
{
    publish();
}

void Monitor::publish()
{
    last_publish_us_ = clock_.mono_us();
    ++stats_.publications;
    changes_.clear();
    table_.take_changes(changes_);
    if (announce_sync_) {
        announce_sync_ = false;
        for (LinkChange &c : changes_)
            c.what |= kSynced;
        for (const Registration &r : listeners_) {
            bool have = std::any_of(changes_.begin(), changes_.end(),
                                    [&r](const LinkChange &c) { return c.name == r.name; });
            if (have || !r.listener)
                continue;
            LinkChange &c = changes_.emplace_back();
            c.name = r.name;
            if (const DeviceState *s = table_.find(r.name))
                c.state = *s;
            c.ifindex = c.old_ifindex = c.state.present ? c.state.ifindex : 0;
            c.what = kSynced;
        }
    }
    ++dispatch_depth_;
    for (const LinkChange &c : changes_) {
        if (core::log_enabled(LOG_DEBUG))
            LOGD("netlink: %s: %s (ifindex %d, operstate %u, carrier %d, %s, %zu addresses, "
                 "gw4 %s %s, gw6 %s %s)",
                 c.name.c_str(), change_names(c.what).c_str(), c.ifindex, c.state.operstate,
                 c.state.carrier, c.state.usable ? "usable" : "not usable",
                 c.state.addresses.size(), gateway_source_name(c.state.gw4.source),
                 c.state.gw4.addr.str().c_str(), gateway_source_name(c.state.gw6.source),
                 c.state.gw6.addr.str().c_str());
        // By index: listeners may register or unregister from the callback.
        for (size_t i = 0; i < listeners_.size(); ++i) {
            LinkListener *l = listeners_[i].listener;
            if (!l || listeners_[i].name != c.name)
                continue;
            ++stats_.events;
            l->on_link_change(c);
        }
    }
    if (--dispatch_depth_ == 0) {
        listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                        [](const Registration &r) { return !r.listener; }),
                         listeners_.end());
    }
    changes_.clear();
}

// ---------------------------------------------------------------------------
// Listeners

void Monitor::add_listener(std::string_view name, LinkListener *listener)
{
    if (!listener)
        return;
    listeners_.push_back(Registration{std::string(name), listener});
}

void Monitor::remove_listener(std::string_view name, LinkListener *listener)
{
    remove_matching(&name, listener);
}

void Monitor::remove_listener(LinkListener *listener)
{
    remove_matching(nullptr, listener);
}

void Monitor::remove_matching(const std::string_view *name, LinkListener *listener)
{
    for (auto it = listeners_.begin(); it != listeners_.end();) {
        if (it->listener == listener && (!name || it->name == *name)) {
            if (dispatch_depth_) {
                it->listener = nullptr;
                ++it;
            } else {
                it = listeners_.erase(it);
            }
        } else {
            ++it;
        }
    }
}

} // namespace nl
