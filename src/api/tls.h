// mbedTLS for the API client: RAII owners, the certificate policies, the session cache
// and the one function that maps every mbedTLS return code (STYLE.md §4, §6, §11).
//
// Written against mbedTLS 2.28 (Debian 12) and 3.6 (OpenWrt); differences are guarded
// with MBEDTLS_VERSION_NUMBER and feature macros, and kept to a few lines in tls.cc.
//
// Ownership: the entropy source and CTR-DRBG are shared by the whole process (seeded on
// first use); one TlsPolicy (ssl_config, CA chain, session cache) per server and policy,
// shared by that server's ApiClients; one ssl_context per connection (conn.h).
#pragma once

#include "api/pins.h"
#include "omrt/clock.h"
#include "omrt/reason.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace api {

// Owner of one mbedTLS object with an init/free pair: init in the constructor (which
// cannot fail), free in the destructor; reset() frees and re-inits, so it is idempotent
// and leaves a valid empty object. Neither copyable nor movable: mbedTLS objects hold
// pointers into themselves and into each other.
template <class T, void (*Init)(T *), void (*Free)(T *)>
class MbedOwner {
public:
    MbedOwner() { Init(&v_); }
    ~MbedOwner() { Free(&v_); }
    MbedOwner(const MbedOwner &) = delete;
    MbedOwner &operator=(const MbedOwner &) = delete;
    void reset()
    {
        Free(&v_);
        Init(&v_);
    }
    T *get() { return &v_; }
    const T *get() const { return &v_; }

private:
    T v_;
};

using SslConfig = MbedOwner<mbedtls_ssl_config, mbedtls_ssl_config_init, mbedtls_ssl_config_free>;
using SslContext = MbedOwner<mbedtls_ssl_context, mbedtls_ssl_init, mbedtls_ssl_free>;
using SslSession =
        MbedOwner<mbedtls_ssl_session, mbedtls_ssl_session_init, mbedtls_ssl_session_free>;
using X509Crt = MbedOwner<mbedtls_x509_crt, mbedtls_x509_crt_init, mbedtls_x509_crt_free>;

// The process' random generator for TLS, seeded on the first call; nullptr (and |err|)
// if seeding failed (no entropy source).
mbedtls_ctr_drbg_context *tls_rng(std::string *err);

enum class CertPolicy : uint8_t {
    insecure, // any certificate, like the shell's `curl -k` (the default: VPSes are self-signed)
    pin,      // SHA-256 of the public key, trusted on first use, then enforced
    ca,       // chain to a CA file + the host name (tls_name) in the certificate
};
const char *cert_policy_name(CertPolicy p); // "insecure", "pin", "ca"
bool cert_policy_from_name(std::string_view s, CertPolicy &out);

// What the certificate check saw during one handshake; filled by the verify callback.
struct VerifyState {
    CertPolicy policy = CertPolicy::insecure;
    // ca: the wall clock looked set (year >= 2020) when the handshake started.
    bool clock_plausible = true;
    bool have_pin = false; // pin: a pin is known (configured or stored)
    Pin expected{};
    // pin, first use: the key the first handshake of this policy saw, shared by the
    // handshakes running at the same time, so they must all see that same key (a second
    // key during first use is a mismatch, never a second trust).
    Pin *first_use = nullptr;
    bool *first_use_set = nullptr;
    // Results.
    bool cert_seen = false; // false after the handshake = the session was resumed
    Pin seen{};             // key of the leaf certificate, when seen
    bool pin_mismatch = false;
    bool dates_ignored = false; // ca: validity dates skipped, clock not set
    uint32_t flags = 0;         // ca: X.509 flags left after our adjustments
};

enum class TlsStep : uint8_t {
    ok,         // done (>= 0: bytes for read/write)
    want_read,  // call again when the fd is readable
    want_write, // call again when the fd is writable
    retry,      // call again now (async operation, TLS 1.3 ticket received)
    closed,     // the peer closed (close_notify, EOF, reset)
    failed,     // fatal: |reason| and |detail| say why
};

struct TlsStatus {
    TlsStep step = TlsStep::ok;
    omrt::Reason reason =
            omrt::Reason::ok; // failed: tls_handshake, tls_cert_invalid, tls_pin_mismatch
    std::string detail;       // failed: what went wrong, for a message
};

// THE mapping of mbedTLS return codes (handshake, read, write, close_notify). |vs| may
// be null after the handshake. Pure: tested as a table.
TlsStatus map_tls_result(int ret, const VerifyState *vs);
// "-0x7780 SSL - A fatal alert message was received from our peer"
std::string tls_error_text(int ret);
// "expired, not trusted" from MBEDTLS_X509_BADCERT_* flags.
std::string x509_flags_text(uint32_t flags);

// Saved TLS sessions for resumption (session tickets or session IDs, whatever the server
// gave), keyed by server address, port and SNI. Small and bounded: the oldest entry goes.
class SessionCache {
public:
    static constexpr size_t kMaxEntries = 16;
    const mbedtls_ssl_session *find(std::string_view key) const;
    // Copies the session of the established connection |ssl|.
    bool save(std::string_view key, const mbedtls_ssl_context *ssl);
    void drop(std::string_view key);
    void clear();
    size_t size() const;

private:
    struct Entry {
        std::string key;
        SslSession session;
        uint64_t stamp = 0;
    };
    std::unique_ptr<Entry> entries_[kMaxEntries]; // empty slots are null; keys are unique
    uint64_t counter_ = 0;
};

struct TlsSettings {
    std::string name; // the server (UCI section), for logs and as the pin store key
    CertPolicy policy = CertPolicy::insecure;
    std::string ca_file; // ca: PEM file with the CA certificate(s)
    // pin: a fixed pin ("sha256:HEX" or curl's "sha256//BASE64"); empty: trust on first use.
    std::string pin;
    bool resume_sessions = true; // off only to measure the cost of full handshakes
};

class TlsPolicy {
public:
    // |pins| (may be null: then an in-memory store) must outlive the policy.
    TlsPolicy(const omrt::Clock &clock, PinStore *pins);
    ~TlsPolicy() = default;
    TlsPolicy(const TlsPolicy &) = delete;
    TlsPolicy &operator=(const TlsPolicy &) = delete;

    // (Re)builds the ssl_config: TLS 1.2 minimum (1.3 maximum where the library has it),
    // the policy's verification mode, the CA file. Clears the session cache. On failure
    // the policy is not ready and |err| says why (unreadable CA file, bad pin, no RNG).
    bool setup(const TlsSettings &s, std::string *err);
    bool ready() const { return ready_; }
    const TlsSettings &settings() const { return settings_; }

    // Binds a fresh |ssl| to this policy for one handshake with |sni| (empty: no SNI and,
    // except under `ca`, no name check): ssl_setup, hostname, verify callback writing
    // into |vs|, and the cached session for |session_key| if any (*offered). On failure
    // returns the reason (config: `ca` without a name, an unusable pin store; internal).
    omrt::Reason prepare(mbedtls_ssl_context *ssl, VerifyState &vs, const std::string &sni,
                         std::string_view session_key, bool *offered, std::string *err);
    // After a successful full handshake: stores a first-use pin.
    void handshake_done(const VerifyState &vs);

    SessionCache &sessions() { return sessions_; }
    PinStore &pins() { return *pins_; }

private:
    const omrt::Clock &clock_;
    PinStore own_pins_;
    PinStore *pins_;
    TlsSettings settings_;
    bool have_fixed_pin_ = false;
    Pin first_use_{}; // see VerifyState::first_use
    bool first_use_set_ = false;
    Pin fixed_pin_{};
    bool ready_ = false;
    // Declared before conf_: the config points to it, so it is freed after.
    X509Crt ca_;
    SslConfig conf_;
    SessionCache sessions_;
};

} // namespace api
