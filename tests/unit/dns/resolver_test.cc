// The udns resolver on the real loop against a hand-made misbehaving server on loopback:
// every failure mode must end in the right reason code, quickly, without a crash; the
// name tracker on top must keep the last good answer through all of them.
#include "dns/names.h"
#include "dns/resolver.h"
#include "fake_server.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <unistd.h>

using namespace dns;
using namespace dnstest;
using omrt::Reason;

namespace {

struct Waiter {
    bool done = false;
    unsigned calls = 0;
    static void cb(void *ctx, Query &) noexcept
    {
        auto *w = static_cast<Waiter *>(ctx);
        w->done = true;
        w->calls++;
    }
};

struct ResolverTest : ::testing::Test {
    core::Loop loop;
    omrt::SystemClock clock;
    FakeDnsServer srv{loop};

    ResolverOptions opts(std::vector<ServerAddr> servers)
    {
        ResolverOptions o;
        o.label = "wan1";
        o.servers = std::move(servers);
        o.timeout_s = 1;
        o.tries = 1;
        return o;
    }
    // Runs one query to completion (bounded); checks it did not complete inside start().
    QueryResult resolve(Resolver &r, const char *name, QType t, double *took_s = nullptr)
    {
        Waiter w;
        Query q(&Waiter::cb, &w);
        double t0 = mono_s();
        r.start(q, name, t);
        EXPECT_FALSE(w.done) << "completed inside start()";
        EXPECT_TRUE(q.running());
        EXPECT_TRUE(run_until(
                loop, [&] { return w.done; }, 8.0))
                << name;
        EXPECT_EQ(w.calls, 1u);
        EXPECT_FALSE(q.running());
        if (took_s)
            *took_s = mono_s() - t0;
        return q.result();
    }
};

} // namespace

TEST_F(ResolverTest, AnswersARecordsWithServerRttAndTtl)
{
    ASSERT_TRUE(srv.ok());
    srv.v4 = {"198.51.100.10", "198.51.100.11"};
    Resolver r(loop, clock, opts({srv.addr()}));
    QueryResult res = resolve(r, "VPS.test", QType::A);
    EXPECT_EQ(res.reason, Reason::ok) << res.message;
    EXPECT_EQ(join(res.addrs), "198.51.100.10, 198.51.100.11");
    EXPECT_EQ(res.ttl_s, 30u);
    EXPECT_EQ(res.server, srv.addr().str());
    EXPECT_GE(res.rtt_us, 0);
    EXPECT_LT(res.rtt_us, 500000);
    EXPECT_EQ(res.sent, 1u);
    res = resolve(r, "vps.test", QType::AAAA);
    EXPECT_EQ(res.reason, Reason::ok);
    EXPECT_EQ(join(res.addrs), "2001:db8:100::10");
    EXPECT_EQ(r.stats().opens, 1u); // one socket for both
    EXPECT_EQ(r.stats().sent, 2u);
    EXPECT_EQ(srv.queries_a, 1u);
    EXPECT_EQ(srv.queries_aaaa, 1u);
}

TEST_F(ResolverTest, EveryMisbehaviourGivesItsReasonCode)
{
    ASSERT_TRUE(srv.ok());
    struct Case {
        Mode mode;
        Reason reason;
        const char *message; // substring
        double max_s;        // how long it may take (timeouts: ~1-2 s)
    } cases[] = {
            {Mode::garbage, Reason::dns_bad_reply, "garbled reply from 127.0.0.1:", 3},
            {Mode::short_garbage, Reason::dns_bad_reply, "garbled reply from", 3},
            {Mode::wrong_id, Reason::dns_bad_reply, "reply with a wrong query id from", 3},
            {Mode::other_question, Reason::dns_bad_reply, "reply to another question (evil.test)",
             3},
            {Mode::other_name, Reason::dns_bad_reply, "answer is for evil.test, not vps.test", 0.5},
            {Mode::truncated, Reason::dns_truncated, "truncated reply (TC, no TCP fallback) from",
             0.5},
            {Mode::servfail, Reason::dns_servfail, "SERVFAIL from 127.0.0.1:", 0.5},
            {Mode::refused, Reason::dns_refused, "REFUSED from 127.0.0.1:", 0.5},
            {Mode::formerr, Reason::dns_servfail, "FORMERR from", 0.5},
            {Mode::nxdomain, Reason::dns_nxdomain, "NXDOMAIN from 127.0.0.1:", 0.5},
            {Mode::nodata, Reason::dns_nodata, "no A record from 127.0.0.1:", 0.5},
            {Mode::cname_only, Reason::dns_nodata, "CNAME vps.test -> target.elsewhere", 0.5},
            {Mode::silent, Reason::dns_timeout, "no reply from 127.0.0.1:", 3},
    };
    Resolver r(loop, clock, opts({srv.addr()}));
    for (const Case &c : cases) {
        srv.mode = c.mode;
        double took;
        QueryResult res = resolve(r, "vps.test", QType::A, &took);
        EXPECT_EQ(res.reason, c.reason)
                << int(c.mode) << ": " << omrt::reason_name(res.reason) << " " << res.message;
        EXPECT_NE(res.message.find(c.message), std::string::npos)
                << int(c.mode) << ": " << res.message;
        EXPECT_LT(took, c.max_s) << int(c.mode);
        EXPECT_TRUE(res.addrs.empty());
        EXPECT_FALSE(res.server.empty()) << int(c.mode);
    }
    // And the resolver still works afterwards.
    srv.mode = Mode::ok;
    EXPECT_EQ(resolve(r, "vps.test", QType::A).reason, Reason::ok);
}

TEST_F(ResolverTest, OddButValidAnswers)
{
    ASSERT_TRUE(srv.ok());
    Resolver r(loop, clock, opts({srv.addr()}));
    srv.mode = Mode::huge_ttl;
    QueryResult res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::ok);
    EXPECT_EQ(res.ttl_s, 0x7fffffffu); // clamped by the tracker, not here
    srv.mode = Mode::msb_ttl;
    EXPECT_EQ(resolve(r, "vps.test", QType::A).ttl_s, 0u);
    srv.mode = Mode::zero_ttl;
    EXPECT_EQ(resolve(r, "vps.test", QType::AAAA).ttl_s, 0u);
    srv.mode = Mode::cname_chain;
    res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::ok);
    EXPECT_EQ(res.canonical, "target.test");
    srv.mode = Mode::bad_loopback; // validated by the tracker, reported as is here
    res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::ok);
    EXPECT_EQ(join(res.addrs), "127.0.0.1");
    srv.mode = Mode::slow;
    srv.delay_s = 0.3;
    res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::ok);
    EXPECT_GE(res.rtt_us, 300000);
    EXPECT_LT(res.rtt_us, 900000);
}

TEST_F(ResolverTest, FailsOverToTheNextServerAndNamesWhoAnswered)
{
    FakeDnsServer bad(loop, "127.0.0.2"), good(loop, "127.0.0.3");
    ASSERT_TRUE(bad.ok() && good.ok());
    Resolver r(loop, clock, opts({bad.addr(), good.addr()}));
    bad.mode = Mode::servfail;
    QueryResult res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::ok);
    EXPECT_EQ(res.server, good.addr().str());
    EXPECT_EQ(res.sent, 2u);
    bad.mode = Mode::silent; // udns waits 1 s per server while others remain
    double took;
    res = resolve(r, "vps.test", QType::A, &took);
    EXPECT_EQ(res.reason, Reason::ok);
    EXPECT_EQ(res.server, good.addr().str());
    EXPECT_LT(took, 2.5);
    good.mode = Mode::silent;
    res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::dns_timeout);
    EXPECT_EQ(res.server, bad.addr().str() + ", " + good.addr().str());
    EXPECT_NE(res.message.find("no reply from " + bad.addr().str() + "; no reply from " +
                               good.addr().str()),
              std::string::npos)
            << res.message;
    good.mode = Mode::refused;
    bad.mode = Mode::servfail;
    res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::dns_refused); // the most specific of the two
    EXPECT_NE(res.message.find("SERVFAIL from"), std::string::npos) << res.message;
}

TEST_F(ResolverTest, MixedIpv4AndIpv6ServersShareOneSocket)
{
    FakeDnsServer v6(loop, "::1"), v4(loop, "127.0.0.4");
    if (!v6.ok())
        GTEST_SKIP() << "no IPv6 loopback";
    ASSERT_TRUE(v4.ok());
    Resolver r(loop, clock, opts({v6.addr(), v4.addr()}));
    v6.mode = Mode::silent;
    QueryResult res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::ok) << res.message;
    EXPECT_EQ(res.server, v4.addr().str()); // through the v4-mapped path
    v6.mode = Mode::ok;
    v4.mode = Mode::servfail;
    Resolver r2(loop, clock, opts({v4.addr(), v6.addr()}));
    res = resolve(r2, "vps.test", QType::AAAA);
    EXPECT_EQ(res.reason, Reason::ok) << res.message;
    EXPECT_EQ(res.server, v6.addr().str());
}

TEST_F(ResolverTest, ImmediateFailuresAreDeliveredFromTheLoop)
{
    Resolver bad_name(loop, clock, opts({srv.addr()}));
    QueryResult res = resolve(bad_name, "no spaces allowed", QType::A);
    EXPECT_EQ(res.reason, Reason::config);

    char path[] = "/tmp/omrt-dns-resolv-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    {
        std::ofstream f(path);
        f << "search lan\n# no nameserver\n";
    }
    ResolverOptions o = opts({});
    o.resolv_conf = path;
    Resolver none(loop, clock, o);
    res = resolve(none, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::dns_no_servers);
    EXPECT_NE(res.message.find(path), std::string::npos) << res.message;

    o.resolv_conf = std::string(path) + ".missing";
    Resolver missing(loop, clock, o);
    EXPECT_EQ(resolve(missing, "vps.test", QType::A).reason, Reason::dns_no_servers);

    ServerAddr scoped;
    ASSERT_TRUE(parse_server("fe80::1%omrtnoif0", scoped, nullptr));
    Resolver noif(loop, clock, opts({scoped}));
    res = resolve(noif, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::dns_no_servers);
    EXPECT_NE(res.message.find("fe80::1%omrtnoif0: no interface omrtnoif0"), std::string::npos)
            << res.message;

    o = opts({srv.addr()});
    o.device = "omrt-nodev0";
    Resolver nodev(loop, clock, o);
    res = resolve(nodev, "vps.test", QType::A);
    if (getuid() == 0) {
        EXPECT_EQ(res.reason, Reason::no_device) << res.message;
        EXPECT_NE(res.message.find("omrt-nodev0"), std::string::npos);
    }
    unlink(path);
}

TEST_F(ResolverTest, ServersFromResolvConfFollowTheFile)
{
    // resolv.conf has no ports: this needs port 53 on a loopback address (root).
    if (getuid() != 0)
        GTEST_SKIP() << "needs root for port 53";
    char dir[] = "/tmp/omrt-dns-resolvd-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/resolv.conf";
    {
        std::ofstream f(path);
        f << "nameserver 127.0.0.66\n"; // nobody there
    }
    // A minimal answering server on the fixed port.
    core::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(53);
    inet_pton(AF_INET, "127.0.0.77", &sin.sin_addr);
    if (bind(fd.get(), reinterpret_cast<sockaddr *>(&sin), sizeof sin) < 0)
        GTEST_SKIP() << "port 53 on 127.0.0.77 not available";
    struct Answerer {
        int fd;
        static void cb(void *ctx, int) noexcept
        {
            int fd = static_cast<Answerer *>(ctx)->fd;
            uint8_t buf[512];
            sockaddr_storage from;
            socklen_t flen = sizeof from;
            ssize_t n =
                    recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &flen);
            dns::Header h;
            std::string qn;
            uint16_t qt, qc;
            if (n <= 0 || !dns::parse_header(buf, size_t(n), h) ||
                !dns::parse_question(buf, size_t(n), qn, qt, qc))
                return;
            Msg m;
            m.id = h.id;
            m.qname = qn;
            m.qtype = qt;
            Rr rr;
            rr.compress = true;
            rr.type = qt;
            rr.rdata = qt == dns::kTypeA ? rdata_a("198.51.100.77") : rdata_aaaa("2001:db8::77");
            m.an = {rr};
            Bytes b = build(m);
            sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr *>(&from), flen);
        }
    } ans{fd.get()};
    core::IoWatcher io(loop, &Answerer::cb, &ans);
    io.set(fd.get(), EV_READ);
    io.start();

    ResolverOptions o = opts({});
    o.resolv_conf = path;
    Resolver r(loop, clock, o);
    QueryResult res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::dns_timeout);
    EXPECT_EQ(res.server, "127.0.0.66");
    {
        std::ofstream f(path + ".tmp");
        f << "nameserver 127.0.0.77\n";
    }
    ASSERT_EQ(rename((path + ".tmp").c_str(), path.c_str()), 0);
    r.reload(); // else noticed within a second
    res = resolve(r, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::ok) << res.message;
    EXPECT_EQ(res.server, "127.0.0.77");
    EXPECT_EQ(r.stats().opens, 2u);
    // The same servers written again (netifd does that on every event): no new socket.
    {
        std::ofstream f(path + ".tmp");
        f << "# rewritten\nnameserver 127.0.0.77\n";
    }
    ASSERT_EQ(rename((path + ".tmp").c_str(), path.c_str()), 0);
    r.reload();
    EXPECT_EQ(resolve(r, "vps.test", QType::A).reason, Reason::ok);
    EXPECT_EQ(r.stats().opens, 2u);

    // netifd's per-interface file: only that interface's block is used.
    std::string autop = std::string(dir) + "/resolv.conf.auto";
    {
        std::ofstream f(autop);
        f << "# Interface wan1\nnameserver 127.0.0.66\n# Interface wan2\nnameserver 127.0.0.77\n";
    }
    ResolverOptions ao = opts({});
    ao.resolv_conf = autop;
    ao.resolv_iface = "wan2";
    Resolver per_wan(loop, clock, ao);
    res = resolve(per_wan, "vps.test", QType::AAAA);
    EXPECT_EQ(res.reason, Reason::ok) << res.message;
    EXPECT_EQ(res.server, "127.0.0.77");
    ao.resolv_iface = "wan3";
    Resolver no_block(loop, clock, ao);
    res = resolve(no_block, "vps.test", QType::A);
    EXPECT_EQ(res.reason, Reason::dns_no_servers);
    EXPECT_NE(res.message.find("no servers for interface wan3"), std::string::npos);
    unlink(autop.c_str());
    unlink(path.c_str());
    rmdir(dir);
}

TEST_F(ResolverTest, CancelAndDestroyAreSafeAndSilent)
{
    srv.mode = Mode::silent;
    Waiter w;
    {
        auto r = std::make_unique<Resolver>(loop, clock, opts({srv.addr()}));
        Query q(&Waiter::cb, &w);
        r->start(q, "vps.test", QType::A);
        q.cancel();
        q.cancel(); // idempotent
        EXPECT_FALSE(q.running());
        // A query dropped by its resolver's destruction just stops.
        Query q2(&Waiter::cb, &w);
        r->start(q2, "vps.test", QType::AAAA);
        Query q3(&Waiter::cb, &w);
        r->start(q3, "bad name", QType::A); // a pending synchronous failure
        r.reset();
        EXPECT_FALSE(q2.running());
        EXPECT_FALSE(q3.running());
        q2.cancel();
    }
    {
        Resolver r(loop, clock, opts({srv.addr()}));
        Query q(&Waiter::cb, &w);
        r.start(q, "vps.test", QType::A);
        // Destroyed while running: the destructor cancels.
        auto q4 = std::make_unique<Query>(&Waiter::cb, &w);
        r.start(*q4, "vps.test", QType::A);
        q4.reset();
        run_until(
                loop, [] { return false; }, 2.5); // past udns' timeout
        EXPECT_EQ(w.calls, 1u);                   // only q
    }
    EXPECT_EQ(w.calls, 1u);
}

TEST_F(ResolverTest, CallbacksMayRestartOrDestroyTheirQuery)
{
    Resolver r(loop, clock, opts({srv.addr()}));
    struct Again {
        Resolver *r;
        unsigned n = 0;
        static void cb(void *ctx, Query &q) noexcept
        {
            auto *a = static_cast<Again *>(ctx);
            if (++a->n < 3)
                a->r->start(q, "vps.test", QType::A); // from inside udns' dispatch
        }
    } again{&r};
    Query q(&Again::cb, &again);
    r.start(q, "vps.test", QType::A);
    EXPECT_TRUE(run_until(
            loop, [&] { return again.n == 3; }, 5));

    struct Suicide {
        std::unique_ptr<Query> q;
        bool done = false;
        static void cb(void *ctx, Query &) noexcept
        {
            auto *s = static_cast<Suicide *>(ctx);
            s->q.reset();
            s->done = true;
        }
    } s;
    s.q = std::make_unique<Query>(&Suicide::cb, &s);
    r.start(*s.q, "vps.test", QType::AAAA);
    EXPECT_TRUE(run_until(
            loop, [&] { return s.done; }, 5));
}

TEST_F(ResolverTest, ReconfigureResendsRunningQueries)
{
    FakeDnsServer dead(loop, "127.0.0.5");
    dead.mode = Mode::silent;
    ResolverOptions o = opts({dead.addr()});
    o.timeout_s = 3;
    Resolver r(loop, clock, o);
    Waiter w;
    Query q(&Waiter::cb, &w);
    double t0 = mono_s();
    r.start(q, "vps.test", QType::A);
    ASSERT_TRUE(run_until(
            loop, [&] { return dead.queries > 0; }, 2));
    r.reconfigure(opts({srv.addr()})); // e.g. netifd gave the WAN new servers
    ASSERT_TRUE(run_until(
            loop, [&] { return w.done; }, 5));
    EXPECT_EQ(q.result().reason, Reason::ok);
    EXPECT_EQ(q.result().server, srv.addr().str());
    EXPECT_LT(mono_s() - t0, 2.0); // did not wait for the dead server's timeout
    EXPECT_EQ(r.stats().opens, 2u);
}

namespace {

struct Counter final : NameListener {
    unsigned changed = 0, refreshed = 0;
    void on_name_changed(NameId, const NameStatus &, const AddrList &) override { changed++; }
    void on_name_refreshed(NameId, const NameStatus &) override { refreshed++; }
};

} // namespace

TEST_F(ResolverTest, TrackerKeepsTheLastGoodAnswerThroughEveryMisbehaviour)
{
    ASSERT_TRUE(srv.ok());
    Resolver r(loop, clock, opts({srv.addr()}));
    Counter l;
    NameOptions no;
    no.min_refresh_interval_s = 0;
    no.retry_jitter_pct = 0;
    no.hosts_path.clear();
    NameTracker t(loop, clock, l, no);
    std::string err;
    NameId id = t.watch("vps", "vps.test", r, Family::ipv4, &err);
    ASSERT_TRUE(run_until(
            loop, [&] { return l.refreshed == 1; }, 5));
    ASSERT_EQ(t.status(id)->reason, Reason::ok);
    struct Case {
        Mode mode;
        Reason reason;
    } cases[] = {
            {Mode::garbage, Reason::dns_bad_reply},
            {Mode::wrong_id, Reason::dns_bad_reply},
            {Mode::truncated, Reason::dns_truncated},
            {Mode::servfail, Reason::dns_servfail},
            {Mode::refused, Reason::dns_refused},
            {Mode::nxdomain, Reason::dns_nxdomain},
            {Mode::nodata, Reason::dns_nodata},
            {Mode::other_name, Reason::dns_bad_reply},
            {Mode::other_question, Reason::dns_bad_reply},
            {Mode::bad_loopback, Reason::dns_bad_address},
            {Mode::bad_zero, Reason::dns_bad_address},
            {Mode::cname_only, Reason::dns_nodata},
            {Mode::silent, Reason::dns_timeout},
    };
    for (const Case &c : cases) {
        srv.mode = c.mode;
        unsigned before = l.refreshed;
        t.refresh(id, "test");
        ASSERT_TRUE(run_until(
                loop, [&] { return l.refreshed > before; }, 5))
                << int(c.mode);
        const NameStatus *st = t.status(id);
        EXPECT_EQ(st->reason, c.reason) << int(c.mode) << ": " << st->message;
        EXPECT_EQ(join(st->addrs), "198.51.100.10") << int(c.mode);
        EXPECT_TRUE(st->stale) << int(c.mode);
    }
    EXPECT_EQ(l.changed, 1u); // the first answer only
    srv.mode = Mode::huge_ttl;
    unsigned before = l.refreshed;
    t.refresh(id, "test");
    ASSERT_TRUE(run_until(
            loop, [&] { return l.refreshed > before; }, 5));
    EXPECT_EQ(t.status(id)->ttl_s, 3600u);
    EXPECT_FALSE(t.status(id)->stale);
    srv.mode = Mode::zero_ttl;
    before = l.refreshed;
    t.refresh(id, "test");
    ASSERT_TRUE(run_until(
            loop, [&] { return l.refreshed > before; }, 5));
    EXPECT_EQ(t.status(id)->ttl_s, 5u);
    EXPECT_EQ(t.status(id)->server, srv.addr().str());
    EXPECT_GE(t.status(id)->rtt_us, 0);
}
