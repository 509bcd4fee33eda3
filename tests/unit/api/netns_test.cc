// Device binding (SO_BINDTODEVICE) and source addresses, run by netns_bind.sh inside a
// client namespace wired to a server namespace by two veth pairs:
//   right device -- server subnet (fakevps listens there)
//   wrong device -- another subnet, with a route to an address nobody answers
// Skips unless the script's environment is present.
#include "api/client.h"
#include "core/log.h"
#include "live_util.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

using api::CheckKind;
using api::CheckResult;
using omrt::Reason;

namespace {

std::string env(const char *name)
{
    const char *v = std::getenv(name);
    return v ? v : "";
}

struct ApiNetnsBind : ::testing::Test {
    core::Loop loop;
    omrt::SystemClock clock;
    api::TlsPolicy tls{clock, nullptr};

    void SetUp() override
    {
        core::log_init("test", core::LogSink::Stderr, LOG_INFO);
        if (env("OMRT_NETNS_RIGHT").empty())
            GTEST_SKIP() << "run by netns_bind.sh";
        api::TlsSettings s;
        s.name = "vps";
        ASSERT_TRUE(tls.setup(s, nullptr));
    }

    api::ApiConfig config(const std::string &host, const std::string &device)
    {
        api::ApiConfig c;
        c.name = "vps";
        c.target.host = host;
        c.target.port = uint16_t(std::atoi(env("OMRT_NETNS_PORT").c_str()));
        c.target.device = device;
        c.password = env("OMRT_NETNS_PASSWORD");
        c.timeouts.connect_ms = 1000;
        c.timeouts.handshake_ms = 2000;
        c.timeouts.response_ms = 2000;
        c.timeouts.total_ms = 5000;
        return c;
    }

    CheckResult check(const api::ApiConfig &cfg, CheckKind k = CheckKind::health)
    {
        api::ApiClient c(loop, clock, tls);
        c.configure(cfg);
        return apitest::run_check(loop, c, k);
    }
};

} // namespace

TEST_F(ApiNetnsBind, RightDeviceReachesTheServer)
{
    for (const std::string &host : {env("OMRT_NETNS_SERVER4"), env("OMRT_NETNS_SERVER6")}) {
        CheckResult r = check(config(host, env("OMRT_NETNS_RIGHT")), CheckKind::status);
        EXPECT_TRUE(r.ok) << host << ": " << r.message;
        r = check(config(host, env("OMRT_NETNS_RIGHT")), CheckKind::clienthost);
        EXPECT_TRUE(r.ok) << r.message;
        EXPECT_EQ(r.client_host, host == env("OMRT_NETNS_SERVER4") ? env("OMRT_NETNS_CLIENT4")
                                                                   : env("OMRT_NETNS_CLIENT6"));
    }
}

// Which of the two depends on the kernel's fallback for device-bound sockets without a
// route (IPv4 tries the destination as on-link and waits for ARP; IPv6 fails at once);
// either is a network reason, never an API one.
TEST_F(ApiNetnsBind, WrongDeviceIsUnreachable)
{
    for (const std::string &host : {env("OMRT_NETNS_SERVER4"), env("OMRT_NETNS_SERVER6")}) {
        CheckResult r = check(config(host, env("OMRT_NETNS_WRONG")));
        EXPECT_FALSE(r.ok) << host;
        EXPECT_TRUE(r.reason == Reason::net_unreachable || r.reason == Reason::tcp_timeout)
                << host << ": " << omrt::reason_name(r.reason) << ": " << r.message;
        EXPECT_NE(r.message.find("via " + env("OMRT_NETNS_WRONG")), std::string::npos) << r.message;
        std::printf("[   INFO   ] wrong device, %s: %s: %s\n", host.c_str(),
                    omrt::reason_name(r.reason), r.message.c_str());
    }
}

TEST_F(ApiNetnsBind, SilentPathIsTcpTimeout)
{
    CheckResult r = check(config(env("OMRT_NETNS_BLACKHOLE"), env("OMRT_NETNS_WRONG")));
    EXPECT_EQ(r.reason, Reason::tcp_timeout) << r.message;
    EXPECT_EQ(r.message.substr(0, 19), "TCP connect timeout") << r.message;
    EXPECT_GE(r.elapsed_us, 1000000);
    EXPECT_LT(r.elapsed_us, 3000000);
}

TEST_F(ApiNetnsBind, MissingDeviceAndForeignSourceAddress)
{
    CheckResult r = check(config(env("OMRT_NETNS_SERVER4"), "omrt-nodev0"));
    EXPECT_EQ(r.reason, Reason::no_device) << r.message;
    EXPECT_EQ(r.message, "cannot bind to device omrt-nodev0: No such device");

    api::ApiConfig cfg = config(env("OMRT_NETNS_SERVER4"), env("OMRT_NETNS_RIGHT"));
    cfg.target.source = env("OMRT_NETNS_CLIENT4");
    r = check(cfg);
    EXPECT_TRUE(r.ok) << r.message;
    cfg.target.source = "192.0.2.99"; // not configured here
    r = check(cfg);
    EXPECT_EQ(r.reason, Reason::no_address) << r.message;
    cfg.target.source = env("OMRT_NETNS_CLIENT6"); // wrong family
    r = check(cfg);
    EXPECT_EQ(r.reason, Reason::config) << r.message;
}
