#include "api/tls.h"

#include "api/token.h"
#include "core/files.h"
#include "core/log.h"
#include "core/str.h"

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/version.h>
#include <mbedtls/x509.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include <cstring>

namespace api {

namespace {

struct Rng {
    // Declared in dependency order: the DRBG draws from the entropy context, so it is
    // freed first.
    MbedOwner<mbedtls_entropy_context, mbedtls_entropy_init, mbedtls_entropy_free> entropy;
    MbedOwner<mbedtls_ctr_drbg_context, mbedtls_ctr_drbg_init, mbedtls_ctr_drbg_free> drbg;
    bool seeded = false;
};

constexpr size_t kMaxCaFileBytes = 1024 * 1024; // a full CA bundle is ~200 KiB

constexpr uint32_t kDateFlags = MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE |
                                MBEDTLS_X509_BADCRL_EXPIRED | MBEDTLS_X509_BADCRL_FUTURE;

// The verify callback (mbedtls_ssl_set_verify), called once per certificate of the
// chain, root first, leaf (depth 0) last. A non-zero return aborts the handshake even
// under VERIFY_OPTIONAL; clearing *flags accepts the certificate.
int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) noexcept
{
    auto *vs = static_cast<VerifyState *>(ctx);
    if (depth == 0) {
        vs->cert_seen = true;
        vs->seen = pin_of_spki(crt->pk_raw.p, crt->pk_raw.len);
    }
    switch (vs->policy) {
    case CertPolicy::insecure:
        *flags = 0;
        return 0;
    case CertPolicy::pin:
        if (depth == 0 && !vs->have_pin && vs->first_use && vs->first_use_set) {
            if (!*vs->first_use_set) {
                *vs->first_use = vs->seen;
                *vs->first_use_set = true;
            }
            vs->have_pin = true;
            vs->expected = *vs->first_use;
        }
        if (depth == 0 && vs->have_pin && vs->seen != vs->expected) {
            vs->pin_mismatch = true;
            // Not X509_CERT_VERIFY_FAILED: VERIFY_OPTIONAL would turn that one into "go on".
            return MBEDTLS_ERR_X509_FATAL_ERROR;
        }
        *flags = 0;
        return 0;
    case CertPolicy::ca:
        // A router without RTC runs in 1970 until NTP syncs (STYLE.md §7): then the
        // dates say nothing, everything else (chain, name, usage) is still checked, and
        // the result says so (dates_ignored -> CheckResult::clock_unsynced).
        if (!vs->clock_plausible && (*flags & kDateFlags)) {
            *flags &= ~kDateFlags;
            vs->dates_ignored = true;
        }
        vs->flags |= *flags;
        return 0;
    }
    return MBEDTLS_ERR_X509_FATAL_ERROR;
}

// *err = <prefix><tls_error_text(ret)><suffix>, if |err|.
void set_tls_error(std::string *err, const char *prefix, int ret, const char *suffix = "")
{
    if (!err)
        return;
    *err = prefix;
    *err += tls_error_text(ret);
    *err += suffix;
}

} // namespace

mbedtls_ctr_drbg_context *tls_rng(std::string *err)
{
    static Rng rng;
    if (rng.seeded)
        return rng.drbg.get();
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
    // 3.x uses PSA inside TLS (1.3 key schedule, MBEDTLS_USE_PSA_CRYPTO).
    if (psa_crypto_init() != PSA_SUCCESS) {
        if (err)
            *err = "psa_crypto_init failed";
        return nullptr;
    }
#endif
    static const char pers[] = "omr-trackerd api";
    int ret =
            mbedtls_ctr_drbg_seed(rng.drbg.get(), mbedtls_entropy_func, rng.entropy.get(),
                                  reinterpret_cast<const unsigned char *>(pers), sizeof(pers) - 1);
    if (ret != 0) {
        set_tls_error(err, "cannot seed the TLS random generator: ", ret);
        return nullptr;
    }
    rng.seeded = true;
    return rng.drbg.get();
}

const char *cert_policy_name(CertPolicy p)
{
    switch (p) {
    case CertPolicy::insecure:
        return "insecure";
    case CertPolicy::pin:
        return "pin";
    case CertPolicy::ca:
        return "ca";
    }
    return "?";
}

bool cert_policy_from_name(std::string_view s, CertPolicy &out)
{
    for (CertPolicy p : {CertPolicy::insecure, CertPolicy::pin, CertPolicy::ca}) {
        if (s == cert_policy_name(p)) {
            out = p;
            return true;
        }
    }
    return false;
}

std::string tls_error_text(int ret)
{
    char buf[160] = "";
#if defined(MBEDTLS_ERROR_C) || defined(MBEDTLS_ERROR_STRERROR_DUMMY)
    mbedtls_strerror(ret, buf, sizeof(buf));
#endif
    if (ret < 0)
        return core::strprintf("-0x%04X %s", unsigned(-ret), buf);
    return core::strprintf("%d %s", ret, buf);
}

std::string x509_flags_text(uint32_t flags)
{
    static const struct {
        uint32_t flag;
        const char *text;
    } names[] = {
            {MBEDTLS_X509_BADCERT_EXPIRED, "expired"},
            {MBEDTLS_X509_BADCERT_FUTURE, "not yet valid"},
            {MBEDTLS_X509_BADCERT_NOT_TRUSTED, "not signed by a trusted CA"},
            {MBEDTLS_X509_BADCERT_CN_MISMATCH, "host name mismatch"},
            {MBEDTLS_X509_BADCERT_REVOKED, "revoked"},
            {MBEDTLS_X509_BADCERT_MISSING, "missing"},
            {MBEDTLS_X509_BADCERT_SKIP_VERIFY, "not verified"},
            {MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
                     MBEDTLS_X509_BADCERT_NS_CERT_TYPE,
             "key usage not allowed"},
            {MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
                     MBEDTLS_X509_BADCERT_BAD_KEY,
             "unacceptable algorithm or key"},
            {MBEDTLS_X509_BADCRL_EXPIRED | MBEDTLS_X509_BADCRL_FUTURE |
                     MBEDTLS_X509_BADCRL_NOT_TRUSTED | MBEDTLS_X509_BADCRL_BAD_MD |
                     MBEDTLS_X509_BADCRL_BAD_PK | MBEDTLS_X509_BADCRL_BAD_KEY,
             "CRL problem"},
            {MBEDTLS_X509_BADCERT_OTHER, "other problem"},
    };
    std::string s;
    uint32_t known = 0;
    for (const auto &n : names) {
        known |= n.flag;
        if (flags & n.flag) {
            if (!s.empty())
                s += ", ";
            s += n.text;
        }
    }
    if (flags & ~known)
        s += core::strprintf("%sflags 0x%x", s.empty() ? "" : ", ", flags & ~known);
    if (s.empty())
        s = "rejected";
    return s;
}

TlsStatus map_tls_result(int ret, const VerifyState *vs)
{
    TlsStatus st;
    if (ret >= 0)
        return st;
    switch (ret) {
    case MBEDTLS_ERR_SSL_WANT_READ:
        st.step = TlsStep::want_read;
        return st;
    case MBEDTLS_ERR_SSL_WANT_WRITE:
        st.step = TlsStep::want_write;
        return st;
#if defined(MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS)
    case MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS:
#endif
#if defined(MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS)
    case MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS:
#endif
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
    case MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET: // 3.x, TLS 1.3: read again
#endif
        st.step = TlsStep::retry;
        return st;
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
    case MBEDTLS_ERR_SSL_CONN_EOF:
    case MBEDTLS_ERR_NET_CONN_RESET:
        st.step = TlsStep::closed;
        return st;
    default:
        break;
    }
    st.step = TlsStep::failed;
    if (vs && vs->pin_mismatch) {
        st.reason = omrt::Reason::tls_pin_mismatch;
        st.detail = "public key ";
        st.detail += pin_to_string(vs->seen);
        st.detail += " is not the pinned ";
        st.detail += pin_to_string(vs->expected);
        return st;
    }
    switch (ret) {
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
        st.reason = omrt::Reason::tls_cert_invalid;
        st.detail = "certificate ";
        st.detail += x509_flags_text(vs ? vs->flags : 0);
        return st;
#if defined(MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE)
    case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE:
#endif
#if defined(MBEDTLS_ERR_SSL_BAD_CERTIFICATE)
    case MBEDTLS_ERR_SSL_BAD_CERTIFICATE:
#endif
        st.reason = omrt::Reason::tls_cert_invalid;
        set_tls_error(&st.detail, "unusable certificate (", ret, ")");
        return st;
#if defined(MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED)
    case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED:
        st.reason = omrt::Reason::tls_cert_invalid;
        st.detail = "no CA certificate to verify against";
        return st;
#endif
#if defined(MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME)
    case MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME:
        st.reason = omrt::Reason::tls_cert_invalid;
        st.detail = "no host name to verify the certificate against";
        return st;
#endif
    default:
        break;
    }
    // X.509 parse errors of the peer's certificate: -0x2080 .. -0x2FFF.
    if (ret <= -0x2080 && ret > MBEDTLS_ERR_X509_FATAL_ERROR) {
        st.reason = omrt::Reason::tls_cert_invalid;
        set_tls_error(&st.detail, "unparsable certificate (", ret, ")");
        return st;
    }
    st.reason = omrt::Reason::tls_handshake;
    st.detail = tls_error_text(ret);
    return st;
}

// ---------------------------------------------------------------------------

const mbedtls_ssl_session *SessionCache::find(std::string_view key) const
{
    for (const auto &e : entries_)
        if (e && e->key == key)
            return e->session.get();
    return nullptr;
}

bool SessionCache::save(std::string_view key, const mbedtls_ssl_context *ssl)
{
    drop(key);
    // An empty slot, else the oldest entry's, which goes.
    std::unique_ptr<Entry> *slot = &entries_[0];
    for (auto &e : entries_) {
        if (!e) {
            slot = &e;
            break;
        }
        if (e->stamp < (*slot)->stamp)
            slot = &e;
    }
    slot->reset();
    auto e = std::make_unique<Entry>();
    if (mbedtls_ssl_get_session(ssl, e->session.get()) != 0)
        return false;
    e->key.assign(key);
    e->stamp = ++counter_;
    *slot = std::move(e);
    return true;
}

void SessionCache::drop(std::string_view key)
{
    for (auto &e : entries_) {
        if (e && e->key == key) {
            e.reset();
            return;
        }
    }
}

void SessionCache::clear()
{
    for (auto &e : entries_)
        e.reset();
}

size_t SessionCache::size() const
{
    size_t n = 0;
    for (const auto &e : entries_)
        n += e != nullptr;
    return n;
}

// ---------------------------------------------------------------------------

TlsPolicy::TlsPolicy(const omrt::Clock &clock, PinStore *pins)
    : clock_(clock), pins_(pins ? pins : &own_pins_)
{}

bool TlsPolicy::setup(const TlsSettings &s, std::string *err)
{
    ready_ = false;
    sessions_.clear();
    conf_.reset();
    ca_.reset();
    settings_ = s;
    have_fixed_pin_ = false;
    first_use_set_ = false;
    if (s.policy == CertPolicy::pin && !s.pin.empty()) {
        if (!parse_pin(s.pin, fixed_pin_)) {
            if (err)
                *err = core::strprintf(
                        "bad pin '%s' (expected sha256:<64 hex> or sha256//<base64>)",
                        s.pin.c_str());
            return false;
        }
        have_fixed_pin_ = true;
    }
    mbedtls_ctr_drbg_context *rng = tls_rng(err);
    if (!rng)
        return false;
    mbedtls_ssl_config *c = conf_.get();
    int ret = mbedtls_ssl_config_defaults(c, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        set_tls_error(err, "mbedtls_ssl_config_defaults: ", ret);
        return false;
    }
    // TLS 1.2 at least; 1.3 where the library has it. The default cipher list keeps the
    // CBC suites the real VPS offers (ECDHE-RSA-AES*-SHA, reference §5.6).
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
    mbedtls_ssl_conf_min_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    mbedtls_ssl_conf_max_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_3);
#else
    mbedtls_ssl_conf_max_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
#else
    mbedtls_ssl_conf_min_version(c, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(c, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
    mbedtls_ssl_conf_rng(c, mbedtls_ctr_drbg_random, rng);
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_session_tickets(c, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) && MBEDTLS_VERSION_NUMBER >= 0x03060100
    // Since 3.6.1 a TLS 1.3 client throws tickets away unless asked to keep them;
    // mbedtls_ssl_read then reports each one (mapped to "retry").
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
            c, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
#endif
    if (s.policy == CertPolicy::ca) {
        if (s.ca_file.empty()) {
            if (err)
                *err = "policy ca needs a CA file";
            return false;
        }
        // Read here rather than with mbedtls_x509_crt_parse_file: no MBEDTLS_FS_IO needed.
        std::string pem;
        std::string rerr;
        if (!core::read_file(s.ca_file, pem, kMaxCaFileBytes, &rerr)) {
            if (err)
                *err = "cannot load CA file: " + std::move(rerr);
            return false;
        }
        // PEM parsing wants the terminating NUL counted in the length.
        ret = mbedtls_x509_crt_parse(
                ca_.get(), reinterpret_cast<const unsigned char *>(pem.c_str()), pem.size() + 1);
        // > 0: some certificates of a bundle did not parse; the others are usable.
        if (ret < 0 || ca_.get()->version == 0) {
            if (err) {
                *err = core::strprintf("cannot load CA file %s: ", s.ca_file.c_str());
                *err += ret < 0 ? tls_error_text(ret) : "no certificate in it";
            }
            return false;
        }
        mbedtls_ssl_conf_ca_chain(c, ca_.get(), nullptr);
        mbedtls_ssl_conf_authmode(c, MBEDTLS_SSL_VERIFY_REQUIRED);
    } else {
        // OPTIONAL, not NONE: the verify callback must run, to hash the key (pin) and to
        // tell a full handshake from a resumed one. It accepts whatever the policy
        // accepts, and aborts the handshake on a pin mismatch.
        mbedtls_ssl_conf_authmode(c, MBEDTLS_SSL_VERIFY_OPTIONAL);
    }
    ready_ = true;
    return true;
}

omrt::Reason TlsPolicy::prepare(mbedtls_ssl_context *ssl, VerifyState &vs, const std::string &sni,
                                std::string_view session_key, bool *offered, std::string *err)
{
    *offered = false;
    vs = VerifyState();
    vs.policy = settings_.policy;
    vs.clock_plausible = clock_.wall_us() >= kPlausibleWallS * omrt::kUsPerS;
    if (!ready_) {
        if (err)
            *err = "TLS policy not set up";
        return omrt::Reason::config;
    }
    if (settings_.policy == CertPolicy::pin) {
        if (have_fixed_pin_) {
            vs.have_pin = true;
            vs.expected = fixed_pin_;
        } else if (const Pin *p = pins_->find(settings_.name)) {
            vs.have_pin = true;
            vs.expected = *p;
        } else if (!pins_->usable()) {
            if (err)
                *err = core::strprintf("pin store unusable (%s): fix or delete it",
                                       pins_->problem().c_str());
            return omrt::Reason::config;
        } else {
            vs.first_use = &first_use_;
            vs.first_use_set = &first_use_set_;
        }
    }
    if (settings_.policy == CertPolicy::ca && sni.empty()) {
        if (err)
            *err = "policy ca needs a host name (tls_name) to check in the certificate";
        return omrt::Reason::config;
    }
    int ret = mbedtls_ssl_setup(ssl, conf_.get());
    if (ret == 0)
        // Always called, with NULL when there is no name: mbedTLS >= 3.6.3 refuses to
        // verify a certificate when set_hostname was never called.
        ret = mbedtls_ssl_set_hostname(ssl, sni.empty() ? nullptr : sni.c_str());
    if (ret != 0) {
        set_tls_error(err, "TLS setup: ", ret);
        return omrt::Reason::internal;
    }
    mbedtls_ssl_set_verify(ssl, verify_cb, &vs);
    if (settings_.resume_sessions) {
        if (const mbedtls_ssl_session *s = sessions_.find(session_key))
            *offered = mbedtls_ssl_set_session(ssl, s) == 0;
    }
    return omrt::Reason::ok;
}

void TlsPolicy::handshake_done(const VerifyState &vs)
{
    // A first-use handshake has have_pin set by the verify callback (first_use); the key
    // is stored once, by whichever handshake completes first.
    if (settings_.policy != CertPolicy::pin || !vs.first_use || !vs.cert_seen || vs.pin_mismatch ||
        pins_->find(settings_.name))
        return;
    std::string err;
    std::string pin = pin_to_string(vs.seen);
    if (pins_->remember(settings_.name, vs.seen, &err)) {
        LOGN("%s: trusting TLS public key %s on first use%s%s", settings_.name.c_str(), pin.c_str(),
             pins_->path().empty() ? "" : ", stored in ", pins_->path().c_str());
    } else {
        LOGW("%s: cannot store TLS public key %s: %s", settings_.name.c_str(), pin.c_str(),
             err.c_str());
    }
}

} // namespace api
