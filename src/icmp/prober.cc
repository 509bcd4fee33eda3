#include "icmp/prober.h"

#include "core/files.h"
#include "core/str.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <sys/random.h>
#include <unistd.h>

namespace icmp {

namespace {

constexpr unsigned kMaxPacketsPerWakeup = 64; // then the loop runs others; level-triggered
constexpr unsigned kRecentSize = 128;
constexpr size_t kMinRxBuffer = 2048; // IPv6 errors quote up to 1280 - 48 bytes (RFC 4443)
// ICMP_FILTER of <linux/icmp.h> (a u32 mask of types 0..31 to drop). The header is not
// included: some versions pull in <linux/if.h>, which clashes with glibc's <net/if.h>.
constexpr int kIcmpFilter = 1;
constexpr const char *kPingGroupRange = "/proc/sys/net/ipv4/ping_group_range";

const char *errno_name(int e)
{
    switch (e) {
    case EACCES:
        return "EACCES";
    case EPERM:
        return "EPERM";
    case EAFNOSUPPORT:
        return "EAFNOSUPPORT";
    case EPROTONOSUPPORT:
        return "EPROTONOSUPPORT";
    case EMFILE:
        return "EMFILE";
    case ENFILE:
        return "ENFILE";
    case ENOBUFS:
        return "ENOBUFS";
    case ENOMEM:
        return "ENOMEM";
    case EINVAL:
        return "EINVAL";
    default:
        return nullptr;
    }
}

std::string errno_text(int e)
{
    const char *n = errno_name(e);
    return n ? std::string(n) : core::strprintf("errno %d", e);
}

// "1 0" from "1\t0\n"; empty if unreadable.
std::string read_ping_group_range()
{
    std::string text;
    if (!core::read_file(kPingGroupRange, text, 256, nullptr))
        return std::string();
    auto words = core::split_words(core::trim(text));
    std::string out;
    for (auto &w : words) {
        if (!out.empty())
            out += ' ';
        out += w;
    }
    return out;
}

// The gid of ours that ping_group_range admits (the kernel checks the egid and the
// supplementary groups, ping_init_sock()), or -1.
long admitted_gid(const std::string &range)
{
    auto words = core::split_words(range);
    uint64_t lo = 0, hi = 0;
    if (words.size() != 2 || !core::parse_u64(words[0], lo) || !core::parse_u64(words[1], hi))
        return -1;
    gid_t egid = getegid();
    if (egid >= lo && egid <= hi)
        return long(egid);
    gid_t groups[64];
    int n = getgroups(64, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] >= lo && groups[i] <= hi)
            return long(groups[i]);
    return -1;
}

std::string range_for_log(const std::string &range)
{
    auto words = core::split_words(range);
    if (words.size() == 2)
        return words[0] + "-" + words[1];
    return range.empty() ? std::string("?") : range;
}

int try_socket(int family, int type)
{
    int proto = family == AF_INET ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6);
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    return fd >= 0 ? fd : -errno;
}

// Distinct echo ids for the raw sockets of this process, starting at a random point so
// that two daemons (or a daemon and ping) rarely collide; collisions are harmless anyway
// because replies must also come from the probed address.
uint16_t next_raw_ident()
{
    static uint16_t base = 0;
    static unsigned n = 0;
    if (n == 0) {
        if (getrandom(&base, sizeof(base), GRND_NONBLOCK) != sizeof(base))
            base = uint16_t(getpid() * 2654435761u >> 16);
    }
    return uint16_t(base + 0x9e37u * n++);
}

// Same family and address bytes. Scope ids are left out: a reply on a device-bound
// socket carries the receiving ifindex even when the target was written without one.
bool same_address(const omrt::IpAddr &a, const omrt::IpAddr &b)
{
    return a.valid() && a.family == b.family && std::memcmp(a.bytes, b.bytes, a.size()) == 0;
}

omrt::IpAddr ip_from_bytes(int family, const uint8_t *bytes)
{
    omrt::IpAddr a;
    a.family = uint8_t(family);
    std::memcpy(a.bytes, bytes, family == AF_INET ? 4 : 16);
    return a;
}

// For logs: "-" for an invalid address.
std::string text(const omrt::IpAddr &a)
{
    return a.valid() ? a.str() : std::string("-");
}

bool setopt_int(int fd, int level, int name, int value, const char *what, std::string *err)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) == 0)
        return true;
    if (err)
        *err = core::strprintf("setsockopt(%s=%d): %s", what, value, strerror(errno));
    return false;
}

} // namespace

const char *mode_name(Mode m)
{
    switch (m) {
    case Mode::Auto:
        return "auto";
    case Mode::Dgram:
        return "dgram";
    case Mode::Raw:
        return "raw";
    }
    return "?";
}

const char *outcome_name(Outcome o)
{
    switch (o) {
    case Outcome::Reply:
        return "reply";
    case Outcome::Timeout:
        return "timeout";
    case Outcome::Unreachable:
        return "unreachable";
    case Outcome::SendError:
        return "send error";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------
// Socket choice

core::UniqueFd open_icmp_socket(int family, Mode requested, Mode &used, std::string &why)
{
    used = Mode::Auto;
    if (family != AF_INET && family != AF_INET6) {
        why = "address family is neither IPv4 nor IPv6";
        return core::UniqueFd();
    }
    std::string dgram_failure;
    if (requested != Mode::Raw) {
        int fd = try_socket(family, SOCK_DGRAM);
        if (fd >= 0) {
            used = Mode::Dgram;
            if (requested == Mode::Dgram) {
                why = "using datagram ping sockets (mode dgram configured)";
            } else {
                std::string range = read_ping_group_range();
                long gid = admitted_gid(range);
                if (gid >= 0)
                    why = core::strprintf(
                            "using datagram ping sockets (net.ipv4.ping_group_range %s "
                            "includes gid %ld)",
                            range_for_log(range).c_str(), gid);
                else
                    why = "using datagram ping sockets (the kernel allows them)";
            }
            return core::UniqueFd(fd);
        }
        const int e = -fd;
        if (e == EACCES) {
            std::string range = read_ping_group_range();
            dgram_failure = core::strprintf(
                    "ping sockets refused (EACCES): net.ipv4.ping_group_range is '%s' "
                    "(gid %u)",
                    range.empty() ? "?" : range.c_str(), unsigned(getegid()));
        } else {
            dgram_failure = core::strprintf("ping sockets unavailable (%s: %s)",
                                            errno_text(e).c_str(), strerror(e));
        }
        if (requested == Mode::Dgram) {
            why = dgram_failure + "; raw sockets not tried (mode dgram configured)";
            return core::UniqueFd();
        }
    }
    int fd = try_socket(family, SOCK_RAW);
    if (fd >= 0) {
        used = Mode::Raw;
        why = requested == Mode::Raw ? std::string("using raw sockets (mode raw configured)")
                                     : "using raw sockets: " + dgram_failure;
        return core::UniqueFd(fd);
    }
    const int e = -fd;
    std::string raw_failure =
            (e == EPERM || e == EACCES)
                    ? core::strprintf("raw sockets refused (%s): needs root or CAP_NET_RAW",
                                      errno_text(e).c_str())
                    : core::strprintf("raw sockets unavailable (%s: %s)", errno_text(e).c_str(),
                                      strerror(e));
    why = dgram_failure.empty() ? "no ICMP socket: " + raw_failure
                                : "no ICMP socket: " + dgram_failure + "; " + raw_failure;
    return core::UniqueFd();
}

// ---------------------------------------------------------------------------------------
// Prober

Prober::Prober(core::Loop &loop, const omrt::Clock &clock, ProbeListener &listener,
               unsigned max_in_flight)
    : clock_(clock), listener_(listener), io_(loop, core::member_int<Prober, &Prober::on_io>, this),
      timer_(loop, core::member<Prober, &Prober::on_timer>, this), recent_(kRecentSize),
      odd_log_(10 * omrt::kUsPerS), send_log_(10 * omrt::kUsPerS)
{
    unsigned cap = 16;
    while (cap < max_in_flight && cap < 4096)
        cap *= 2;
    slots_.resize(cap);
    mask_ = cap - 1;
    armed_deadline_us_ = INT64_MAX; // not armed
}

Prober::~Prober()
{
    io_.stop();
    timer_.stop();
}

bool Prober::open(const ProberOptions &opt, std::string *err)
{
    auto fail = [&](std::string msg) {
        if (err)
            *err = opt.name + ": " + msg;
        return false;
    };
    // Whatever happens, the old socket goes: its device or address is no longer wanted.
    io_.stop();
    fd_.reset();
    epoch_++;
    mode_ = Mode::Auto;
    mode_reason_.clear();
    opt_ = opt;
    family_ = opt.family == AF_INET6 ? Family::V6 : Family::V4;

    if (opt.family != AF_INET && opt.family != AF_INET6)
        return fail("address family must be IPv4 or IPv6");
    if (opt.payload_bytes > kMaxPayload)
        return fail(core::strprintf("payload of %zu bytes exceeds %zu", opt.payload_bytes,
                                    kMaxPayload));
    if (opt.tos < -1 || opt.tos > 255)
        return fail(core::strprintf("tos %d is not in 0..255", opt.tos));
    if (opt.ttl != -1 && (opt.ttl < 1 || opt.ttl > 255))
        return fail(core::strprintf("ttl %d is not in 1..255", opt.ttl));
    if (opt.device.size() >= IFNAMSIZ)
        return fail("device name '" + opt.device + "' is too long");
    if (opt.source.valid() && opt.source.family != opt.family)
        return fail("source address " + opt.source.str() + " is not of the probed family");

    Mode used;
    std::string why;
    core::UniqueFd fd = open_icmp_socket(opt.family, opt.mode, used, why);
    mode_reason_ = why;
    if (!fd)
        return fail(why);
    const int s = fd.get();
    const bool v4 = opt.family == AF_INET;
    std::string e;

    if (used == Mode::Raw) {
        // Wake only for echo replies and the errors that can concern an echo.
        if (v4) {
            uint32_t drop = ~uint32_t((1u << kV4EchoReply) | (1u << kV4DestUnreach) |
                                      (1u << kV4TimeExceeded) | (1u << kV4ParamProblem));
            if (setsockopt(s, SOL_RAW, kIcmpFilter, &drop, sizeof(drop)) < 0)
                return fail(core::strprintf("setsockopt(ICMP_FILTER): %s", strerror(errno)));
        } else {
            struct icmp6_filter f;
            ICMP6_FILTER_SETBLOCKALL(&f);
            ICMP6_FILTER_SETPASS(kV6EchoReply, &f);
            ICMP6_FILTER_SETPASS(kV6DestUnreach, &f);
            ICMP6_FILTER_SETPASS(kV6PacketTooBig, &f);
            ICMP6_FILTER_SETPASS(kV6TimeExceeded, &f);
            ICMP6_FILTER_SETPASS(kV6ParamProblem, &f);
            if (setsockopt(s, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) < 0)
                return fail(core::strprintf("setsockopt(ICMP6_FILTER): %s", strerror(errno)));
        }
    } else {
        // Errors about our requests come on the error queue of a ping socket; a raw socket
        // receives them as ordinary packets and needs no RECVERR (it would see them twice).
        if (!(v4 ? setopt_int(s, SOL_IP, IP_RECVERR, 1, "IP_RECVERR", &e)
                 : setopt_int(s, SOL_IPV6, IPV6_RECVERR, 1, "IPV6_RECVERR", &e)))
            return fail(e);
    }
    // TTL and TOS of replies, for status and tests (the raw IPv4 header carries them).
    if (v4 && used == Mode::Dgram) {
        if (!setopt_int(s, SOL_IP, IP_RECVTTL, 1, "IP_RECVTTL", &e) ||
            !setopt_int(s, SOL_IP, IP_RECVTOS, 1, "IP_RECVTOS", &e))
            return fail(e);
    } else if (!v4) {
        if (!setopt_int(s, SOL_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT", &e) ||
            !setopt_int(s, SOL_IPV6, IPV6_RECVTCLASS, 1, "IPV6_RECVTCLASS", &e))
            return fail(e);
    }
    if (opt.tos >= 0 && !(v4 ? setopt_int(s, SOL_IP, IP_TOS, opt.tos, "IP_TOS", &e)
                             : setopt_int(s, SOL_IPV6, IPV6_TCLASS, opt.tos, "IPV6_TCLASS", &e)))
        return fail(e);
    if (opt.ttl >= 0 &&
        !(v4 ? setopt_int(s, SOL_IP, IP_TTL, opt.ttl, "IP_TTL", &e)
             : setopt_int(s, SOL_IPV6, IPV6_UNICAST_HOPS, opt.ttl, "IPV6_UNICAST_HOPS", &e)))
        return fail(e);
    if (!opt.device.empty() && setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, opt.device.c_str(),
                                          socklen_t(opt.device.size() + 1)) < 0)
        return fail(core::strprintf("SO_BINDTODEVICE %s: %s", opt.device.c_str(), strerror(errno)));
    // A ping socket is bound even without a source address: binding port 0 makes the
    // kernel pick the echo id now (ping_get_port), which we must know to match replies.
    if (opt.source.valid() || used == Mode::Dgram) {
        omrt::IpAddr local = opt.source;
        local.family = uint8_t(opt.family); // the wildcard address when no source is set
        struct sockaddr_storage ss;
        const socklen_t len = local.to_sockaddr(ss);
        if (bind(s, reinterpret_cast<sockaddr *>(&ss), len) < 0)
            return fail(core::strprintf("bind to %s: %s", text(local).c_str(), strerror(errno)));
    }
    if (used == Mode::Dgram) {
        struct sockaddr_storage ss = {};
        socklen_t len = sizeof(ss);
        if (getsockname(s, reinterpret_cast<sockaddr *>(&ss), &len) < 0)
            return fail(core::strprintf("getsockname: %s", strerror(errno)));
        // The echo id is the socket's "port" (ping_v4_sendmsg: icmph.un.echo.id = inet_sport).
        ident_ = ss.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in &>(ss).sin_port)
                                         : ntohs(reinterpret_cast<sockaddr_in6 &>(ss).sin6_port);
    } else {
        ident_ = next_raw_ident();
    }

    tx_.assign(kIcmpHeaderLen + opt.payload_bytes, 0);
    build_echo_request(family_, ident_, 0, opt.payload_bytes, tx_.data(), tx_.size());
    rx_.resize(std::max(kMinRxBuffer, kIpv4MaxHeader + kIcmpHeaderLen + opt.payload_bytes));

    fd_ = std::move(fd);
    mode_ = used;
    io_.set(fd_.get(), EV_READ); // always re-set: the fd number may be the old one's
    io_.start();
    LOGI("%s: icmp socket open: %s; id %u%s%s%s%s", opt.name.c_str(), why.c_str(), unsigned(ident_),
         opt.device.empty() ? "" : ", device ", opt.device.c_str(),
         opt.source.valid() ? ", source " : "", opt.source.valid() ? opt.source.str().c_str() : "");
    return true;
}

void Prober::close()
{
    io_.stop();
    timer_.stop();
    armed_deadline_us_ = INT64_MAX;
    fd_.reset();
    epoch_++;
    for (auto &s : slots_)
        s.state = SlotState::Free;
    in_flight_ = 0;
}

uint64_t Prober::send(const struct sockaddr_storage &target, int64_t timeout_us, void *cookie)
{
    return send(omrt::IpAddr::from_sockaddr(reinterpret_cast<const sockaddr *>(&target)),
                timeout_us, cookie);
}

uint64_t Prober::send(const omrt::IpAddr &target, int64_t timeout_us, void *cookie)
{
    if (target.family != opt_.family || timeout_us <= 0)
        return 0;
    // Next sequence number whose slot is free: numbers still in flight are skipped.
    unsigned idx = 0;
    bool found = false;
    for (unsigned i = 0; i <= mask_; i++) {
        idx = next_seq_ & mask_;
        if (slots_[idx].state == SlotState::Free) {
            found = true;
            break;
        }
        next_seq_++;
    }
    if (!found)
        return 0;
    const uint16_t seq = next_seq_++;
    Slot &s = slots_[idx];
    s.probe_id = (++serial_ << 16) | seq;
    s.cookie = cookie;
    s.target = target;
    s.seq = seq;
    s.error = 0;
    in_flight_++;

    int err = 0;
    int64_t now;
    if (!fd_) {
        err = EBADF;
        now = clock_.mono_us();
    } else {
        set_echo_sequence(family_, seq, tx_.data(), tx_.size());
        now = clock_.mono_us();
        struct sockaddr_storage to;
        const socklen_t to_len = target.to_sockaddr(to);
        ssize_t n = sendto(fd_.get(), tx_.data(), tx_.size(), 0,
                           reinterpret_cast<const sockaddr *>(&to), to_len);
        if (n < 0)
            err = errno;
        else if (size_t(n) != tx_.size())
            err = EMSGSIZE;
    }
    s.sent_us = now;
    if (err) {
        // Reported from the loop, never from inside send() (STYLE.md §5).
        s.state = SlotState::Failed;
        s.error = err;
        s.deadline_us = now;
        counters_.send_errors++;
        unsigned more = 0;
        if (send_log_.allow(now, &more))
            LOGW("%s: echo to %s failed: %s%s", opt_.name.c_str(), text(target).c_str(),
                 strerror(err), more ? core::strprintf(" (%u more since)", more).c_str() : "");
        arm(now, now);
    } else {
        s.state = SlotState::InFlight;
        s.deadline_us = now + timeout_us;
        counters_.sent++;
        arm(s.deadline_us, now);
    }
    return s.probe_id;
}

bool Prober::cancel(uint64_t probe_id)
{
    Slot &s = slots_[(probe_id & 0xffff) & mask_];
    if (probe_id == 0 || s.state == SlotState::Free || s.probe_id != probe_id)
        return false;
    if (s.state == SlotState::InFlight) { // an answer after this is "late", not "unmatched"
        Recent &r = recent_[recent_head_];
        recent_head_ = (recent_head_ + 1) % kRecentSize;
        r.valid = true;
        r.seq = s.seq;
        r.target = s.target;
        r.how = Done::Expired;
    }
    s.state = SlotState::Free;
    in_flight_--;
    return true; // the timer may fire for nothing; rearm() then finds the next deadline
}

void Prober::arm(int64_t deadline_us, int64_t now)
{
    // armed_deadline_us_ stays set until on_timer() runs: a timer that expired in this
    // loop iteration is no longer active() but its callback is still pending, and
    // restarting it here would drop that callback and push the expired deadline back to
    // the new, later one (a probe would then time out late).
    if (armed_deadline_us_ != INT64_MAX && deadline_us >= armed_deadline_us_)
        return;
    armed_deadline_us_ = deadline_us;
    timer_.start(double(std::max<int64_t>(0, deadline_us - now)) / omrt::kUsPerS);
}

void Prober::rearm(int64_t now)
{
    timer_.stop();
    armed_deadline_us_ = INT64_MAX;
    if (in_flight_ == 0)
        return;
    int64_t earliest = INT64_MAX;
    for (const auto &s : slots_)
        if (s.state != SlotState::Free)
            earliest = std::min(earliest, s.deadline_us);
    // libev measures "after" from its cached loop time, which may be a little behind
    // mono_us(); 0.1 ms of slack keeps us from waking just before the deadline.
    if (earliest != INT64_MAX)
        arm(earliest + 100, now);
}

void Prober::on_timer()
{
    armed_deadline_us_ = INT64_MAX;
    const int64_t now = clock_.mono_us();
    for (unsigned i = 0; i < slots_.size(); i++) {
        Slot &s = slots_[i];
        if (s.state == SlotState::Failed) {
            ProbeResult r;
            r.outcome = Outcome::SendError;
            r.error = s.error;
            complete(i, r, false, Done::Expired);
        } else if (s.state == SlotState::InFlight && s.deadline_us <= now) {
            counters_.timeouts++;
            ProbeResult r;
            r.outcome = Outcome::Timeout;
            complete(i, r, true, Done::Expired);
        }
    }
    rearm(clock_.mono_us());
}

void Prober::complete(unsigned idx, ProbeResult &r, bool remember, Done how)
{
    Slot &s = slots_[idx];
    r.probe_id = s.probe_id;
    r.cookie = s.cookie;
    r.seq = s.seq;
    r.sent_us = s.sent_us;
    r.target = s.target;
    if (remember) {
        Recent &e = recent_[recent_head_];
        recent_head_ = (recent_head_ + 1) % kRecentSize;
        e.valid = true;
        e.seq = s.seq;
        e.target = s.target;
        e.how = how;
    }
    s.state = SlotState::Free;
    in_flight_--;
    listener_.on_probe_result(r); // may send, cancel, close or reopen
}

Prober::Recent *Prober::find_recent(uint16_t seq)
{
    for (unsigned i = 1; i <= kRecentSize; i++) { // newest first
        Recent &e = recent_[(recent_head_ + kRecentSize - i) % kRecentSize];
        if (e.valid && e.seq == seq)
            return &e;
    }
    return nullptr;
}

void Prober::log_odd(int64_t now, const char *fmt, ...)
{
    unsigned more = 0;
    if (!odd_log_.allow(now, &more) || !core::log_enabled(LOG_INFO))
        return;
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (more)
        LOGI("%s: %s (%u more odd packets since)", opt_.name.c_str(), buf, more);
    else
        LOGI("%s: %s", opt_.name.c_str(), buf);
}

void Prober::on_io(int)
{
    const unsigned epoch = epoch_;
    if (mode_ == Mode::Dgram) {
        drain(true, epoch);
        if (epoch != epoch_)
            return;
    }
    drain(false, epoch);
}

void Prober::drain(bool errqueue, unsigned epoch)
{
    alignas(struct cmsghdr) uint8_t control[512];
    for (unsigned i = 0; i < kMaxPacketsPerWakeup && epoch == epoch_; i++) {
        struct sockaddr_storage name = {};
        struct iovec iov = {rx_.data(), rx_.size()};
        struct msghdr msg = {};
        msg.msg_name = &name;
        msg.msg_namelen = sizeof(name);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t n = recvmsg(fd_.get(), &msg, errqueue ? MSG_ERRQUEUE : 0);
        const int64_t now = clock_.mono_us(); // the receive time of the RTT (STYLE.md §7)
        if (n < 0) {
            const int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK)
                return;
            if (e == EINTR)
                continue;
            // A ping socket with IP_RECVERR also latches the last ICMP error in sk_err and
            // returns it once from an ordinary recvmsg(); the error queue has the details.
            if (!errqueue && (e == EHOSTUNREACH || e == ENETUNREACH || e == ECONNREFUSED ||
                              e == EMSGSIZE || e == EPROTO || e == EACCES || e == EPERM ||
                              e == ETIMEDOUT || e == ENOPROTOOPT || e == EHOSTDOWN || e == ENONET))
                continue;
            counters_.rx_errors++;
            unsigned more = 0;
            if (send_log_.allow(now, &more))
                LOGW("%s: recvmsg%s: %s", opt_.name.c_str(), errqueue ? " (error queue)" : "",
                     strerror(e));
            return;
        }
        const omrt::IpAddr from = omrt::IpAddr::from_sockaddr(reinterpret_cast<sockaddr *>(&name));
        if (errqueue) {
            handle_errqueue(rx_.data(), size_t(n), from, msg, now);
            continue;
        }
        RxMeta meta;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            const size_t data_len = c->cmsg_len - CMSG_LEN(0);
            if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL && data_len >= sizeof(int)) {
                int v;
                std::memcpy(&v, CMSG_DATA(c), sizeof(v));
                meta.ttl = v;
            } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TOS && data_len >= 1) {
                meta.tos = *CMSG_DATA(c);
            } else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_HOPLIMIT &&
                       data_len >= sizeof(int)) {
                int v;
                std::memcpy(&v, CMSG_DATA(c), sizeof(v));
                meta.ttl = v;
            } else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_TCLASS &&
                       data_len >= sizeof(int)) {
                int v;
                std::memcpy(&v, CMSG_DATA(c), sizeof(v));
                meta.tos = v;
            }
        }
        handle_packet(rx_.data(), size_t(n), from, meta, (msg.msg_flags & MSG_TRUNC) != 0, now);
    }
}

void Prober::handle_packet(const uint8_t *buf, size_t len, const omrt::IpAddr &from,
                           const RxMeta &meta_in, bool truncated, int64_t now)
{
    if (truncated) { // larger than anything we sent could come back as
        counters_.malformed++;
        log_odd(now, "oversized packet from %s ignored", text(from).c_str());
        return;
    }
    const bool raw_v4 = mode_ == Mode::Raw && family_ == Family::V4;
    const Packet p = parse_packet(family_, raw_v4 ? Framing::Ipv4Header : Framing::IcmpOnly, raw_v4,
                                  buf, len);
    RxMeta meta = meta_in;
    if (p.ttl >= 0)
        meta.ttl = p.ttl;
    if (p.tos >= 0)
        meta.tos = p.tos;
    switch (p.kind) {
    case Kind::Malformed:
        counters_.malformed++;
        log_odd(now, "malformed packet from %s ignored: %s (%zu bytes)", text(from).c_str(),
                defect_name(p.defect), len);
        return;
    case Kind::Other:
        counters_.foreign++;
        return;
    case Kind::EchoReply:
        on_answer(p, from, omrt::IpAddr(), meta, 0, now);
        return;
    case Kind::Error:
        on_answer(p, from, ip_from_bytes(opt_.family, p.quoted_dst), meta, 0, now);
        return;
    }
}

void Prober::handle_errqueue(const uint8_t *buf, size_t len, const omrt::IpAddr &quoted_dst,
                             const struct msghdr &msg_in, int64_t now)
{
    struct msghdr msg = msg_in; // CMSG_NXTHDR wants a non-const header
    const struct sock_extended_err *ee = nullptr;
    size_t ee_len = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
            (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            ee_len = c->cmsg_len - CMSG_LEN(0);
            if (ee_len >= sizeof(*ee))
                ee = reinterpret_cast<const struct sock_extended_err *>(CMSG_DATA(c));
        }
    }
    if (!ee) {
        counters_.malformed++;
        log_odd(now, "error queue entry without extended error ignored");
        return;
    }
    if (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6) {
        // Local errors (e.g. EMSGSIZE) were also returned by sendto() and reported there.
        LOGD("%s: local error on the error queue: %s", opt_.name.c_str(),
             strerror(int(ee->ee_errno)));
        return;
    }
    Packet p = parse_quoted_echo(family_, buf, len);
    if (p.kind == Kind::Malformed) {
        counters_.malformed++;
        log_odd(now, "error queue entry about %s ignored: %s", text(quoted_dst).c_str(),
                defect_name(p.defect));
        return;
    }
    p.type = ee->ee_type;
    p.code = ee->ee_code;
    p.info = ee->ee_info;
    // The reporting router follows the extended error (SO_EE_OFFENDER), when the kernel
    // had one; otherwise its family is AF_UNSPEC.
    omrt::IpAddr offender;
    const size_t off_space = ee_len - sizeof(*ee);
    const auto *off = reinterpret_cast<const struct sockaddr *>(ee + 1);
    if (off_space >= sizeof(sockaddr_in6) ||
        (off_space >= sizeof(sockaddr_in) && off->sa_family == AF_INET))
        offender = omrt::IpAddr::from_sockaddr(off);
    on_answer(p, offender, quoted_dst, RxMeta(), int(ee->ee_errno), now);
}

// One echo reply (quoted_dst empty) or ICMP error (quoted_dst = the quoted destination),
// already validated; finds its probe.
void Prober::on_answer(const Packet &p, const omrt::IpAddr &from, const omrt::IpAddr &quoted_dst,
                       const RxMeta &meta, int err, int64_t now)
{
    const bool is_error = p.kind == Kind::Error;
    if (p.id != ident_) {
        counters_.foreign++;
        return;
    }
    // The probe's target must be where a reply came from, or where the datagram an error
    // quotes was going.
    const omrt::IpAddr &who = is_error ? quoted_dst : from;
    const unsigned idx = p.seq & mask_;
    Slot &s = slots_[idx];
    if (s.state == SlotState::InFlight && s.seq == p.seq) {
        if (!same_address(s.target, who)) {
            counters_.unmatched++;
            log_odd(now, "%s for seq %u %s %s, but it went to %s; ignored",
                    is_error ? "icmp error" : "echo reply", unsigned(p.seq),
                    is_error ? "quoting" : "from", text(who).c_str(), text(s.target).c_str());
            return;
        }
        // RFC 792 / RFC 4443 §4.2: the request's data comes back whole. A reply with more
        // or less is not an answer to this probe (a forged or mangled one): the probe
        // stays in flight for the genuine reply or its timeout.
        if (!is_error && p.icmp_len != kIcmpHeaderLen + opt_.payload_bytes) {
            counters_.malformed++;
            log_odd(now,
                    "echo reply for seq %u from %s carries %zu bytes of data, not %zu; ignored",
                    unsigned(p.seq), text(who).c_str(), p.icmp_len - kIcmpHeaderLen,
                    opt_.payload_bytes);
            return;
        }
        ProbeResult r;
        r.rtt_us = now - s.sent_us;
        r.from = from;
        if (is_error) {
            counters_.errors++;
            r.outcome = Outcome::Unreachable;
            r.icmp_type = p.type;
            r.icmp_code = p.code;
            r.icmp_info = p.info;
            r.error = err;
        } else {
            counters_.replies++;
            r.outcome = Outcome::Reply;
            r.reply_ttl = meta.ttl;
            r.reply_tos = meta.tos;
            r.reply_bytes = uint32_t(p.icmp_len);
        }
        complete(idx, r, true, Done::Answered);
        return;
    }
    Recent *e = find_recent(p.seq);
    if (e && same_address(e->target, who)) {
        if (e->how == Done::Expired) {
            counters_.late++;
            e->how = Done::Answered; // a second copy is a duplicate
            LOGD("%s: late %s for seq %u from %s", opt_.name.c_str(),
                 is_error ? "icmp error" : "echo reply", unsigned(p.seq), text(from).c_str());
        } else {
            counters_.duplicate++;
            log_odd(now, "duplicate %s for seq %u from %s", is_error ? "icmp error" : "echo reply",
                    unsigned(p.seq), text(from).c_str());
        }
        return;
    }
    counters_.unmatched++;
    log_odd(now, "%s with seq %u from %s matches no probe", is_error ? "icmp error" : "echo reply",
            unsigned(p.seq), text(from).c_str());
}

} // namespace icmp
