// The server tracker's state machine in a discrete-event simulation: checks through
// every WAN at once, the failover moment, apiping's fallback, the heartbeat trigger and
// its silence-based deadline, round restarts, the address choice of a dual-stack server,
// DDNS address changes and DNS notes, and the choice of the current server.
#include "sched/server_machine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

using omrt::Health;
using omrt::IpAddr;
using omrt::MonoUs;
using omrt::Reason;
using sched::CheckOutcome;
using sched::CheckType;
using sched::ServerMachine;
using sched::ServerParams;
using sched::ServerVerdict;

namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kS = 1000000;

IpAddr ip(const char *s)
{
    IpAddr a;
    EXPECT_TRUE(IpAddr::parse(s, a));
    return a;
}

const IpAddr kVps = ip("198.51.100.10");
const IpAddr kVps2 = ip("198.51.100.12");

struct Sim : sched::ServerEffects {
    struct Pending {
        MonoUs at;
        uint32_t id;
        CheckOutcome o;
    };
    struct Sent {
        MonoUs at;
        CheckType t;
        std::string wan;
        IpAddr addr;
    };
    MonoUs now = 1 * kS;
    // Reachability: (wan, addr) answers API / ICMP.
    std::set<std::pair<std::string, IpAddr>> api_up, ping_up;
    Reason api_fail = Reason::tcp_timeout;  // how the API fails when it does
    int64_t api_fail_after = -1;            // -1: at the timeout
    std::map<IpAddr, int64_t> answer_after; // per address; default 20 ms
    std::vector<Pending> pending;
    std::vector<Sent> sent;
    std::vector<std::pair<MonoUs, ServerVerdict>> verdicts;
    MonoUs wake = -1;
    ServerMachine *m = nullptr;

    void start_check(uint32_t id, CheckType t, const std::string &wan, const IpAddr &addr,
                     int64_t timeout) override
    {
        sent.push_back(Sent{now, t, wan, addr});
        CheckOutcome o;
        bool up = (t == CheckType::api ? api_up : ping_up).count({wan, addr}) > 0;
        int64_t after = timeout;
        if (up) {
            o.ok = true;
            o.reason = Reason::ok;
            after = answer_after.count(addr) ? answer_after[addr] : 20 * kMs;
            o.rtt_us = after;
        } else if (t == CheckType::api) {
            o.reason = api_fail;
            o.message = std::string("api fails via ") + wan;
            if (api_fail_after >= 0)
                after = api_fail_after;
        } else {
            o.reason = Reason::target_timeout;
            o.message = std::string("no icmp via ") + wan;
        }
        pending.push_back(Pending{now + after, id, o});
        timeouts.push_back(timeout);
    }
    std::vector<int64_t> timeouts; // as given to start_check, in order
    void cancel_check(uint32_t id) override
    {
        pending.erase(std::remove_if(pending.begin(), pending.end(),
                                     [id](const Pending &p) { return p.id == id; }),
                      pending.end());
    }
    void wake_at(MonoUs t) override { wake = t; }
    void on_server_verdict(const ServerVerdict &v) override { verdicts.push_back({now, v}); }

    void run_until(MonoUs until)
    {
        for (;;) {
            MonoUs next = INT64_MAX;
            for (const Pending &p : pending)
                next = std::min(next, p.at);
            bool timer = wake >= 0 && wake <= next;
            if (timer)
                next = wake;
            if (next > until) {
                now = until;
                return;
            }
            now = next;
            if (timer) {
                wake = -1;
                m->on_timer(now);
                continue;
            }
            auto it = std::min_element(
                    pending.begin(), pending.end(),
                    [](const Pending &a, const Pending &b) { return a.at < b.at; });
            Pending p = *it;
            pending.erase(it);
            m->on_check_result(p.id, p.o, now);
        }
    }
    const std::pair<MonoUs, ServerVerdict> *first(Health h, MonoUs from) const
    {
        for (const auto &v : verdicts)
            if (v.first >= from && v.second.status == h)
                return &v;
        return nullptr;
    }
};

std::vector<sched::WanView> wans(const std::vector<std::string> &names)
{
    std::vector<sched::WanView> out;
    unsigned n = 1;
    for (const std::string &w : names) {
        sched::WanView v;
        v.name = w;
        v.device = w;
        v.usable = true;
        v.src[0] = IpAddr::from_v4_host_order(0x0a000002 + (n++ << 8));
        out.push_back(v);
    }
    return out;
}

ServerParams params(cfg::ServerCheck type)
{
    ServerParams p;
    p.type = type;
    p.tries = 3;
    p.timeout_us = 10 * kS;
    p.interval_us = 5 * kS;
    p.interval_tries_us = 1 * kS;
    return p;
}

struct Tracker {
    Sim sim;
    ServerMachine m;
    explicit Tracker(const ServerParams &p) : m("vps", p, sim)
    {
        sim.m = &m;
        sched::ServerEntry e;
        e.text = "vps.example.net";
        e.addrs = {kVps};
        m.set_entries({e}, sim.now);
        m.set_wans(wans({"wan1", "wan2", "wan3"}), sim.now);
        for (const char *w : {"wan1", "wan2", "wan3"}) {
            sim.api_up.insert({w, kVps});
            sim.ping_up.insert({w, kVps});
        }
    }
};

} // namespace

TEST(ServerMachine, ChecksEveryWanAtOnce)
{
    Tracker t(params(cfg::ServerCheck::api));
    t.m.start(t.sim.now);
    std::set<std::string> wans_used;
    for (const auto &s : t.sim.sent)
        if (s.at == t.sim.now && s.t == CheckType::api)
            wans_used.insert(s.wan);
    EXPECT_EQ(wans_used.size(), 3u); // in parallel, not one interface after the other
    t.sim.run_until(t.sim.now + 1 * kS);
    ASSERT_FALSE(t.sim.verdicts.empty());
    const ServerVerdict &v = t.sim.verdicts.back().second;
    EXPECT_EQ(v.status, Health::Ok);
    EXPECT_EQ(v.addr, kVps);
    EXPECT_EQ(v.lanes.size(), 3u);
    EXPECT_NE(v.message.find("wan1, wan2, wan3"), std::string::npos) << v.message;
}

TEST(ServerMachine, OneWanEnoughAndStatusSaysWhichOnesFail)
{
    Tracker t(params(cfg::ServerCheck::api));
    t.sim.api_up = {{"wan2", kVps}};
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 60 * kS);
    const auto *ok = t.sim.first(Health::Ok, 0);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->first, 1 * kS + 20 * kMs);
    const ServerVerdict &last = t.sim.verdicts.back().second;
    EXPECT_EQ(last.status, Health::Ok);
    unsigned failing = 0;
    for (const sched::LaneResult &l : last.lanes)
        failing += !l.api_ok && l.reason == Reason::tcp_timeout;
    EXPECT_EQ(failing, 2u); // wan1 and wan3 cannot reach it (reference §7 #3110)
}

TEST(ServerMachine, DeadServerIsDownAfterOneTimeoutThenRetries)
{
    Tracker t(params(cfg::ServerCheck::api));
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 1 * kS);
    MonoUs dead = t.sim.now;
    t.sim.api_up.clear();
    t.sim.run_until(dead + 60 * kS);
    const auto *err = t.sim.first(Health::Error, dead);
    ASSERT_NE(err, nullptr);
    // The round after `interval` (5 s) is declared down once `timeout` (10 s) has passed
    // with no lane answering, not after tries x (timeout + interval_tries).
    EXPECT_LE(err->first - dead, 5 * kS + 10 * kS + 250 * kMs);
    EXPECT_TRUE(err->second.transition);
    EXPECT_EQ(err->second.reason, Reason::tcp_timeout);
    EXPECT_NE(err->second.message.find("api fails via wan1"), std::string::npos);
    // The tries went on after the verdict: 3 attempts per lane in that round.
    unsigned attempts = 0;
    for (const auto &s : t.sim.sent)
        if (s.at >= dead + 4 * kS && s.at < dead + 40 * kS && s.wan == "wan1")
            attempts++;
    EXPECT_GE(attempts, 3u);
}

TEST(ServerMachine, RefusedEverywhereFailsFastWithTheServerSideReason)
{
    Tracker t(params(cfg::ServerCheck::api));
    t.sim.api_up.clear();
    t.sim.api_fail = Reason::tcp_refused;
    t.sim.api_fail_after = 1 * kMs;
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 20 * kS);
    const auto *err = t.sim.first(Health::Error, 0);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->second.reason, Reason::tcp_refused);
}

TEST(ServerMachine, ApipingFallsBackToIcmpAndNotesTheApiReason)
{
    Tracker t(params(cfg::ServerCheck::apiping));
    t.sim.api_up.clear();
    t.sim.api_fail = Reason::tcp_refused;
    t.sim.api_fail_after = 5 * kMs;
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 2 * kS);
    ASSERT_FALSE(t.sim.verdicts.empty());
    const ServerVerdict &v = t.sim.verdicts.front().second;
    EXPECT_EQ(v.status, Health::Ok);
    EXPECT_EQ(v.reason, Reason::tcp_refused);
    EXPECT_NE(v.message.find("answers ICMP"), std::string::npos) << v.message;
    // And ICMP alone never decides before the API has answered or failed.
    EXPECT_GE(t.sim.verdicts.front().first, 1 * kS + 20 * kMs);
}

TEST(ServerMachine, HeartbeatTriggersARoundWhenIcmpStops)
{
    ServerParams p = params(cfg::ServerCheck::apiping);
    p.interval_us = 60 * kS; // the periodic round would come much later
    Tracker t(p);
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 5 * kS);
    EXPECT_EQ(t.sim.verdicts.back().second.status, Health::Ok);
    MonoUs dead = t.sim.now;
    t.sim.api_up.clear();
    t.sim.ping_up.clear();
    t.sim.run_until(dead + 30 * kS);
    const auto *err = t.sim.first(Health::Error, dead);
    ASSERT_NE(err, nullptr);
    // A heartbeat echo every 500 ms, lost after 1 s: the first silent tick is sent within
    // 500 ms of the failure, and the round it triggers is down `timeout` (10 s) after that
    // tick was sent, plus the 50 ms the verdict waits for the checks' own timeouts.
    EXPECT_LE(err->first - dead, 10 * kS + 500 * kMs + 50 * kMs);
    EXPECT_GE(err->first - dead, 10 * kS);
    EXPECT_GE(t.m.triggered_rounds(), 1u);
    // The checks of that round were given what was left of the timeout, not a full one,
    // so their own reasons are in at the verdict.
    EXPECT_EQ(err->second.reason, Reason::tcp_timeout);
    EXPECT_EQ(err->second.message.find("no answer yet"), std::string::npos) << err->second.message;
}

// The failover bound over many failure moments: never later than timeout + 1 s.
TEST(ServerMachine, FailoverWithinTimeoutPlusOneSecondWhateverTheMoment)
{
    for (int64_t offset = 0; offset < 1000 * kMs; offset += 37 * kMs) {
        ServerParams p = params(cfg::ServerCheck::apiping);
        Tracker t(p);
        t.m.start(t.sim.now);
        t.sim.run_until(t.sim.now + 3 * kS + offset);
        MonoUs dead = t.sim.now;
        t.sim.api_up.clear();
        t.sim.ping_up.clear();
        t.sim.run_until(dead + 20 * kS);
        const auto *err = t.sim.first(Health::Error, dead);
        ASSERT_NE(err, nullptr) << "offset " << offset;
        EXPECT_LE(err->first - dead, p.timeout_us + 1 * kS) << "offset " << offset;
        EXPECT_GE(err->first - dead, p.timeout_us) << "offset " << offset;
    }
}

// A round whose verdict is out (OK) but which waits for a dead WAN's lanes must not hide
// the master's death: the silent heartbeat starts over.
TEST(ServerMachine, SilentHeartbeatRestartsARoundWaitingForADeadWan)
{
    ServerParams p = params(cfg::ServerCheck::apiping);
    Tracker t(p);
    // wan3 cannot reach the server: its lanes take the whole timeout every round.
    t.sim.api_up.erase({"wan3", kVps});
    t.sim.ping_up.erase({"wan3", kVps});
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 5 * kS + 100 * kMs); // the second round is running
    ASSERT_TRUE(t.m.round_running());
    EXPECT_EQ(t.sim.verdicts.back().second.status, Health::Ok);
    MonoUs dead = t.sim.now;
    t.sim.api_up.clear();
    t.sim.ping_up.clear();
    t.sim.run_until(dead + 20 * kS);
    const auto *err = t.sim.first(Health::Error, dead);
    ASSERT_NE(err, nullptr);
    EXPECT_LE(err->first - dead, 10 * kS + 550 * kMs);
}

// ICMP answering again while the server is down starts a fresh round at once: failback
// does not wait for the retries of a round aimed at a dead server.
TEST(ServerMachine, HeartbeatAnswerBringsItBackFast)
{
    ServerParams p = params(cfg::ServerCheck::apiping);
    p.interval_us = 60 * kS;
    Tracker t(p);
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 2 * kS);
    auto up = t.sim.api_up;
    auto pup = t.sim.ping_up;
    t.sim.api_up.clear();
    t.sim.ping_up.clear();
    t.sim.run_until(t.sim.now + 15 * kS);
    ASSERT_EQ(t.m.status(), Health::Error);
    MonoUs back = t.sim.now;
    t.sim.api_up = up;
    t.sim.ping_up = pup;
    t.sim.run_until(back + 5 * kS);
    const auto *ok = t.sim.first(Health::Ok, back);
    ASSERT_NE(ok, nullptr);
    // Next tick (<= 500 ms), its answer (20 ms), a new round, the API's answer (20 ms).
    EXPECT_LE(ok->first - back, 500 * kMs + 20 * kMs + 20 * kMs + 1 * kMs);
    EXPECT_TRUE(ok->second.transition);
}

// Type api: the heartbeat starts the round, the API decides (an API that still answers
// keeps the server up even though ICMP stopped).
TEST(ServerMachine, HeartbeatTriggersApiRoundsToo)
{
    ServerParams p = params(cfg::ServerCheck::api);
    p.interval_us = 60 * kS;
    Tracker t(p);
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 3 * kS);
    // ICMP filtered from now on, the API fine: rounds, but no failure.
    auto api = t.sim.api_up;
    t.sim.ping_up.clear();
    t.sim.run_until(t.sim.now + 10 * kS);
    EXPECT_EQ(t.m.triggered_rounds(), 1u);
    EXPECT_EQ(t.sim.first(Health::Error, 0), nullptr);
    // ICMP back, then everything dies: down within timeout + 0.55 s.
    for (const char *w : {"wan1", "wan2", "wan3"})
        t.sim.ping_up.insert({w, kVps});
    t.sim.run_until(t.sim.now + 3 * kS);
    MonoUs dead = t.sim.now;
    t.sim.api_up.clear();
    t.sim.ping_up.clear();
    t.sim.run_until(dead + 20 * kS);
    const auto *err = t.sim.first(Health::Error, dead);
    ASSERT_NE(err, nullptr);
    EXPECT_LE(err->first - dead, p.timeout_us + 550 * kMs);
    EXPECT_EQ(err->second.reason, Reason::tcp_timeout);
}

// A VPS that never answers ICMP: the heartbeat costs no rounds.
TEST(ServerMachine, HeartbeatWithoutIcmpTriggersNothing)
{
    ServerParams p = params(cfg::ServerCheck::apiping);
    p.interval_us = 30 * kS;
    Tracker t(p);
    t.sim.ping_up.clear();
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 25 * kS);
    EXPECT_EQ(t.m.triggered_rounds(), 0u);
    EXPECT_EQ(t.m.rounds(), 1u);
    EXPECT_EQ(t.m.status(), Health::Ok);
}

// A dual-stack server: the address in use is the first in answer order (A before AAAA)
// even when the AAAA answers first, and stays so round after round.
TEST(ServerMachine, AddressInUseIsDeterministic)
{
    const IpAddr v6 = ip("2001:db8:100::10");
    ServerParams p = params(cfg::ServerCheck::api);
    Sim sim;
    ServerMachine m("vps", p, sim);
    sim.m = &m;
    sched::ServerEntry e;
    e.text = "vps.example.net";
    e.addrs = {kVps, v6};
    m.set_entries({e}, sim.now);
    std::vector<sched::WanView> w = wans({"wan1", "wan2"});
    for (auto &x : w)
        x.src[1] = ip(x.name == "wan1" ? "2001:db8:101::2" : "2001:db8:102::2");
    m.set_wans(w, sim.now);
    for (const char *n : {"wan1", "wan2"}) {
        sim.api_up.insert({n, kVps});
        sim.api_up.insert({n, v6});
    }
    sim.answer_after[v6] = 5 * kMs;     // the AAAA path answers first
    sim.answer_after[kVps] = 120 * kMs; // the A path a little later
    m.start(sim.now);
    sim.run_until(sim.now + 60 * kS);
    ASSERT_FALSE(sim.verdicts.empty());
    for (const auto &v : sim.verdicts)
        EXPECT_EQ(v.second.addr, kVps) << "at " << v.first;
    // The first verdict waited for the A answer, not for prefer_wait_us.
    EXPECT_EQ(sim.verdicts.front().first, 1 * kS + 120 * kMs);
    // The A address stops answering: the AAAA one is used; back when A answers again.
    MonoUs cut = sim.now;
    sim.api_up.erase({"wan1", kVps});
    sim.api_up.erase({"wan2", kVps});
    sim.run_until(cut + 30 * kS);
    EXPECT_EQ(sim.verdicts.back().second.addr, v6);
    EXPECT_EQ(m.status(), Health::Ok);
    sim.api_up.insert({"wan1", kVps});
    sim.run_until(sim.now + 30 * kS);
    EXPECT_EQ(sim.verdicts.back().second.addr, kVps);
}

// The A path is dead: the first verdict does not wait for it longer than prefer_wait_us.
TEST(ServerMachine, PreferredAddressIsAwaitedOnlyBriefly)
{
    const IpAddr v6 = ip("2001:db8:100::10");
    ServerParams p = params(cfg::ServerCheck::api);
    Sim sim;
    ServerMachine m("vps", p, sim);
    sim.m = &m;
    sched::ServerEntry e;
    e.text = "vps.example.net";
    e.addrs = {kVps, v6};
    m.set_entries({e}, sim.now);
    std::vector<sched::WanView> w = wans({"wan1"});
    w[0].src[1] = ip("2001:db8:101::2");
    m.set_wans(w, sim.now);
    sim.api_up.insert({"wan1", v6});
    m.start(sim.now);
    sim.run_until(sim.now + 2 * kS);
    const auto *ok = sim.first(Health::Ok, 0);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->first, 1 * kS + 20 * kMs + p.prefer_wait_us);
    EXPECT_EQ(ok->second.addr, v6);
}

// recheck restarts a round whose verdict is out; it does not restart one still deciding.
TEST(ServerMachine, RecheckRestartsADecidedRoundOnly)
{
    ServerParams p = params(cfg::ServerCheck::api);
    Tracker t(p);
    t.sim.api_up.erase({"wan3", kVps}); // keeps every round running for `timeout`
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 1 * kS);
    ASSERT_TRUE(t.m.round_running());
    uint64_t rounds = t.m.rounds();
    t.m.trigger(t.sim.now, "recheck", true);
    EXPECT_EQ(t.m.rounds(), rounds + 1);
    // Again at once: that fresh round is still deciding, it answers this one too.
    t.m.trigger(t.sim.now, "recheck", true);
    EXPECT_EQ(t.m.rounds(), rounds + 1);
    // Again once it decided: held back by trigger_gap_us, then done.
    t.sim.run_until(t.sim.now + 100 * kMs);
    t.m.trigger(t.sim.now, "recheck", true);
    EXPECT_EQ(t.m.rounds(), rounds + 1);
    t.sim.run_until(t.sim.now + p.trigger_gap_us);
    EXPECT_EQ(t.m.rounds(), rounds + 2);
    // Without restart_decided (an interface probe failed): the running round goes on.
    t.sim.run_until(t.sim.now + 3 * kS);
    ASSERT_TRUE(t.m.round_running());
    rounds = t.m.rounds();
    t.m.trigger(t.sim.now, "an interface probe failed");
    EXPECT_EQ(t.m.rounds(), rounds);
}

// DNS fails while the last good answer is used: an OK server notes it in its reason,
// without a new round; the note goes when DNS works again.
TEST(ServerMachine, DnsFailureIsNotedOnAnOkServer)
{
    Tracker t(params(cfg::ServerCheck::api));
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 1 * kS);
    uint64_t rounds = t.m.rounds();
    sched::ServerEntry e;
    e.text = "vps.example.net";
    e.addrs = {kVps};
    e.dns_reason = Reason::dns_nxdomain;
    e.dns_message = "NXDOMAIN from 192.0.2.53";
    e.stale = true;
    t.m.set_entries({e}, t.sim.now);
    EXPECT_EQ(t.m.rounds(), rounds);
    const ServerVerdict &v = t.sim.verdicts.back().second;
    EXPECT_EQ(v.status, Health::Ok);
    EXPECT_FALSE(v.transition);
    EXPECT_EQ(v.reason, Reason::dns_nxdomain);
    EXPECT_NE(v.message.find("stale"), std::string::npos) << v.message;
    e.dns_reason = Reason::ok;
    e.stale = false;
    e.dns_message.clear();
    t.m.set_entries({e}, t.sim.now);
    EXPECT_EQ(t.sim.verdicts.back().second.reason, Reason::ok);
    EXPECT_EQ(t.m.rounds(), rounds);
}

// The same address twice (a name and its literal): one lane per WAN, and the rounds end.
TEST(ServerMachine, DuplicateAddressIsCheckedOnce)
{
    Tracker t(params(cfg::ServerCheck::api));
    sched::ServerEntry a, b;
    a.text = "vps.example.net";
    a.addrs = {kVps};
    b.text = "198.51.100.10";
    b.addrs = {kVps};
    t.m.set_entries({a, b}, t.sim.now);
    t.m.start(t.sim.now);
    EXPECT_EQ(t.sim.sent.size(), 3u);
    t.sim.run_until(t.sim.now + 30 * kS);
    EXPECT_GE(t.m.rounds(), 5u);
}

TEST(ServerMachine, NewAddressesAreCheckedAtOnce)
{
    Tracker t(params(cfg::ServerCheck::api));
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 1 * kS);
    MonoUs ddns = t.sim.now;
    for (const char *w : {"wan1", "wan2", "wan3"})
        t.sim.api_up.insert({w, kVps2});
    sched::ServerEntry e;
    e.text = "vps.example.net";
    e.addrs = {kVps2};
    t.m.set_entries({e}, ddns);
    bool checked = false;
    for (const auto &s : t.sim.sent)
        checked = checked || (s.at == ddns && s.addr == kVps2);
    EXPECT_TRUE(checked);
    t.sim.run_until(ddns + 1 * kS);
    EXPECT_EQ(t.sim.verdicts.back().second.addr, kVps2);
}

TEST(ServerMachine, UnresolvedNamesGiveNoFalseVerdict)
{
    Sim sim;
    ServerMachine m("vps", params(cfg::ServerCheck::api), sim);
    sim.m = &m;
    sched::ServerEntry e;
    e.text = "vps.example.net";
    e.dns_reason = Reason::pending;
    m.set_entries({e}, sim.now);
    m.set_wans(wans({"wan1"}), sim.now);
    m.start(sim.now);
    sim.run_until(sim.now + 30 * kS);
    EXPECT_TRUE(sim.verdicts.empty());
    // A DNS failure is a verdict with the DNS reason.
    e.dns_reason = Reason::dns_nxdomain;
    e.dns_message = "NXDOMAIN";
    m.set_entries({e}, sim.now);
    ASSERT_FALSE(sim.verdicts.empty());
    EXPECT_EQ(sim.verdicts.back().second.status, Health::Error);
    EXPECT_EQ(sim.verdicts.back().second.reason, Reason::dns_nxdomain);
}

TEST(ServerMachine, NoUsableWan)
{
    Tracker t(params(cfg::ServerCheck::api));
    std::vector<sched::WanView> w = wans({"wan1"});
    w[0].usable = false;
    t.m.set_wans(w, t.sim.now);
    t.m.start(t.sim.now);
    ASSERT_FALSE(t.sim.verdicts.empty());
    EXPECT_EQ(t.sim.verdicts.back().second.reason, Reason::link_down);
}

TEST(ServerMachine, AuthRefusalKeepsItUpWithTheReason)
{
    Tracker t(params(cfg::ServerCheck::api));
    t.m.start(t.sim.now);
    t.sim.run_until(t.sim.now + 1 * kS);
    t.m.set_auth(Reason::api_auth_rejected, "token refused (HTTP 400)", t.sim.now);
    const ServerVerdict &v = t.sim.verdicts.back().second;
    EXPECT_EQ(v.status, Health::Ok);
    EXPECT_EQ(v.reason, Reason::api_auth_rejected);
    EXPECT_FALSE(v.transition);
}

TEST(ServerMachine, TypeNoneIsAlwaysUp)
{
    Tracker t(params(cfg::ServerCheck::none));
    t.sim.api_up.clear();
    t.m.start(t.sim.now);
    EXPECT_TRUE(t.sim.sent.empty());
    ASSERT_FALSE(t.sim.verdicts.empty());
    EXPECT_EQ(t.sim.verdicts.back().second.status, Health::Ok);
}

TEST(PickCurrent, MasterFirstBackupWhenMasterDownSetBack)
{
    using sched::ServerRole;
    ServerRole m{"vps", true, false, Health::Unknown, kVps};
    ServerRole b{"vps_backup", false, true, Health::Ok, kVps2};
    // Not checked yet: the master stays, even if a backup answers first.
    EXPECT_EQ(sched::pick_current({m, b}, ""), "vps");
    m.status = Health::Ok;
    EXPECT_EQ(sched::pick_current({m, b}, "vps"), "vps");
    m.status = Health::Error;
    EXPECT_EQ(sched::pick_current({m, b}, "vps"), "vps_backup");
    // Nothing answers: keep what we have.
    b.status = Health::Error;
    EXPECT_EQ(sched::pick_current({m, b}, "vps_backup"), "vps_backup");
    m.status = Health::Ok;
    EXPECT_EQ(sched::pick_current({m, b}, "vps_backup"), "vps");
    // Two backups: the one in use stays while it works.
    ServerRole b2{"vps_b2", false, true, Health::Ok, kVps};
    m.status = Health::Error;
    b.status = Health::Ok;
    EXPECT_EQ(sched::pick_current({m, b2, b}, "vps_backup"), "vps_backup");
}
