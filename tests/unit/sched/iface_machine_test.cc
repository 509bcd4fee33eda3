// The interface tracker's state machine driven by a discrete-event simulation: a fake
// clock, and a fake network that answers each probe after its RTT or lets it time out.
// Every transition of reference §3.9, the thresholds, rotation, hysteresis, damping, RTO
// and quarantine, with exact times.
#include "sched/iface_machine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

using omrt::Health;
using omrt::IpAddr;
using omrt::MonoUs;
using omrt::Reason;
using sched::IfaceMachine;
using sched::IfaceParams;
using sched::ProbeOutcome;
using sched::Verdict;

namespace {

constexpr int64_t kMs = 1000;
constexpr int64_t kS = 1000000;

IpAddr ip(const char *s)
{
    IpAddr a;
    EXPECT_TRUE(IpAddr::parse(s, a)) << s;
    return a;
}

struct Sim : sched::IfaceEffects {
    struct Event {
        MonoUs at;
        uint32_t id;
        ProbeOutcome outcome;
        int64_t rtt;
    };
    struct Sent {
        MonoUs at;
        uint32_t id;
        unsigned fam;
        IpAddr to;
        int64_t timeout;
    };
    struct Seen {
        MonoUs at;
        Verdict v;
    };

    MonoUs now = 1 * kS;
    std::set<IpAddr> up;                                  // targets that answer
    std::map<IpAddr, int64_t> rtt;                        // default 10 ms
    std::function<bool(const IpAddr &, unsigned n)> drop; // n = echoes sent to it so far
    std::map<IpAddr, unsigned> echoes;
    std::vector<Event> pending;
    std::vector<Sent> sent;
    std::vector<uint32_t> cancelled;
    std::vector<Seen> verdicts;
    MonoUs wake = -1;
    IfaceMachine *m = nullptr;

    void send_probe(uint32_t id, unsigned fam, sched::TargetKind, const IpAddr &to, uint16_t,
                    int64_t timeout) override
    {
        sent.push_back(Sent{now, id, fam, to, timeout});
        unsigned n = echoes[to]++;
        int64_t r = rtt.count(to) ? rtt[to] : 10 * kMs;
        bool answers = up.count(to) && !(drop && drop(to, n)) && r < timeout;
        if (answers)
            pending.push_back(Event{now + r, id, ProbeOutcome::Reply, r});
        else
            pending.push_back(Event{now + timeout, id, ProbeOutcome::Timeout, 0});
    }
    void cancel_probe(uint32_t id) override
    {
        cancelled.push_back(id);
        pending.erase(std::remove_if(pending.begin(), pending.end(),
                                     [id](const Event &e) { return e.id == id; }),
                      pending.end());
    }
    void wake_at(MonoUs t) override { wake = t; }
    void on_verdict(const Verdict &v) override { verdicts.push_back(Seen{now, v}); }

    // Runs the simulation until |until|, delivering results and wake-ups in time order.
    void run_until(MonoUs until)
    {
        for (;;) {
            MonoUs next = INT64_MAX;
            for (const Event &e : pending)
                next = std::min(next, e.at);
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
            auto it = std::min_element(pending.begin(), pending.end(),
                                       [](const Event &a, const Event &b) { return a.at < b.at; });
            Event e = *it;
            pending.erase(it);
            m->on_probe_result(e.id, e.outcome, e.rtt, now);
        }
    }
    // First verdict at or after |from| whose status is |h|; nullptr if none.
    const Seen *first(Health h, MonoUs from = 0) const
    {
        for (const Seen &s : verdicts)
            if (s.at >= from && s.v.status == h)
                return &s;
        return nullptr;
    }
    const Seen &last() const { return verdicts.back(); }
};

const IpAddr kGw = ip("10.101.0.1");
const IpAddr kSrc = ip("10.101.0.2");
const IpAddr kVps = ip("198.51.100.10");
const IpAddr kH1 = ip("198.51.100.1");
const IpAddr kH2 = ip("198.51.100.2");
const IpAddr kH3 = ip("198.51.100.3");
const IpAddr kGw6 = ip("2001:db8:101::1");
const IpAddr kSrc6 = ip("2001:db8:101::2");
const IpAddr kVps6 = ip("2001:db8:100::10");

// The shipped /etc/config/omr-tracker values (reference §2.1 column F).
IfaceParams shipped()
{
    IfaceParams p;
    p.type = cfg::ProbeType::ping;
    p.count = 2;
    p.timeout_us = 2 * kS;
    p.tries = 3;
    p.tries_up = 5;
    p.interval_us = 2 * kS;
    p.interval_tries_us = 1 * kS;
    p.failure_interval_us = 20 * kS;
    p.wait_test_us = 0;
    return p;
}

sched::LinkView link_up(bool v6 = false)
{
    sched::LinkView l;
    l.device_present = true;
    l.usable = true;
    l.device = "wan1";
    l.addr[sched::kV4] = kSrc;
    l.gw[sched::kV4] = kGw;
    if (v6) {
        l.addr[sched::kV6] = kSrc6;
        l.gw[sched::kV6] = kGw6;
    }
    return l;
}

struct Tracker {
    Sim sim;
    IfaceMachine m;
    explicit Tracker(const IfaceParams &p, sched::TargetRegistry *reg = nullptr,
                     const char *name = "wan1")
        : m(name, p, sim, reg)
    {
        sim.m = &m;
        sim.up = {kGw, kVps, kH1, kH2, kH3, kGw6, kVps6};
        m.set_servers(sched::kV4, {{kVps, "vps"}});
        m.set_servers(sched::kV6, {{kVps6, "vps"}});
        m.set_hosts(sched::kV4,
                    {{kH1, "198.51.100.1"}, {kH2, "198.51.100.2"}, {kH3, "198.51.100.3"}});
        m.on_link(link_up(p.family[sched::kV6]), sim.now);
    }
    void start() { m.start(sim.now); }
};

} // namespace

TEST(IfaceMachine, FirstCycleOkWithoutTransitionMessageToHooks)
{
    Tracker t(shipped());
    t.start();
    t.sim.run_until(t.sim.now + 100 * kMs);
    ASSERT_EQ(t.sim.verdicts.size(), 1u);
    const Verdict &v = t.sim.last().v;
    EXPECT_EQ(v.status, Health::Ok);
    EXPECT_EQ(v.prev, Health::Unknown); // hooks see PREV_STATUS "" (§3.9)
    EXPECT_EQ(v.reason, Reason::ok);
    EXPECT_EQ(v.target, kVps);
    EXPECT_EQ(v.target_kind, sched::TargetKind::Server);
    EXPECT_NEAR(v.latency_ms, 10.0, 0.01);
    EXPECT_EQ(v.loss_pct, 0.0);
    // Gateway and VPS probed (count 2 each), no public host (§3.2 step 6.3).
    unsigned to_hosts = 0;
    for (const auto &s : t.sim.sent)
        to_hosts += s.to == kH1 || s.to == kH2 || s.to == kH3;
    EXPECT_EQ(to_hosts, 0u);
    EXPECT_EQ(t.sim.sent.size(), 4u);
    // Next cycle after `interval`.
    EXPECT_EQ(t.sim.wake, t.sim.verdicts[0].at + 2 * kS);
}

TEST(IfaceMachine, BlackHoleGoesErrorAfterTriesWithEvidence)
{
    Tracker t(shipped());
    t.start();
    t.sim.run_until(t.sim.now + 5 * kS);
    MonoUs hole = t.sim.now;
    t.sim.up = {kGw}; // upstream black-holed, gateway still answers
    t.sim.run_until(hole + 60 * kS);
    const Sim::Seen *err = t.sim.first(Health::Error, hole);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->v.reason, Reason::target_timeout);
    EXPECT_TRUE(err->v.transition);
    EXPECT_EQ(err->v.prev, Health::Ok);
    // 3 attempts, each: VPS timeout 2 s + host timeout 2 s, 1 s between attempts; the
    // cycle started at most one interval (2 s) after the hole.
    int64_t took = err->at - hole;
    EXPECT_GE(took, 3 * 4 * kS + 2 * 1 * kS);
    EXPECT_LE(took, 3 * 4 * kS + 2 * 1 * kS + 2 * kS + 20 * kMs);
    EXPECT_NE(err->v.message.find("3/3 attempts failed"), std::string::npos) << err->v.message;
    EXPECT_NE(err->v.message.find("198.51.100.10"), std::string::npos);
    EXPECT_NE(err->v.message.find("gateway 10.101.0.1 answers"), std::string::npos);
    EXPECT_NE(err->v.shell_msg.find("check error"), std::string::npos) << err->v.shell_msg;
    EXPECT_NE(err->v.shell_msg.find("ping from 10.101.0.2 error ("), std::string::npos);
    EXPECT_EQ(err->v.loss_pct, err->v.loss_pct); // measured, not NaN
    // Three different hosts were tried, in rotation.
    EXPECT_NE(err->v.failed_hosts[sched::kV4].find(','), std::string::npos);
}

TEST(IfaceMachine, RecoveryAfterOneGoodAttemptAtFailureInterval)
{
    Tracker t(shipped());
    t.start();
    t.sim.up = {kGw};
    t.sim.run_until(t.sim.now + 30 * kS);
    const Sim::Seen *err = t.sim.first(Health::Error);
    ASSERT_NE(err, nullptr);
    MonoUs back = t.sim.now;
    t.sim.up = {kGw, kVps, kH1, kH2, kH3};
    t.sim.run_until(back + 60 * kS);
    const Sim::Seen *ok = t.sim.first(Health::Ok, back);
    ASSERT_NE(ok, nullptr);
    EXPECT_TRUE(ok->v.transition);
    EXPECT_EQ(ok->v.prev, Health::Error);
    // ERROR cycles restart after failure_interval (20 s).
    EXPECT_LE(ok->at - back, 20 * kS + 100 * kMs);
}

TEST(IfaceMachine, TriesUpIsTheBudgetWhileError)
{
    IfaceParams p = shipped();
    p.tries_up = 2;
    Tracker t(p);
    t.start();
    t.sim.up = {kGw};
    t.sim.run_until(t.sim.now + 200 * kS);
    // Error cycles: 2 attempts => 2 host probes of 2 echoes after the first ERROR.
    const Sim::Seen *first = t.sim.first(Health::Error);
    ASSERT_NE(first, nullptr);
    ASSERT_GE(t.sim.verdicts.size(), 3u);
    const Verdict &second = t.sim.verdicts[2].v;
    EXPECT_EQ(second.status, Health::Error);
    EXPECT_FALSE(second.transition);
    EXPECT_NE(second.message.find("2/2 attempts failed"), std::string::npos) << second.message;
}

TEST(IfaceMachine, GatewayDownIsGatewayUnreachable)
{
    Tracker t(shipped());
    t.start();
    t.sim.run_until(t.sim.now + 1 * kS);
    t.sim.up.clear();
    t.sim.run_until(t.sim.now + 40 * kS);
    const Sim::Seen *err = t.sim.first(Health::Error);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->v.reason, Reason::gateway_unreachable);
    EXPECT_NE(err->v.message.find("does not answer"), std::string::npos);
    EXPECT_NE(err->v.shell_msg.find("IPv4 gateway down"), std::string::npos);
}

TEST(IfaceMachine, ServerDownHostAnswersStaysOkAndRotates)
{
    Tracker t(shipped());
    t.sim.up = {kGw, kH2, kH3}; // VPS unreachable; host1 does not answer either
    t.start();
    t.sim.run_until(t.sim.now + 20 * kS);
    ASSERT_FALSE(t.sim.verdicts.empty());
    const Verdict &v = t.sim.verdicts[0].v;
    EXPECT_EQ(v.status, Health::Ok);
    EXPECT_EQ(v.target_kind, sched::TargetKind::Host);
    EXPECT_EQ(v.target, kH2); // host1 failed, the rotation moved on
    EXPECT_EQ(v.failed_hosts[sched::kV4], "198.51.100.1");
}

TEST(IfaceMachine, ServerTestFailsAnInterfaceThatReachesOnlyTheInternet)
{
    IfaceParams p = shipped();
    p.server_test = true;
    Tracker t(p);
    t.sim.up = {kGw, kH1, kH2, kH3}; // the VPS is not reachable through this WAN
    t.start();
    t.sim.run_until(t.sim.now + 10 * kS);
    ASSERT_FALSE(t.sim.verdicts.empty());
    const Verdict &v = t.sim.verdicts[0].v;
    EXPECT_EQ(v.status, Health::Error);
    EXPECT_EQ(v.shell_msg, "No answer from server");
    EXPECT_NE(v.message.find("server_test"), std::string::npos);
    // Without the option a public host is enough (§3.2 step 6.2).
    Tracker u(shipped());
    u.sim.up = {kGw, kH1, kH2, kH3};
    u.start();
    u.sim.run_until(u.sim.now + 10 * kS);
    EXPECT_EQ(u.sim.verdicts[0].v.status, Health::Ok);
}

TEST(IfaceMachine, TypeNoneUsesTheGatewayOnly)
{
    IfaceParams p = shipped();
    p.type = cfg::ProbeType::none;
    p.tries = 2;
    p.failure_interval_us = 3 * kS;
    Tracker t(p);
    t.start();
    t.sim.run_until(t.sim.now + 1 * kS);
    EXPECT_EQ(t.sim.last().v.status, Health::Ok);
    EXPECT_EQ(t.sim.last().v.target, kGw);
    for (const auto &s : t.sim.sent)
        EXPECT_EQ(s.to, kGw);
    t.sim.up.erase(kGw);
    t.sim.run_until(t.sim.now + 20 * kS);
    const Sim::Seen *err = t.sim.first(Health::Error);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->v.reason, Reason::gateway_unreachable);
}

TEST(IfaceMachine, LinkDownIsImmediateAndCancelsProbes)
{
    Tracker t(shipped());
    t.start();
    t.sim.run_until(t.sim.now + 2 * kS + 15 * kMs); // the second cycle is in flight now
    size_t before = t.sim.verdicts.size();
    sched::LinkView l = link_up();
    l.usable = false;
    MonoUs at = t.sim.now;
    t.m.on_link(l, at);
    ASSERT_EQ(t.sim.verdicts.size(), before + 1);
    const Sim::Seen &s = t.sim.last();
    EXPECT_EQ(s.at, at); // same instant: no waiting for probe timeouts
    EXPECT_EQ(s.v.status, Health::Error);
    EXPECT_EQ(s.v.reason, Reason::link_down);
    EXPECT_TRUE(s.v.immediate);
    EXPECT_EQ(s.v.shell_msg, "link down");
    EXPECT_TRUE(t.sim.pending.empty());
    EXPECT_FALSE(t.sim.cancelled.empty());
    // While down: periodic verdicts (hooks' cadence), no probes.
    size_t sent = t.sim.sent.size();
    t.sim.run_until(at + 45 * kS);
    EXPECT_EQ(t.sim.sent.size(), sent);
    EXPECT_GE(t.sim.verdicts.size(), before + 3);
    EXPECT_FALSE(t.sim.last().v.transition);
    // Link up: a cycle starts at once.
    MonoUs up_at = t.sim.now;
    t.m.on_link(link_up(), up_at);
    EXPECT_GT(t.sim.sent.size(), sent);
    t.sim.run_until(up_at + 100 * kMs);
    EXPECT_EQ(t.sim.last().v.status, Health::Ok);
    EXPECT_EQ(t.sim.last().at - up_at, 10 * kMs);
}

TEST(IfaceMachine, FirstLossAfterLinkUpIsForgiven)
{
    IfaceParams p = shipped();
    p.tries = 1; // without forgiveness, one failed attempt would be ERROR
    p.tries_up = 1;
    Tracker t(p);
    t.start();
    t.sim.run_until(t.sim.now + 1 * kS);
    sched::LinkView l = link_up();
    l.usable = false;
    t.m.on_link(l, t.sim.now);
    // ARP warm-up: the first echo of each target right after link-up is lost.
    std::map<IpAddr, unsigned> base = t.sim.echoes;
    t.sim.drop = [&](const IpAddr &a, unsigned n) { return n < base[a] + 2; };
    MonoUs up_at = t.sim.now;
    t.m.on_link(link_up(), up_at);
    t.sim.run_until(up_at + 10 * kS);
    const Sim::Seen *ok = t.sim.first(Health::Ok, up_at);
    ASSERT_NE(ok, nullptr);
    // Second attempt after the short burst spacing (200 ms), not interval_tries (1 s).
    EXPECT_LE(ok->at - up_at, 2 * kS + 2 * kS + 200 * kMs + 10 * kMs);
    for (const Sim::Seen &s : t.sim.verdicts)
        if (s.at > up_at) {
            EXPECT_NE(s.v.status, Health::Error);
        }
}

TEST(IfaceMachine, AFlappingLinkCostsOneTransitionNotOnePerFlap)
{
    Tracker t(shipped());
    t.start();
    t.sim.run_until(t.sim.now + 1 * kS);
    size_t before = t.sim.verdicts.size();
    sched::LinkView down = link_up();
    down.usable = false;
    // 100 flaps in one second.
    for (int i = 0; i < 100; i++) {
        t.m.on_link(down, t.sim.now);
        t.sim.run_until(t.sim.now + 5 * kMs);
        t.m.on_link(link_up(), t.sim.now);
        t.sim.run_until(t.sim.now + 5 * kMs);
    }
    unsigned transitions = 0;
    for (size_t k = before; k < t.sim.verdicts.size(); k++)
        transitions += t.sim.verdicts[k].v.transition;
    EXPECT_LE(transitions, 3u); // down, (up, down) at most: later ups are held
    // Stable from now on: OK after the hold (250 ms) and one probe round trip.
    MonoUs stable = t.sim.now;
    t.sim.run_until(stable + 1 * kS);
    const Sim::Seen *ok = t.sim.first(Health::Ok, stable);
    ASSERT_NE(ok, nullptr);
    EXPECT_LE(ok->at - stable, 250 * kMs + 10 * kMs);
    // A single outage later (after a quiet period) is not held.
    t.sim.run_until(t.sim.now + 5 * kS);
    t.m.on_link(down, t.sim.now);
    MonoUs up = t.sim.now + 1 * kS;
    t.sim.run_until(up);
    t.m.on_link(link_up(), up);
    t.sim.run_until(up + 100 * kMs);
    const Sim::Seen *ok2 = t.sim.first(Health::Ok, up);
    ASSERT_NE(ok2, nullptr);
    EXPECT_EQ(ok2->at - up, 10 * kMs);
}

TEST(IfaceMachine, MissingDeviceAddressAndGateway)
{
    Tracker t(shipped());
    sched::LinkView l = link_up();
    l.device_present = false;
    t.m.on_link(l, t.sim.now);
    t.start();
    EXPECT_EQ(t.sim.last().v.reason, Reason::no_device);

    l = link_up();
    l.addr[sched::kV4] = IpAddr();
    t.m.on_link(l, t.sim.now);
    EXPECT_EQ(t.sim.last().v.reason, Reason::no_address);
    EXPECT_NE(t.sim.last().v.shell_msg.find("interface have no IPv4"), std::string::npos);

    l = link_up();
    l.gw[sched::kV4] = IpAddr();
    t.m.on_link(l, t.sim.now);
    EXPECT_EQ(t.sim.last().v.reason, Reason::no_gateway);
    EXPECT_NE(t.sim.last().v.shell_msg.find("no IPv4 gateway"), std::string::npos);
}

TEST(IfaceMachine, DualStackIsOkIfEitherFamilyAnswers)
{
    IfaceParams p = shipped();
    p.family[sched::kV6] = true;
    Tracker t(p);
    t.sim.up = {kGw, kGw6, kVps6}; // IPv4 upstream broken, IPv6 fine
    t.start();
    t.sim.run_until(t.sim.now + 30 * kS);
    ASSERT_FALSE(t.sim.verdicts.empty());
    EXPECT_EQ(t.sim.verdicts[0].v.status, Health::Ok);
    EXPECT_EQ(t.sim.verdicts[0].v.target, kVps6);
    // The families probe in parallel; the cycle ends when IPv4 has used its 3 attempts
    // (VPS 2 s + host 2 s each, 1 s apart), not after IPv4 then IPv6 as in the shell.
    EXPECT_EQ(t.sim.verdicts[0].at, 1 * kS + 3 * 4 * kS + 2 * kS);
    EXPECT_NE(t.sim.verdicts[0].v.failed_hosts[sched::kV4], "");
}

TEST(IfaceMachine, CheckQualityLossFailsAndRecovers)
{
    IfaceParams p = shipped();
    p.check_quality = true;
    p.failure_loss_pct = 20;
    p.recovery_loss_pct = 5;
    Tracker t(p);
    t.start();
    t.sim.run_until(t.sim.now + 30 * kS); // 20+ clean samples
    EXPECT_EQ(t.sim.last().v.status, Health::Ok);
    MonoUs lossy = t.sim.now;
    // 1 echo in 3 lost to the VPS: one answers per attempt, so the cycle is OK, but the
    // window's loss is ~33 %.
    t.sim.drop = [](const IpAddr &a, unsigned n) { return a == kVps && n % 3 == 0; };
    t.sim.run_until(lossy + 60 * kS);
    const Sim::Seen *err = t.sim.first(Health::Error, lossy);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->v.reason, Reason::quality_loss);
    EXPECT_NE(err->v.shell_msg.find("Packet loss is"), std::string::npos);
    EXPECT_NE(err->v.shell_msg.find("failure limit defined at 20"), std::string::npos);
    MonoUs clean = t.sim.now;
    t.sim.drop = nullptr;
    t.sim.run_until(clean + 400 * kS);
    const Sim::Seen *ok = t.sim.first(Health::Ok, clean);
    ASSERT_NE(ok, nullptr);
    // Stays OK afterwards: the outage's losses do not fail the new state.
    for (const Sim::Seen &s : t.sim.verdicts)
        if (s.at > ok->at) {
            EXPECT_EQ(s.v.status, Health::Ok) << s.v.message;
        }
}

TEST(IfaceMachine, CheckQualityLatency)
{
    IfaceParams p = shipped();
    p.check_quality = true;
    p.failure_latency_ms = 300;
    Tracker t(p);
    t.start();
    t.sim.run_until(t.sim.now + 30 * kS);
    t.sim.rtt[kVps] = 450 * kMs;
    MonoUs slow = t.sim.now;
    t.sim.run_until(slow + 60 * kS);
    const Sim::Seen *err = t.sim.first(Health::Error, slow);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->v.reason, Reason::quality_latency);
    EXPECT_NE(err->v.shell_msg.find("Latency is 450"), std::string::npos) << err->v.shell_msg;
}

TEST(IfaceMachine, QualityNotJudgedOnTheFirstCycle)
{
    IfaceParams p = shipped();
    p.check_quality = true;
    p.failure_latency_ms = 5;
    Tracker t(p);
    t.start();
    t.sim.run_until(t.sim.now + 100 * kMs);
    EXPECT_EQ(t.sim.last().v.status, Health::Ok);
}

TEST(IfaceMachine, UpHysteresisNeedsConsecutiveGoodAttempts)
{
    IfaceParams p = shipped();
    p.up_hysteresis = true;
    p.tries_up = 3;
    p.failure_interval_us = 5 * kS;
    Tracker t(p);
    t.start();
    t.sim.up = {kGw};
    t.sim.run_until(t.sim.now + 30 * kS);
    ASSERT_NE(t.sim.first(Health::Error), nullptr);
    MonoUs back = t.sim.now;
    t.sim.up = {kGw, kVps};
    t.sim.run_until(back + 30 * kS);
    const Sim::Seen *ok = t.sim.first(Health::Ok, back);
    ASSERT_NE(ok, nullptr);
    // 3 good attempts, 1 s apart, in the first ERROR cycle after the repair.
    unsigned vps_probes = 0;
    for (const auto &s : t.sim.sent)
        if (s.at >= back && s.at <= ok->at && s.to == kVps)
            vps_probes++;
    EXPECT_EQ(vps_probes, 3u * 2u);
}

TEST(IfaceMachine, FlapDampingHoldsDownThenReleases)
{
    IfaceParams p = shipped();
    p.tries = 1;
    p.tries_up = 1;
    p.failure_interval_us = 2 * kS;
    p.damping.enabled = true;
    p.damping.half_life_us = 30 * kS;
    Tracker t(p);
    t.start();
    // Flap: 6 s down, 6 s up, three times.
    for (int i = 0; i < 3; i++) {
        t.sim.up = {kGw};
        t.sim.run_until(t.sim.now + 8 * kS);
        t.sim.up = {kGw, kVps};
        t.sim.run_until(t.sim.now + 6 * kS);
    }
    EXPECT_EQ(t.sim.last().v.status, Health::Error);
    EXPECT_EQ(t.sim.last().v.reason, Reason::flap_damped);
    EXPECT_GT(t.m.penalty(t.sim.now), p.damping.reuse);
    // Stable from now on: released once the penalty decays below `reuse`.
    t.sim.run_until(t.sim.now + 120 * kS);
    EXPECT_EQ(t.sim.last().v.status, Health::Ok);
}

TEST(IfaceMachine, AdaptiveTimeoutFollowsRto)
{
    IfaceParams p = shipped();
    p.adaptive_timeout = true;
    p.min_timeout_us = 100 * kMs;
    Tracker t(p);
    t.start();
    t.sim.run_until(t.sim.now + 30 * kS);
    // 10 ms RTT, no variance: RTO clamps at the minimum, far below the 2 s timeout.
    ASSERT_FALSE(t.sim.sent.empty());
    EXPECT_EQ(t.sim.sent.back().timeout, 100 * kMs);
    // So a black hole is seen sooner than with fixed timeouts (14-16 s here): the VPS
    // probes give up after 100 ms; the hosts, never measured, still get the full 2 s.
    MonoUs hole = t.sim.now;
    t.sim.up = {kGw};
    t.sim.run_until(hole + 60 * kS);
    const Sim::Seen *err = t.sim.first(Health::Error, hole);
    ASSERT_NE(err, nullptr);
    EXPECT_LE(err->at - hole, 3 * (100 * kMs + 2 * kS) + 2 * kS + 2 * kS + 50 * kMs);
}

TEST(IfaceMachine, StaleResultsAreIgnored)
{
    Tracker t(shipped());
    t.start();
    t.m.on_probe_result(999999, ProbeOutcome::Reply, 5, t.sim.now);
    t.sim.run_until(t.sim.now + 100 * kMs);
    EXPECT_EQ(t.sim.verdicts.size(), 1u);
}

TEST(IfaceMachine, OmrvpnIgnoresLinkState)
{
    IfaceParams p = sched::IfaceParams::from_config("omrvpn", cfg::TrackerOptions());
    EXPECT_TRUE(p.always_up);
    Tracker t(p, nullptr, "omrvpn");
    sched::LinkView l = link_up();
    l.usable = false;
    t.m.on_link(l, t.sim.now);
    t.start();
    t.sim.run_until(t.sim.now + 100 * kMs);
    EXPECT_EQ(t.sim.last().v.status, Health::Ok);
}

TEST(TargetRegistry, QuarantinesAHostThatFailsEverywhereWhileWansWork)
{
    sched::TargetRegistry reg(60 * kS, 600 * kS);
    MonoUs now = 100 * kS;
    reg.report_wan_alive("wan1", now);
    reg.report_host(kH1, "wan1", false, now);
    EXPECT_FALSE(reg.quarantined(kH1, now)); // one WAN is no evidence
    reg.report_host(kH1, "wan2", false, now + 1 * kS);
    EXPECT_FALSE(reg.quarantined(kH1, now + 1 * kS)); // wan2 not known alive
    reg.report_wan_alive("wan2", now + 2 * kS);
    reg.report_host(kH1, "wan2", false, now + 2 * kS);
    EXPECT_TRUE(reg.quarantined(kH1, now + 2 * kS));
    EXPECT_EQ(reg.quarantined_hosts(now + 2 * kS).size(), 1u);
    EXPECT_FALSE(reg.quarantined(kH1, now + 2 * kS + 600 * kS)); // released later
    // A success anywhere lifts it.
    reg.report_host(kH1, "wan1", true, now + 3 * kS);
    EXPECT_FALSE(reg.quarantined(kH1, now + 3 * kS));
}

TEST(TargetRegistry, TrackersSkipAQuarantinedHost)
{
    sched::TargetRegistry reg;
    IfaceParams p = shipped();
    Tracker a(p, &reg, "wan1"), b(p, &reg, "wan2");
    // VPS unreachable everywhere; host1 dead everywhere; host2 fine.
    for (Tracker *t : {&a, &b}) {
        t->sim.up = {kGw, kH2, kH3};
        t->start();
    }
    for (int i = 0; i < 5; i++) {
        a.sim.run_until(a.sim.now + 10 * kS);
        b.sim.run_until(b.sim.now + 10 * kS);
    }
    EXPECT_TRUE(reg.quarantined(kH1, a.sim.now));
    size_t h1_before = a.sim.echoes[kH1];
    a.sim.run_until(a.sim.now + 60 * kS);
    EXPECT_EQ(a.sim.echoes[kH1], h1_before); // rotated out
    EXPECT_EQ(a.sim.last().v.status, Health::Ok);
}
