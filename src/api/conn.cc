#include "api/conn.h"

#include "core/defer.h"
#include "core/log.h"
#include "core/str.h"

#include <mbedtls/net_sockets.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace api {

namespace {

int bio_send_cb(void *ctx, const unsigned char *buf, size_t len) noexcept
{
    return static_cast<Connection *>(ctx)->bio_send(buf, len);
}

int bio_recv_cb(void *ctx, unsigned char *buf, size_t len) noexcept
{
    return static_cast<Connection *>(ctx)->bio_recv(buf, len);
}

// A numeric address (with an optional %scope for IPv6) and port; no DNS.
bool parse_addr(const std::string &host, uint16_t port, sockaddr_storage &sa, socklen_t &len)
{
    struct addrinfo hints = {};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *res = nullptr;
    char portbuf[8];
    std::snprintf(portbuf, sizeof(portbuf), "%u", unsigned(port));
    if (getaddrinfo(host.c_str(), portbuf, &hints, &res) != 0 || !res)
        return false;
    auto guard = core::defer([&] { freeaddrinfo(res); });
    if (res->ai_addrlen > sizeof(sa))
        return false;
    std::memcpy(&sa, res->ai_addr, res->ai_addrlen);
    len = socklen_t(res->ai_addrlen);
    return true;
}

} // namespace

omrt::Reason reason_of_connect_errno(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return omrt::Reason::tcp_refused;
    case ETIMEDOUT:
        return omrt::Reason::tcp_timeout;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
    case EADDRNOTAVAIL:
    case ENONET:
    case EACCES: // ICMP "administratively prohibited", a firewall
    case EPERM:
        return omrt::Reason::net_unreachable;
    default:
        return omrt::Reason::internal;
    }
}

Connection::Connection(core::Loop &loop, const omrt::Clock &clock, TlsPolicy &tls)
    : clock_(clock), tls_(tls), io_(loop, core::member_int<Connection, &Connection::on_io>, this),
      timer_(loop, core::member<Connection, &Connection::on_timer>, this),
      notify_(loop, core::member<Connection, &Connection::on_notify>, this)
{}

Connection::~Connection()
{
    disconnect();
}

std::string Connection::where() const
{
    const std::string &via = !target_.via.empty() ? target_.via : target_.device;
    std::string s = "to ";
    s += host_port(target_.host, target_.port);
    s += " via ";
    s += via.empty() ? "default route" : via.c_str();
    return s;
}

std::string Connection::session_key() const
{
    std::string s = host_port(target_.host, target_.port);
    s += '/';
    s += target_.sni;
    return s;
}

void Connection::fail_where(omrt::Reason r, const char *head, const char *sep,
                            std::string_view detail, bool with_errno)
{
    std::string m = head;
    m += ' ';
    m += where();
    m += sep;
    m += detail;
    if (with_errno && bio_errno_) {
        m += ": ";
        m += std::strerror(bio_errno_);
    }
    fail(r, std::move(m));
}

void Connection::fail_connect(int err)
{
    omrt::Reason r = reason_of_connect_errno(err);
    fail_where(r, r == omrt::Reason::tcp_refused ? "connection refused" : "cannot connect", ": ",
               std::strerror(err));
}

void Connection::debug_where(const char *what, const char *tail) const
{
    LOGD("%s: %s %s%s", tls_.settings().name.c_str(), what, where().c_str(), tail);
}

void Connection::exchange(const Target &t, std::string request, const Timeouts &to,
                          omrt::MonoUs deadline_us, const HttpLimits &limits, Callback cb,
                          void *ctx)
{
    assert(!busy_ && "Connection::exchange while busy");
    busy_ = true;
    cb_ = cb;
    cb_ctx_ = ctx;
    timeouts_ = to;
    deadline_us_ = deadline_us;
    request_ = std::move(request);
    sent_ = 0;
    parser_.set_limits(limits);
    parser_.reset();
    first_byte_ = false;
    retried_ = false;
    result_ = ExchangeResult();
    if (phase_ == Phase::idle && t == target_) {
        target_.via = t.via;
        timer_.stop();
        result_.reused = true;
        counters_.reused++;
        phase_ = Phase::sending;
        phase_start_us_ = clock_.mono_us();
        arm_phase_timer(timeouts_.response_ms);
        do_send();
        return;
    }
    close_socket(phase_ == Phase::idle);
    target_ = t;
    begin_connect();
}

void Connection::begin_connect()
{
    bio_errno_ = 0;
    handshake_done_ = false;
    session_saved_ = false;
    offered_session_ = false;
    sockaddr_storage sa;
    socklen_t salen = 0;
    if (!parse_addr(target_.host, target_.port, sa, salen))
        return fail(omrt::Reason::config,
                    core::strprintf("bad server address '%s'", target_.host.c_str()));
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0)
        return fail(omrt::Reason::internal,
                    core::strprintf("cannot create a socket: %s", std::strerror(errno)));
    fd_.reset(fd);
    if (!target_.device.empty() &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, target_.device.c_str(),
                   socklen_t(target_.device.size())) < 0) {
        int e = errno;
        return fail(e == ENODEV ? omrt::Reason::no_device : omrt::Reason::internal,
                    core::strprintf("cannot bind to device %s: %s", target_.device.c_str(),
                                    std::strerror(e)));
    }
    if (!target_.source.empty()) {
        sockaddr_storage src;
        socklen_t srclen = 0;
        if (!parse_addr(target_.source, 0, src, srclen) || src.ss_family != sa.ss_family)
            return fail(omrt::Reason::config,
                        core::strprintf("bad source address '%s' for %s", target_.source.c_str(),
                                        target_.host.c_str()));
        if (bind(fd, reinterpret_cast<sockaddr *>(&src), srclen) < 0) {
            int e = errno;
            return fail(e == EADDRNOTAVAIL ? omrt::Reason::no_address : omrt::Reason::internal,
                        core::strprintf("cannot bind to %s: %s", target_.source.c_str(),
                                        std::strerror(e)));
        }
    }
    // One request per write: Nagle would only delay the records after the first.
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    counters_.connects++;
    phase_ = Phase::connecting;
    phase_start_us_ = clock_.mono_us();
    arm_phase_timer(timeouts_.connect_ms);
    if (connect(fd, reinterpret_cast<sockaddr *>(&sa), salen) == 0)
        return on_connected();
    int e = errno;
    if (e != EINPROGRESS)
        return fail_connect(e);
    io_.set(fd, EV_WRITE);
    io_.start();
}

void Connection::on_connected()
{
    int64_t now = clock_.mono_us();
    result_.connect_us = now - phase_start_us_;
    std::string err;
    ssl_.reset();
    omrt::Reason r =
            tls_.prepare(ssl_.get(), verify_, target_.sni, session_key(), &offered_session_, &err);
    if (r != omrt::Reason::ok)
        return fail_where(r, "cannot start TLS", ": ", err);
    mbedtls_ssl_set_bio(ssl_.get(), this, bio_send_cb, bio_recv_cb, nullptr);
    phase_ = Phase::handshaking;
    phase_start_us_ = now;
    arm_phase_timer(timeouts_.handshake_ms);
    io_.set(fd_.get(), EV_READ);
    do_handshake();
}

void Connection::do_handshake()
{
    for (int i = 0; i < 8; i++) {
        int ret = mbedtls_ssl_handshake(ssl_.get());
        TlsStatus st = map_tls_result(ret, &verify_);
        switch (st.step) {
        case TlsStep::ok: {
            handshake_done_ = true;
            result_.handshake_us = clock_.mono_us() - phase_start_us_;
            result_.resumed = offered_session_ && !verify_.cert_seen;
            result_.clock_unsynced = verify_.dates_ignored;
            if (result_.resumed)
                counters_.resumed++;
            else
                counters_.full_handshakes++;
            if (!result_.resumed)
                tls_.handshake_done(verify_);
            LOGD("%s: TLS %s %s %s in %lld ms (%s)", tls_.settings().name.c_str(),
                 mbedtls_ssl_get_version(ssl_.get()), mbedtls_ssl_get_ciphersuite(ssl_.get()),
                 where().c_str(), static_cast<long long>(result_.handshake_us / 1000),
                 result_.resumed ? "resumed" : "full handshake");
            phase_ = Phase::sending;
            phase_start_us_ = clock_.mono_us();
            arm_phase_timer(timeouts_.response_ms);
            return do_send();
        }
        case TlsStep::want_read:
            return want(EV_READ);
        case TlsStep::want_write:
            return want(EV_WRITE);
        case TlsStep::retry:
            continue;
        case TlsStep::closed:
            if (offered_session_)
                tls_.sessions().drop(session_key());
            return fail_where(omrt::Reason::tls_handshake, "TLS handshake",
                              " failed: connection closed by the server", {}, true);
        case TlsStep::failed: {
            if (offered_session_)
                tls_.sessions().drop(session_key());
            bool hs = st.reason == omrt::Reason::tls_handshake;
            return fail_where(st.reason,
                              hs ? "TLS handshake"
                              : st.reason == omrt::Reason::tls_pin_mismatch
                                      ? "TLS public key changed"
                                      : "TLS certificate rejected",
                              hs ? " failed: " : ": ", st.detail, hs);
        }
        }
    }
    // Eight "again" in a row without progress: treat as a stall of the library.
    fail_where(omrt::Reason::tls_handshake, "TLS handshake", " made no progress");
}

void Connection::do_send()
{
    for (int i = 0; sent_ < request_.size() && i < 64; i++) {
        int ret = mbedtls_ssl_write(
                ssl_.get(), reinterpret_cast<const unsigned char *>(request_.data()) + sent_,
                request_.size() - sent_);
        TlsStatus st = map_tls_result(ret, nullptr);
        switch (st.step) {
        case TlsStep::ok:
            sent_ += size_t(ret);
            continue;
        case TlsStep::want_read:
            return want(EV_READ);
        case TlsStep::want_write:
            return want(EV_WRITE);
        case TlsStep::retry:
            continue;
        case TlsStep::closed:
            return on_peer_closed();
        case TlsStep::failed:
            if (result_.reused && retry_fresh())
                return;
            return fail_where(omrt::Reason::http_bad_response, "cannot send the request", ": ",
                              st.detail, true);
        }
    }
    if (sent_ < request_.size())
        return want(EV_WRITE);
    phase_ = Phase::receiving;
    want(EV_READ);
    // The fd may not become readable again if the library already holds a record.
    if (mbedtls_ssl_get_bytes_avail(ssl_.get()) > 0)
        do_recv();
}

void Connection::do_recv()
{
    unsigned char buf[4096];
    for (;;) {
        int ret = mbedtls_ssl_read(ssl_.get(), buf, sizeof(buf));
        if (ret == 0)
            return on_peer_closed(); // EOF without close_notify
        TlsStatus st = map_tls_result(ret, nullptr);
        switch (st.step) {
        case TlsStep::ok: {
            if (!first_byte_) {
                first_byte_ = true;
                arm_phase_timer(0); // from now on only the overall deadline
            }
            size_t used = 0;
            ResponseParser::Status ps =
                    parser_.feed(reinterpret_cast<const char *>(buf), size_t(ret), &used);
            if (ps == ResponseParser::Status::error)
                return fail_where(omrt::Reason::http_bad_response, "bad HTTP response", ": ",
                                  parser_.error());
            if (ps == ResponseParser::Status::done) {
                // Bytes after the response: the stream is out of step, never reuse it.
                if (used < size_t(ret) || mbedtls_ssl_get_bytes_avail(ssl_.get()) > 0)
                    parser_.response().keep_alive = false;
                return complete();
            }
            continue;
        }
        case TlsStep::want_read:
            return want(EV_READ);
        case TlsStep::want_write:
            return want(EV_WRITE);
        case TlsStep::retry:
            continue;
        case TlsStep::closed:
            return on_peer_closed();
        case TlsStep::failed:
            return fail_where(omrt::Reason::http_bad_response, "TLS error reading the response",
                              ": ", st.detail, true);
        }
    }
}

void Connection::on_peer_closed()
{
    // A kept-alive connection the server closed before answering: send again once.
    if (result_.reused && !parser_.started() && retry_fresh())
        return;
    if (parser_.finish_eof() == ResponseParser::Status::done)
        return complete();
    fail_where(omrt::Reason::http_bad_response, "bad HTTP response", ": ", parser_.error(), true);
}

bool Connection::retry_fresh()
{
    if (retried_)
        return false;
    debug_where("kept-alive connection", " closed by the server, reconnecting");
    retried_ = true;
    counters_.retried++;
    close_socket(false);
    result_.reused = false;
    sent_ = 0;
    parser_.reset();
    first_byte_ = false;
    begin_connect();
    return true;
}

void Connection::wipe_request()
{
    // It may hold the password or the token.
    std::fill(request_.begin(), request_.end(), '\0');
    request_.clear();
}

void Connection::complete()
{
    timer_.stop();
    wipe_request();
    result_.reason = omrt::Reason::ok;
    result_.response = std::move(parser_.response());
    if (!session_saved_ && tls_.settings().resume_sessions) {
        // After the first response, not right after the handshake: a TLS 1.3 server
        // sends its ticket after the handshake, with or before the first data.
        session_saved_ = tls_.sessions().save(session_key(), ssl_.get());
    }
    if (result_.response.keep_alive && timeouts_.idle_ms > 0) {
        phase_ = Phase::idle;
        want(EV_READ);
        arm_timer_until(clock_.mono_us() + int64_t(timeouts_.idle_ms) * 1000);
    } else {
        close_socket(true);
    }
    busy_ = false;
    notify_.start(0);
}

void Connection::fail(omrt::Reason r, std::string msg)
{
    close_socket(false);
    wipe_request();
    result_.reason = r;
    result_.message = std::move(msg);
    result_.response = HttpResponse();
    busy_ = false;
    notify_.start(0);
}

void Connection::do_idle_read()
{
    unsigned char buf[512];
    for (int i = 0; i < 8; i++) {
        int ret = mbedtls_ssl_read(ssl_.get(), buf, sizeof(buf));
        TlsStatus st = map_tls_result(ret, nullptr);
        if (st.step == TlsStep::want_read)
            return;
        if (st.step == TlsStep::retry)
            continue;
        break;
    }
    // Close (the usual: the server's keep-alive timeout), unexpected data or an error.
    debug_where("idle connection", " closed");
    close_socket(false);
}

void Connection::close_socket(bool polite)
{
    io_.stop();
    timer_.stop();
    if (fd_.valid()) {
        if (polite && handshake_done_)
            (void)mbedtls_ssl_close_notify(ssl_.get()); // one try, non-blocking
        ssl_.reset();
        fd_.reset();
    }
    handshake_done_ = false;
    phase_ = Phase::closed;
}

void Connection::disconnect()
{
    close_socket(phase_ == Phase::idle);
    notify_.stop();
    busy_ = false;
}

void Connection::arm_phase_timer(uint32_t phase_ms)
{
    int64_t until = deadline_us_;
    int64_t now = clock_.mono_us();
    if (phase_ms > 0 && now + int64_t(phase_ms) * 1000 < until)
        until = now + int64_t(phase_ms) * 1000;
    arm_timer_until(until);
}

void Connection::arm_timer_until(omrt::MonoUs until_us)
{
    timer_deadline_us_ = until_us;
    int64_t now = clock_.mono_us();
    timer_.start(until_us > now ? double(until_us - now) / 1e6 : 0.0);
}

void Connection::want(int events)
{
    io_.modify(events);
    io_.start();
}

int Connection::bio_send(const unsigned char *buf, size_t len)
{
    if (len > INT_MAX)
        len = INT_MAX;
    for (;;) {
        ssize_t n = ::send(fd_.get(), buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            counters_.bytes_out += uint64_t(n);
            return int(n);
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        bio_errno_ = e;
        return (e == EPIPE || e == ECONNRESET) ? MBEDTLS_ERR_NET_CONN_RESET
                                               : MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

int Connection::bio_recv(unsigned char *buf, size_t len)
{
    if (len > INT_MAX)
        len = INT_MAX;
    for (;;) {
        ssize_t n = ::recv(fd_.get(), buf, len, 0);
        if (n >= 0) {
            counters_.bytes_in += uint64_t(n);
            return int(n); // 0: EOF, which mbedTLS reports as CONN_EOF
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_READ;
        bio_errno_ = e;
        return e == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

void Connection::on_io(int events)
{
    switch (phase_) {
    case Phase::connecting: {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err == 0)
            return on_connected();
        return fail_connect(err);
    }
    case Phase::handshaking:
        return do_handshake();
    case Phase::sending:
        return do_send();
    case Phase::receiving:
        return do_recv();
    case Phase::idle:
        return do_idle_read();
    case Phase::closed:
        io_.stop();
        return;
    }
    (void)events;
}

void Connection::on_timer()
{
    // libev counts from the time it last looked at the clock, which is stale after a long
    // callback (or, in tests, a blocking setup): a timer may fire early. Only our own
    // clock decides; early means "wait the rest".
    int64_t now = clock_.mono_us();
    if (now < timer_deadline_us_ - 1000) {
        timer_.start(double(timer_deadline_us_ - now) / 1e6);
        return;
    }
    uint32_t took_ms = uint32_t((now - phase_start_us_) / 1000);
    omrt::Reason r = omrt::Reason::api_timeout;
    const char *fmt; // each takes took_ms; where() follows
    switch (phase_) {
    case Phase::connecting:
        r = omrt::Reason::tcp_timeout;
        fmt = "TCP connect timeout (%u ms)";
        break;
    case Phase::handshaking:
        if (offered_session_)
            tls_.sessions().drop(session_key());
        r = omrt::Reason::tls_handshake;
        fmt = "TLS handshake timeout (%u ms)";
        break;
    case Phase::sending:
    case Phase::receiving:
        fmt = first_byte_ ? "API response incomplete after %u ms"
                          : "no answer from the API within %u ms";
        break;
    case Phase::idle:
        debug_where("closing idle connection", "");
        return close_socket(true);
    default: // closed
        return;
    }
    char head[64];
    std::snprintf(head, sizeof(head), fmt, took_ms);
    fail_where(r, head, "");
}

void Connection::on_notify()
{
    Callback cb = cb_;
    cb_ = nullptr;
    if (cb)
        cb(cb_ctx_); // may destroy *this: last statement
}

} // namespace api
