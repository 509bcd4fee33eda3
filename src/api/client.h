// The VPS API client (reference §5.6), one per (server, WAN device): health, token,
// status and clienthost checks over one kept-alive HTTPS connection, the bearer token
// cached (shared by the server's clients) until shortly before its expiry and renewed
// when the API rejects it.
//
// Results carry a stable reason and a message that says what failed, where and how:
//   "TLS handshake timeout (5000 ms) to 198.51.100.10:65500 via wan2"
//   "token refused by API (HTTP 400 Incorrect username or password) via wan1"
// The password and the token never appear in a message or a log line.
//
// Status codes of POST /token: 200 with a bearer token -> ok; 400 (wrong credentials),
// 401, 403 and 422 (FastAPI: a field missing or invalid, i.e. an empty username or
// password) -> api_auth_rejected, because retrying cannot help and the network is fine;
// anything else -> http_status. An unparsable 200 -> http_bad_response.
#pragma once

#include "api/conn.h"
#include "api/http.h"
#include "api/tls.h"
#include "core/loop.h"
#include "omrt/clock.h"
#include "omrt/reason.h"

#include <cstdint>
#include <string>

namespace api {

enum class CheckKind : uint8_t {
    health,     // GET / : HTTP 200 = the API answers (any body)
    token,      // POST /token : the credentials are accepted (always asks for a new token)
    status,     // GET /status with the bearer token (obtained or renewed as needed)
    clienthost, // GET /clienthost : the WAN's public address as the VPS sees it
};
const char *check_kind_name(CheckKind k); // "health", "token", "status", "clienthost"

struct CheckResult {
    CheckKind kind = CheckKind::health;
    bool ok = false;
    omrt::Reason reason = omrt::Reason::pending;
    int http_status = 0; // last HTTP status received, 0 if none
    std::string message; // one line, no secrets; says what, where, how
    int64_t elapsed_us = 0;
    bool resumed = false;        // a new connection resumed a TLS session
    bool reused = false;         // a request went over a kept-alive connection
    bool token_renewed = false;  // the cached token was rejected and replaced
    bool clock_unsynced = false; // `ca`: certificate dates not checked, wall clock not set
    unsigned requests = 0;       // HTTP requests made for this check
    std::string client_host;     // clienthost: the address, "::ffff:" stripped
};

// A bearer token and how long it may be used; one per server, shared by its clients.
struct SharedToken {
    std::string token;
    omrt::MonoUs usable_until_us = 0;
    void clear()
    {
        token.clear();
        usable_until_us = 0;
    }
};

struct ApiConfig {
    std::string name; // the server (UCI section), for logs
    Target target;
    std::string username = "openmptcprouter";
    std::string password;
    Timeouts timeouts;
    HttpLimits limits;
};

class ApiClient {
public:
    using Callback = void (*)(void *ctx, const CheckResult &r) noexcept;

    // |tls| (the server's policy) and |token| (may be null: a private one) must outlive
    // the client.
    ApiClient(core::Loop &loop, const omrt::Clock &clock, TlsPolicy &tls,
              SharedToken *token = nullptr);
    ~ApiClient() = default;
    ApiClient(const ApiClient &) = delete;
    ApiClient &operator=(const ApiClient &) = delete;

    // New settings. A changed target (address, port, SNI, device, source) closes the
    // connection and changed credentials drop the token; either cancels a running check
    // (its callback never runs). Other changes (timeouts, limits) apply from the next
    // request, so calling this with the same settings on every reload is harmless.
    void configure(const ApiConfig &cfg);
    const ApiConfig &config() const { return cfg_; }

    // Starts a check. |cb| runs later from the loop, never from inside check(); the
    // client may be destroyed in it. False (and no callback) if a check is running.
    bool check(CheckKind kind, Callback cb, void *ctx);
    bool busy() const { return step_ != Step::none; }
    // Stops a running check without calling back; the connection is closed.
    void cancel();
    // Closes the kept-alive connection, if any.
    void disconnect() { conn_.disconnect(); }
    // A kept-alive connection is open (idle, between checks).
    bool connected() const { return conn_.idle_open(); }

    bool has_token() const;
    void forget_token() { token_->clear(); }
    const ConnCounters &counters() const { return conn_.counters(); }

private:
    enum class Step : uint8_t { none, get_root, get_clienthost, post_token, get_status };

    void start(Step s);
    void on_exchange();
    void on_token_reply(const HttpResponse &r);
    void finish(omrt::Reason reason, std::string message);
    // "API answered HTTP 404 Not Found to GET <path> via wan1".
    void finish_status(const HttpResponse &r, const char *path);
    const char *via() const; // the device or name, "default route" without one
    std::string redact(std::string s) const;
    std::string status_text(const HttpResponse &r) const; // "HTTP 400 Incorrect username..."

    const omrt::Clock &clock_;
    TlsPolicy &tls_;
    SharedToken own_token_;
    SharedToken *token_;
    ApiConfig cfg_;
    Connection conn_;

    Step step_ = Step::none;
    CheckKind kind_ = CheckKind::health;
    Callback cb_ = nullptr;
    void *cb_ctx_ = nullptr;
    omrt::MonoUs started_us_ = 0;
    omrt::MonoUs deadline_us_ = 0;
    bool token_fresh_ = false; // the token in use was obtained during this check
    bool renewed_ = false;     // a rejected token was already replaced in this check
    std::string used_token_;   // the token sent with the last /status request
    CheckResult result_;
};

} // namespace api
