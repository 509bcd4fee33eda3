// One HTTPS connection to a VPS API, inside the libev loop: a non-blocking TCP connect
// bound to a WAN device, a TLS handshake driven through bio callbacks on our own fd, one
// HTTP/1.1 request/response at a time, and keep-alive reuse (STYLE.md §11).
//
// States:  closed -> connecting -> handshaking -> sending -> receiving -> idle | closed
//          idle -> sending (next request, same target) | closed (server closed, idle timeout)
// Each phase has its own deadline (connect, handshake, first response byte) under one
// absolute deadline for the whole exchange; which phase stalled decides the reason:
// connecting -> tcp_timeout, handshaking -> tls_handshake, after the handshake ->
// api_timeout (the API itself stalls).
// Completion is always reported from a 0 s timer, never from inside exchange() or from
// inside mbedtls_ssl_read/_write.
#pragma once

#include "api/http.h"
#include "api/tls.h"
#include "core/fd.h"
#include "core/loop.h"
#include "omrt/clock.h"
#include "omrt/reason.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace api {

struct Target {
    std::string host; // numeric IPv4 or IPv6 address (names are resolved by the caller)
    uint16_t port = 65500;
    std::string sni;    // TLS server name, also checked under `ca`; "" = none
    std::string device; // WAN device for SO_BINDTODEVICE; "" = let routing choose
    std::string source; // numeric source address to bind; "" = the kernel's choice
    std::string via;    // name in messages ("wan1"); "" = the device, or "default route"

    bool operator==(const Target &o) const
    {
        return host == o.host && port == o.port && sni == o.sni && device == o.device &&
               source == o.source;
    }
    bool operator!=(const Target &o) const { return !(*this == o); }
};

struct Timeouts {
    uint32_t connect_ms = 5000;   // SYN to established
    uint32_t handshake_ms = 5000; // TLS handshake
    uint32_t response_ms = 5000;  // request sent to the first response byte
    uint32_t total_ms = 10000;    // a whole check (ApiClient), all exchanges included
    // A kept-alive connection is closed after this long unused; 0 = never keep one.
    // Below uvicorn's 5 s keep-alive, so we close first and never race the server's close.
    uint32_t idle_ms = 4000;
};

struct ExchangeResult {
    omrt::Reason reason = omrt::Reason::pending; // ok: |response| holds a parsed response
    // Failure: what failed, where and how, e.g.
    // "TLS handshake timeout to 198.51.100.10:65500 via wan2".
    std::string message;
    HttpResponse response;
    bool reused = false;         // sent on a kept-alive connection
    bool resumed = false;        // new connection, TLS session resumed (no certificate sent)
    bool clock_unsynced = false; // `ca`: certificate dates not checked (wall clock not set)
    int64_t connect_us = 0;      // TCP connect time of a new connection
    int64_t handshake_us = 0;    // TLS handshake time of a new connection
};

// Counters since construction, for status and tests.
struct ConnCounters {
    uint64_t connects = 0;        // TCP connections opened
    uint64_t full_handshakes = 0; // handshakes where the server sent its certificate
    uint64_t resumed = 0;         // handshakes that resumed a saved session
    uint64_t reused = 0;          // requests sent on a kept-alive connection
    uint64_t retried = 0;         // requests repeated after a kept-alive connection closed
    uint64_t bytes_in = 0;        // TLS bytes received
    uint64_t bytes_out = 0;       // TLS bytes sent
};

// errno of a failed connect() -> reason: ECONNREFUSED tcp_refused; ENETUNREACH,
// EHOSTUNREACH (and other "no path" errors) net_unreachable; ETIMEDOUT tcp_timeout.
omrt::Reason reason_of_connect_errno(int err);

class Connection {
public:
    using Callback = void (*)(void *ctx) noexcept;

    // |tls| must outlive the connection.
    Connection(core::Loop &loop, const omrt::Clock &clock, TlsPolicy &tls);
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    // Sends |request| to |t| and reads one response into result(). A kept-alive
    // connection to the same target is reused; if the server closed it before answering,
    // the request is sent once more on a new connection. |deadline_us| (monotonic) bounds
    // the exchange on top of the phase timeouts of |to|. |cb| runs later from the loop,
    // never from inside exchange(); the Connection may be destroyed in it. Must not be
    // called while busy().
    void exchange(const Target &t, std::string request, const Timeouts &to,
                  omrt::MonoUs deadline_us, const HttpLimits &limits, Callback cb, void *ctx);
    bool busy() const { return busy_; }
    // Valid from the callback until the next exchange().
    const ExchangeResult &result() const { return result_; }
    ExchangeResult &result() { return result_; }

    // Closes the connection and cancels a running exchange (its callback never runs).
    // Idempotent; a kept-alive connection gets a close_notify first.
    void disconnect();
    // A kept-alive connection is open and idle.
    bool idle_open() const { return phase_ == Phase::idle; }
    const ConnCounters &counters() const { return counters_; }

    // For the bio trampolines only.
    int bio_send(const unsigned char *buf, size_t len);
    int bio_recv(unsigned char *buf, size_t len);

private:
    enum class Phase { closed, connecting, handshaking, sending, receiving, idle };

    void begin_connect();
    void on_connected();
    void do_handshake();
    void do_send();
    void do_recv();
    void do_idle_read();
    void on_peer_closed();
    void complete();
    void wipe_request();
    void fail(omrt::Reason r, std::string msg);
    // fail() with "<head> <where()><sep><detail>", plus ": <strerror>" of the bio's last
    // errno if |with_errno| and there is one.
    void fail_where(omrt::Reason r, const char *head, const char *sep, std::string_view detail = {},
                    bool with_errno = false);
    // A failed connect(): "connection refused to ...: <strerror>" or "cannot connect ...".
    void fail_connect(int err);
    // LOGD("<server>: <what> <where()><tail>").
    void debug_where(const char *what, const char *tail) const;
    // Sends the request again on a new connection; false if that was already done.
    bool retry_fresh();
    void close_socket(bool polite);
    // Arms timer_ for the current phase: |phase_ms| from now (0: none), capped by the
    // exchange's deadline.
    void arm_phase_timer(uint32_t phase_ms);
    void arm_timer_until(omrt::MonoUs until_us);
    void want(int events);
    std::string where() const; // "to 192.0.2.1:65500 via wan1"
    std::string session_key() const;

    void on_io(int events);
    void on_timer();
    void on_notify();

    const omrt::Clock &clock_;
    TlsPolicy &tls_;
    core::IoWatcher io_;
    core::Timer timer_;  // phase deadline, or the idle limit
    core::Timer notify_; // deferred completion (0 s)

    Phase phase_ = Phase::closed;
    bool busy_ = false;
    Target target_;
    Timeouts timeouts_;
    omrt::MonoUs deadline_us_ = 0;
    omrt::MonoUs phase_start_us_ = 0;
    omrt::MonoUs timer_deadline_us_ = 0; // when timer_ is really due (our clock, not libev's)
    std::string request_;
    size_t sent_ = 0;
    ResponseParser parser_;
    bool first_byte_ = false;
    bool retried_ = false;
    bool offered_session_ = false;
    bool session_saved_ = false;
    bool handshake_done_ = false;
    int bio_errno_ = 0;
    Callback cb_ = nullptr;
    void *cb_ctx_ = nullptr;
    ExchangeResult result_;
    ConnCounters counters_;
    VerifyState verify_;
    // Declared last: freed first, while the fd it writes to is still open.
    core::UniqueFd fd_;
    SslContext ssl_;
};

} // namespace api
