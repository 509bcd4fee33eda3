// The name tracker's state machine, driven by a FakeClock and a fake backend whose
// queries the test completes by hand. The loop is never run: poll() is called instead.
#include "core/json.h"
#include "dns/names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace dns;
using omrt::Reason;

namespace {

IpAddr ip(const char *s)
{
    IpAddr a;
    EXPECT_TRUE(parse_ip(s, a)) << s;
    return a;
}

class FakeBackend final : public QueryBackend {
public:
    std::vector<Query *> running;
    std::string name = "wan1";
    unsigned started = 0;
    bool in_start = false;

    void start(Query &q, std::string_view n, QType t) override
    {
        q.cancel();
        q.attach(this, n, t);
        running.push_back(&q);
        started++;
    }
    void cancel(Query &q) override
    {
        running.erase(std::remove(running.begin(), running.end(), &q), running.end());
        q.detach();
    }
    const std::string &label() const override { return name; }

    bool has(QType t) const
    {
        for (Query *q : running)
            if (q->type() == t)
                return true;
        return false;
    }
    // Completes the running query of type |t|.
    void reply(QType t, QueryResult r)
    {
        for (Query *q : running)
            if (q->type() == t) {
                running.erase(std::find(running.begin(), running.end(), q));
                if (r.server.empty())
                    r.server = "192.0.2.53";
                q->finish(std::move(r));
                return;
            }
        ADD_FAILURE() << "no running " << qtype_name(t) << " query";
    }
    void answer(QType t, std::vector<const char *> addrs, uint32_t ttl = 60)
    {
        QueryResult r;
        r.reason = Reason::ok;
        r.ttl_s = ttl;
        r.rtt_us = 1500;
        for (const char *a : addrs)
            r.addrs.push_back(ip(a));
        reply(t, r);
    }
    void fail(QType t, Reason why, const char *msg = "no reply from 192.0.2.53")
    {
        QueryResult r;
        r.reason = why;
        r.message = msg;
        reply(t, r);
    }
};

struct Change {
    NameId id;
    AddrList old_addrs, new_addrs;
};

class Listener final : public NameListener {
public:
    std::vector<Change> changes;
    unsigned refreshed = 0;
    NameTracker *unwatch_in_callback = nullptr;
    void on_name_changed(NameId id, const NameStatus &st, const AddrList &old) override
    {
        changes.push_back(Change{id, old, st.addrs});
        if (unwatch_in_callback)
            unwatch_in_callback->unwatch(id);
    }
    void on_name_refreshed(NameId, const NameStatus &) override { refreshed++; }
};

struct NamesTest : ::testing::Test {
    core::Loop loop;
    omrt::FakeClock clock;
    Listener listener;
    FakeBackend wan1;
    NameOptions opts()
    {
        NameOptions o;
        o.retry_jitter_pct = 0;
        o.hosts_path.clear();
        return o;
    }
    NameTracker tracker{loop, clock, listener, opts()};

    void advance_s(double s) { clock.advance_us(int64_t(s * 1e6)); }
    // Watches vps.test for |fam| and completes the first resolution.
    NameId resolved(Family fam = Family::both, uint32_t ttl = 60)
    {
        std::string err;
        NameId id = tracker.watch("vps", "vps.test", wan1, fam, &err);
        EXPECT_NE(id, 0u) << err;
        tracker.poll();
        if (fam != Family::ipv6)
            wan1.answer(QType::A, {"198.51.100.10"}, ttl);
        if (fam != Family::ipv4)
            wan1.answer(QType::AAAA, {"2001:db8:100::10"}, ttl);
        return id;
    }
};

} // namespace

TEST_F(NamesTest, FirstResolutionIsNotifiedOnceAndNeverSynchronously)
{
    std::string err;
    NameId id = tracker.watch("vps", "VPS.test.", wan1, Family::both, &err);
    ASSERT_NE(id, 0u);
    EXPECT_EQ(wan1.started, 0u); // nothing from inside watch()
    EXPECT_TRUE(listener.changes.empty());
    EXPECT_EQ(tracker.next_due_us(), clock.mono_us());
    tracker.poll();
    EXPECT_TRUE(wan1.has(QType::A));
    EXPECT_TRUE(wan1.has(QType::AAAA));
    EXPECT_TRUE(tracker.status(id)->resolving);
    wan1.answer(QType::AAAA, {"2001:db8:100::10"}, 120);
    EXPECT_TRUE(listener.changes.empty()); // the round completes with both
    wan1.answer(QType::A, {"198.51.100.10", "198.51.100.12"}, 60);
    ASSERT_EQ(listener.changes.size(), 1u);
    EXPECT_TRUE(listener.changes[0].old_addrs.empty());
    EXPECT_EQ(join(listener.changes[0].new_addrs),
              "198.51.100.10, 198.51.100.12, 2001:db8:100::10"); // A then AAAA
    const NameStatus *st = tracker.status(id);
    EXPECT_EQ(st->name, "vps.test");
    EXPECT_EQ(st->context, "wan1");
    EXPECT_EQ(st->source, Source::dns);
    EXPECT_EQ(st->reason, Reason::ok);
    EXPECT_EQ(st->ttl_s, 60u); // the smaller of the two
    EXPECT_EQ(st->server, "192.0.2.53");
    EXPECT_EQ(st->rtt_us, 1500);
    EXPECT_FALSE(st->stale);
    EXPECT_FALSE(st->resolving);
    EXPECT_EQ(st->ttl_left_s(clock.mono_us()), 60);
    EXPECT_EQ(st->queries_a, 1u);
    EXPECT_EQ(st->queries_aaaa, 1u);
    EXPECT_EQ(listener.refreshed, 1u);
}

TEST_F(NamesTest, RefreshAtExpiryOnTheMonotonicClock)
{
    NameId id = resolved(Family::ipv4, 30);
    omrt::MonoUs t0 = clock.mono_us();
    EXPECT_EQ(tracker.next_due_us(), t0 + 30 * omrt::kUsPerS);
    clock.step_wall_us(-3600LL * omrt::kUsPerS); // an NTP step changes nothing
    advance_s(29.9);
    tracker.poll();
    EXPECT_FALSE(wan1.has(QType::A));
    advance_s(0.1);
    tracker.poll();
    ASSERT_TRUE(wan1.has(QType::A));
    wan1.answer(QType::A, {"198.51.100.10"}, 30);
    EXPECT_EQ(listener.changes.size(), 1u); // same answer: no change
    EXPECT_EQ(tracker.status(id)->queries_a, 2u);
    EXPECT_EQ(listener.refreshed, 2u);
}

TEST_F(NamesTest, TtlIsClampedToFloorAndCeiling)
{
    NameId id = resolved(Family::ipv4, 0);
    EXPECT_EQ(tracker.status(id)->record_ttl_s, 0u);
    EXPECT_EQ(tracker.status(id)->ttl_s, 5u);
    EXPECT_EQ(tracker.next_due_us(), clock.mono_us() + 5 * omrt::kUsPerS);
    advance_s(5);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.10"}, 0x7fffffff);
    EXPECT_EQ(tracker.status(id)->ttl_s, 3600u);
    EXPECT_EQ(tracker.next_due_us(), clock.mono_us() + 3600 * omrt::kUsPerS);
    NameOptions o = opts();
    o.ttl_floor_s = 1;
    o.ttl_ceiling_s = 10;
    tracker.set_options(o);
    advance_s(3600);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.10"}, 2);
    EXPECT_EQ(tracker.status(id)->ttl_s, 2u);
    o.ttl_floor_s = 0; // never a busy loop, whatever the configuration says
    tracker.set_options(o);
    advance_s(2);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.10"}, 0);
    EXPECT_EQ(tracker.status(id)->ttl_s, 1u);
}

TEST_F(NamesTest, ForcedRefreshIsRateLimited)
{
    NameId id = resolved(Family::ipv4, 300);
    omrt::MonoUs t0 = clock.mono_us();
    advance_s(0.5);
    tracker.refresh(id, "server check failed");
    EXPECT_EQ(wan1.started, 1u); // never from inside refresh()
    EXPECT_EQ(tracker.next_due_us(), t0 + 2 * omrt::kUsPerS);
    tracker.poll();
    EXPECT_FALSE(wan1.has(QType::A));
    tracker.refresh(id, "again"); // coalesced
    advance_s(1.5);
    tracker.poll();
    ASSERT_TRUE(wan1.has(QType::A));
    EXPECT_EQ(wan1.started, 2u);
    wan1.answer(QType::A, {"198.51.100.10"}, 300);
    // Long after the last query: at once.
    advance_s(10);
    tracker.refresh_all("recheck");
    EXPECT_EQ(tracker.next_due_us(), clock.mono_us());
    tracker.poll();
    EXPECT_EQ(wan1.started, 3u);
}

TEST_F(NamesTest, RefreshDuringARoundRunsOnceMoreAfterIt)
{
    NameId id = resolved(Family::ipv4, 300);
    advance_s(10);
    tracker.refresh(id, "one");
    tracker.poll();
    ASSERT_TRUE(wan1.has(QType::A));
    omrt::MonoUs round = clock.mono_us();
    tracker.refresh_backend(wan1, "WAN changed"); // while the query runs
    advance_s(0.2);
    wan1.answer(QType::A, {"198.51.100.10"}, 300);
    EXPECT_EQ(tracker.next_due_us(), round + 2 * omrt::kUsPerS); // not 300 s
}

TEST_F(NamesTest, StaleAnswerIsServedWhileRefreshesFail)
{
    NameId id = resolved(Family::both, 10);
    advance_s(10);
    tracker.poll();
    wan1.fail(QType::A, Reason::dns_timeout);
    wan1.fail(QType::AAAA, Reason::dns_timeout);
    const NameStatus *st = tracker.status(id);
    EXPECT_EQ(st->reason, Reason::dns_timeout);
    EXPECT_TRUE(st->stale);
    EXPECT_EQ(join(st->addrs), "198.51.100.10, 2001:db8:100::10");
    EXPECT_EQ(st->failures, 1u);
    EXPECT_EQ(st->last_error, Reason::dns_timeout);
    EXPECT_EQ(st->ttl_left_s(clock.mono_us()), 0);
    EXPECT_EQ(listener.changes.size(), 1u); // still only the first answer
    // Back-off: floor, then doubling.
    EXPECT_EQ(tracker.next_due_us(), clock.mono_us() + 5 * omrt::kUsPerS);
    advance_s(5);
    tracker.poll();
    wan1.fail(QType::A, Reason::dns_servfail, "SERVFAIL from 192.0.2.53");
    wan1.fail(QType::AAAA, Reason::dns_servfail, "SERVFAIL from 192.0.2.53");
    EXPECT_EQ(tracker.next_due_us(), clock.mono_us() + 10 * omrt::kUsPerS);
    EXPECT_EQ(tracker.status(id)->reason, Reason::dns_servfail);
    EXPECT_EQ(tracker.status(id)->failures, 2u);
    // Recovery clears stale.
    advance_s(10);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.10"});
    wan1.answer(QType::AAAA, {"2001:db8:100::10"});
    EXPECT_FALSE(tracker.status(id)->stale);
    EXPECT_EQ(tracker.status(id)->reason, Reason::ok);
    EXPECT_EQ(tracker.status(id)->failures, 0u);
    EXPECT_EQ(tracker.status(id)->last_error, Reason::dns_servfail); // history kept
    EXPECT_EQ(listener.changes.size(), 1u);
}

TEST_F(NamesTest, BackoffIsCapped)
{
    NameId id = resolved(Family::ipv4, 10);
    for (int i = 0; i < 8; i++) {
        advance_s(100);
        tracker.poll();
        wan1.fail(QType::A, Reason::dns_timeout);
    }
    EXPECT_EQ(tracker.next_due_us(), clock.mono_us() + 60 * omrt::kUsPerS);
    EXPECT_EQ(tracker.status(id)->failures, 8u);
}

TEST_F(NamesTest, WithoutServeStaleTheAnswerIsDropped)
{
    NameOptions o = opts();
    o.serve_stale = false;
    tracker.set_options(o);
    NameId id = resolved(Family::ipv4, 10);
    advance_s(10);
    tracker.poll();
    wan1.fail(QType::A, Reason::dns_nxdomain, "NXDOMAIN from 192.0.2.53");
    ASSERT_EQ(listener.changes.size(), 2u);
    EXPECT_EQ(join(listener.changes[1].old_addrs), "198.51.100.10");
    EXPECT_TRUE(listener.changes[1].new_addrs.empty());
    EXPECT_FALSE(tracker.status(id)->stale);
    EXPECT_EQ(tracker.status(id)->reason, Reason::dns_nxdomain);
}

TEST_F(NamesTest, AddressChangeIsNotifiedExactlyOnce)
{
    NameId id = resolved(Family::ipv4, 10);
    for (int round = 0; round < 3; round++) {
        advance_s(10);
        tracker.poll();
        // Same set in another order on round 0; the DDNS change on round 1; same again.
        if (round == 0)
            wan1.answer(QType::A, {"198.51.100.10"}, 10);
        else
            wan1.answer(QType::A, {"198.51.100.11"}, 10);
    }
    ASSERT_EQ(listener.changes.size(), 2u);
    EXPECT_EQ(listener.changes[1].id, id);
    EXPECT_EQ(join(listener.changes[1].old_addrs), "198.51.100.10");
    EXPECT_EQ(join(listener.changes[1].new_addrs), "198.51.100.11");
    EXPECT_EQ(tracker.status(id)->changes, 2u);
    // Reordering alone is not a change.
    advance_s(10);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.12", "198.51.100.11"}, 10);
    advance_s(10);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.11", "198.51.100.12"}, 10);
    EXPECT_EQ(listener.changes.size(), 3u);
}

TEST_F(NamesTest, UnusableAddressIsRejectedAndTheLastGoodAnswerKept)
{
    NameId id = resolved(Family::both, 10);
    for (const char *bad :
         {"127.0.0.1", "0.0.0.0", "224.0.0.1", "169.254.1.1", "255.255.255.255"}) {
        advance_s(10);
        tracker.poll();
        wan1.answer(QType::A, {"198.51.100.99", bad}, 10); // one bad address spoils it
        wan1.answer(QType::AAAA, {"2001:db8:100::10"}, 10);
        const NameStatus *st = tracker.status(id);
        EXPECT_EQ(st->reason, Reason::dns_bad_address) << bad;
        EXPECT_TRUE(st->stale);
        EXPECT_EQ(join(st->addrs), "198.51.100.10, 2001:db8:100::10") << bad;
        EXPECT_NE(st->message.find(bad), std::string::npos) << st->message;
    }
    advance_s(10);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.10"}, 10);
    wan1.answer(QType::AAAA, {"::1"}, 10);
    EXPECT_EQ(tracker.status(id)->reason, Reason::dns_bad_address);
    EXPECT_EQ(join(tracker.status(id)->addrs), "198.51.100.10, 2001:db8:100::10");
    EXPECT_EQ(listener.changes.size(), 1u);
}

TEST_F(NamesTest, OneFamilyFailingKeepsItsAddressesTheOtherIsUpdated)
{
    NameId id = resolved(Family::both, 10);
    advance_s(10);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.11"}, 10);
    wan1.fail(QType::AAAA, Reason::dns_servfail, "SERVFAIL from 192.0.2.53");
    const NameStatus *st = tracker.status(id);
    EXPECT_EQ(join(st->addrs), "198.51.100.11, 2001:db8:100::10");
    EXPECT_TRUE(st->stale);
    EXPECT_EQ(st->reason, Reason::dns_servfail);
    ASSERT_EQ(listener.changes.size(), 2u);
    // NODATA for AAAA is an answer: the family just has no addresses.
    advance_s(10);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.11"}, 10);
    wan1.fail(QType::AAAA, Reason::dns_nodata, "no AAAA record");
    EXPECT_EQ(join(tracker.status(id)->addrs), "198.51.100.11");
    EXPECT_FALSE(tracker.status(id)->stale);
    EXPECT_EQ(tracker.status(id)->reason, Reason::ok);
    EXPECT_EQ(listener.changes.size(), 3u);
}

TEST_F(NamesTest, AFamilyThatNeverAnsweredIsNotStale)
{
    std::string err;
    NameId id = tracker.watch("vps", "vps.test", wan1, Family::both, &err);
    tracker.poll();
    wan1.answer(QType::A, {"198.51.100.10"});
    wan1.fail(QType::AAAA, Reason::dns_timeout);
    EXPECT_EQ(join(tracker.status(id)->addrs), "198.51.100.10");
    EXPECT_FALSE(tracker.status(id)->stale); // nothing old is being shown
    EXPECT_EQ(tracker.status(id)->reason, Reason::dns_timeout);
}

TEST_F(NamesTest, NxdomainAndNodataAreReported)
{
    NameId id = resolved(Family::both, 10);
    advance_s(10);
    tracker.poll();
    wan1.fail(QType::A, Reason::dns_nxdomain, "NXDOMAIN from 192.0.2.53");
    wan1.fail(QType::AAAA, Reason::dns_nxdomain, "NXDOMAIN from 192.0.2.53");
    EXPECT_EQ(tracker.status(id)->reason, Reason::dns_nxdomain);
    EXPECT_TRUE(tracker.status(id)->stale);
    advance_s(5);
    tracker.poll();
    wan1.fail(QType::A, Reason::dns_nodata, "no A record");
    wan1.fail(QType::AAAA, Reason::dns_nodata, "no AAAA record");
    EXPECT_EQ(tracker.status(id)->reason, Reason::dns_nodata);
}

TEST_F(NamesTest, LiteralAddressesNeverTouchDns)
{
    std::string err;
    NameId id = tracker.watch("vps", "2001:db8::7", wan1, Family::ipv4, &err);
    ASSERT_NE(id, 0u);
    EXPECT_TRUE(listener.changes.empty());
    tracker.poll();
    EXPECT_EQ(wan1.started, 0u);
    ASSERT_EQ(listener.changes.size(), 1u);
    EXPECT_EQ(join(listener.changes[0].new_addrs), "2001:db8::7");
    EXPECT_EQ(tracker.status(id)->source, Source::literal);
    tracker.refresh(id, "recheck");
    advance_s(7200);
    tracker.poll();
    EXPECT_EQ(wan1.started, 0u);
    EXPECT_EQ(tracker.next_due_us(), INT64_MAX);
    EXPECT_EQ(listener.changes.size(), 1u);
}

TEST_F(NamesTest, HostsFileAnswersWithoutDns)
{
    char path[] = "/tmp/omrt-dns-hosts-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    {
        std::ofstream f(path);
        f << "198.51.100.77 vps.test vps\n2001:db8::77 vps.test\n";
    }
    NameOptions o = opts();
    o.hosts_path = path;
    tracker.set_options(o);
    std::string err;
    NameId id = tracker.watch("vps", "vps.test", wan1, Family::ipv4, &err);
    tracker.poll();
    EXPECT_EQ(wan1.started, 0u);
    ASSERT_EQ(listener.changes.size(), 1u);
    EXPECT_EQ(join(tracker.status(id)->addrs), "198.51.100.77");
    EXPECT_EQ(tracker.status(id)->source, Source::hosts);
    // The name leaves the hosts file: DNS takes over at the next look.
    {
        std::ofstream f(path);
        f << "# empty now, and a different size\n";
    }
    advance_s(5);
    tracker.poll();
    ASSERT_TRUE(wan1.has(QType::A));
    wan1.answer(QType::A, {"198.51.100.10"});
    EXPECT_EQ(tracker.status(id)->source, Source::dns);
    EXPECT_EQ(listener.changes.size(), 2u);
    unlink(path);
}

TEST_F(NamesTest, WatchesAreSharedAndCounted)
{
    std::string err;
    NameId a = tracker.watch("vps", "vps.test", wan1, Family::ipv4, &err);
    NameId b = tracker.watch("vps2", "VPS.TEST", wan1, Family::ipv4, &err);
    NameId c = tracker.watch("vps", "vps.test", wan1, Family::both, &err);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_EQ(tracker.watch("vps", "bad name", wan1, Family::ipv4, &err), 0u);
    EXPECT_NE(err.find("invalid host name"), std::string::npos);
    tracker.unwatch(a);
    EXPECT_NE(tracker.status(a), nullptr);
    tracker.unwatch(b);
    EXPECT_EQ(tracker.status(a), nullptr);
    tracker.poll();
    EXPECT_EQ(wan1.running.size(), 2u); // only c's A and AAAA
    tracker.unwatch(c);
    EXPECT_TRUE(wan1.running.empty()); // cancelled with the entry
}

TEST_F(NamesTest, ListenerMayUnwatchFromItsCallback)
{
    listener.unwatch_in_callback = &tracker;
    NameId id = resolved(Family::both);
    EXPECT_EQ(tracker.status(id), nullptr);
    EXPECT_EQ(listener.changes.size(), 1u);
    EXPECT_EQ(listener.refreshed, 0u); // not called for a name that is gone
}

TEST_F(NamesTest, StatusJson)
{
    NameId id = resolved(Family::both, 30);
    core::JsonWriter w;
    tracker.write_json(w, id);
    core::JsonValue v;
    std::string err;
    ASSERT_TRUE(core::json_parse(w.str(), v, &err)) << err << ": " << w.str();
    EXPECT_EQ(*v.get_string("name"), "vps.test");
    EXPECT_EQ(*v.get_string("context"), "wan1");
    EXPECT_EQ(*v.get_string("reason"), "ok");
    EXPECT_EQ(v.get("addresses")->size(), 2u);
    EXPECT_EQ(v.get("ttl_left")->as_number(), 30);
    EXPECT_EQ(v.get("rtt_ms")->as_number(), 1.5);
    EXPECT_FALSE(v.get("stale")->as_bool());
}
