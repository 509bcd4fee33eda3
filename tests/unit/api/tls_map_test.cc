// The one mapping of mbedTLS return codes, as a table (STYLE.md §6, §11).
#include "api/client.h"
#include "api/conn.h"
#include "api/tls.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <mbedtls/net_sockets.h>

using api::TlsStep;
using omrt::Reason;

namespace {

struct Row {
    int ret;
    TlsStep step;
    Reason reason;
};

} // namespace

TEST(ApiTlsMap, Table)
{
    const Row rows[] = {
        {0, TlsStep::ok, Reason::ok},
        {517, TlsStep::ok, Reason::ok},
        {MBEDTLS_ERR_SSL_WANT_READ, TlsStep::want_read, Reason::ok},
        {MBEDTLS_ERR_SSL_WANT_WRITE, TlsStep::want_write, Reason::ok},
#if defined(MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS)
        {MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS, TlsStep::retry, Reason::ok},
#endif
#if defined(MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS)
        {MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS, TlsStep::retry, Reason::ok},
#endif
        {MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY, TlsStep::closed, Reason::ok},
        {MBEDTLS_ERR_SSL_CONN_EOF, TlsStep::closed, Reason::ok},
        {MBEDTLS_ERR_NET_CONN_RESET, TlsStep::closed, Reason::ok},
        {MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, TlsStep::failed, Reason::tls_cert_invalid},
#if defined(MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE)
        {MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE, TlsStep::failed, Reason::tls_cert_invalid},
#endif
#if defined(MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED)
        {MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED, TlsStep::failed, Reason::tls_cert_invalid},
#endif
        {MBEDTLS_ERR_X509_INVALID_FORMAT, TlsStep::failed, Reason::tls_cert_invalid},
        {MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, TlsStep::failed, Reason::tls_handshake},
        {MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE, TlsStep::failed, Reason::tls_handshake},
#if defined(MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION)
        {MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION, TlsStep::failed, Reason::tls_handshake},
#endif
        {MBEDTLS_ERR_SSL_INVALID_RECORD, TlsStep::failed, Reason::tls_handshake},
        {MBEDTLS_ERR_SSL_INVALID_MAC, TlsStep::failed, Reason::tls_handshake},
        {MBEDTLS_ERR_NET_SEND_FAILED, TlsStep::failed, Reason::tls_handshake},
        {MBEDTLS_ERR_NET_RECV_FAILED, TlsStep::failed, Reason::tls_handshake},
        {MBEDTLS_ERR_SSL_ALLOC_FAILED, TlsStep::failed, Reason::tls_handshake},
        {MBEDTLS_ERR_X509_FATAL_ERROR, TlsStep::failed, Reason::tls_handshake},
        {-1, TlsStep::failed, Reason::tls_handshake},
    };
    for (const Row &r : rows) {
        api::TlsStatus st = api::map_tls_result(r.ret, nullptr);
        EXPECT_EQ(st.step, r.step) << "ret " << r.ret;
        if (r.step == TlsStep::failed) {
            EXPECT_EQ(st.reason, r.reason) << "ret " << r.ret;
            EXPECT_FALSE(st.detail.empty()) << "ret " << r.ret;
        }
    }
}

TEST(ApiTlsMap, ErrorTextNamesCodeAndMeaning)
{
    api::TlsStatus st = api::map_tls_result(MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, nullptr);
    EXPECT_EQ(st.detail, "-0x7780 SSL - A fatal alert message was received from our peer");
}

TEST(ApiTlsMap, PinMismatchWinsOverTheCode)
{
    api::VerifyState vs;
    vs.policy = api::CertPolicy::pin;
    vs.pin_mismatch = true;
    vs.seen.fill(0x11);
    vs.expected.fill(0x22);
    api::TlsStatus st = api::map_tls_result(MBEDTLS_ERR_X509_FATAL_ERROR, &vs);
    EXPECT_EQ(st.step, TlsStep::failed);
    EXPECT_EQ(st.reason, Reason::tls_pin_mismatch);
    std::string ones, twos;
    for (int i = 0; i < 32; i++) {
        ones += "11";
        twos += "22";
    }
    EXPECT_EQ(st.detail, "public key sha256:" + ones + " is not the pinned sha256:" + twos);
    // Without the flag a fatal X.509 error is a plain handshake failure.
    vs.pin_mismatch = false;
    EXPECT_EQ(api::map_tls_result(MBEDTLS_ERR_X509_FATAL_ERROR, &vs).reason, Reason::tls_handshake);
}

TEST(ApiTlsMap, CertificateFlagsAreSpelledOut)
{
    api::VerifyState vs;
    vs.policy = api::CertPolicy::ca;
    vs.flags = MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_CN_MISMATCH;
    api::TlsStatus st = api::map_tls_result(MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, &vs);
    EXPECT_EQ(st.reason, Reason::tls_cert_invalid);
    EXPECT_EQ(st.detail, "certificate not signed by a trusted CA, host name mismatch");
    EXPECT_EQ(api::x509_flags_text(MBEDTLS_X509_BADCERT_EXPIRED), "expired");
    EXPECT_EQ(api::x509_flags_text(MBEDTLS_X509_BADCERT_FUTURE), "not yet valid");
    EXPECT_EQ(api::x509_flags_text(MBEDTLS_X509_BADCERT_EXT_KEY_USAGE), "key usage not allowed");
    EXPECT_EQ(api::x509_flags_text(0x40000000), "flags 0x40000000");
    EXPECT_EQ(api::x509_flags_text(0), "rejected");
}

TEST(ApiConnectErrno, Mapping)
{
    EXPECT_EQ(api::reason_of_connect_errno(ECONNREFUSED), Reason::tcp_refused);
    EXPECT_EQ(api::reason_of_connect_errno(ENETUNREACH), Reason::net_unreachable);
    EXPECT_EQ(api::reason_of_connect_errno(EHOSTUNREACH), Reason::net_unreachable);
    EXPECT_EQ(api::reason_of_connect_errno(EACCES), Reason::net_unreachable);
    EXPECT_EQ(api::reason_of_connect_errno(ETIMEDOUT), Reason::tcp_timeout);
    EXPECT_EQ(api::reason_of_connect_errno(EMFILE), Reason::internal);
}

TEST(ApiCertPolicy, RoundTrip)
{
    for (auto p : {api::CertPolicy::insecure, api::CertPolicy::pin, api::CertPolicy::ca}) {
        api::CertPolicy q;
        ASSERT_TRUE(api::cert_policy_from_name(api::cert_policy_name(p), q));
        EXPECT_EQ(p, q);
    }
    api::CertPolicy q;
    EXPECT_FALSE(api::cert_policy_from_name("strict", q));
}

TEST(ApiCheckKind, Names)
{
    EXPECT_STREQ(api::check_kind_name(api::CheckKind::health), "health");
    EXPECT_STREQ(api::check_kind_name(api::CheckKind::token), "token");
    EXPECT_STREQ(api::check_kind_name(api::CheckKind::status), "status");
    EXPECT_STREQ(api::check_kind_name(api::CheckKind::clienthost), "clienthost");
}
