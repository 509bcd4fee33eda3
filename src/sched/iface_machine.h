// The interface tracker's decision core: a pure state machine (STYLE.md practice 9).
//
// It keeps omr-tracker's cycle semantics (reference §3.2–§3.9): a cycle makes up to
// `tries` attempts (`tries_up` while the interface is ERROR); an attempt probes the
// gateway (informational, decisive only for type none) and the VPS addresses through this
// interface, and only when none of them answers, the next public host of the rotation; the
// first answering attempt makes the cycle OK; `check_quality` thresholds apply to OK
// cycles; the next cycle starts after `interval` (OK) or `failure_interval` (ERROR, plus
// `wait_test`).
//
// What it adds: both families run at the same time; per-target rolling windows (loss,
// median, p95, jitter) instead of one sample; optional up-hysteresis, flap damping and
// adaptive (RFC 6298) timeouts; link events end a cycle at once (link down → ERROR
// link_down without waiting for timeouts; link up / new address / new gateway → a new
// cycle at once with short retry spacing and the first loss forgiven); targets that fail
// on every WAN are quarantined (TargetRegistry). DESIGN.md §7 lists every deviation.
//
// It does no I/O and reads no clock: time arrives as `now` with each input, and every
// effect (send a probe, cancel it, wake me at T, here is a verdict) goes through
// IfaceEffects. Effects are never re-entered: the driver must not call back into the
// machine from inside an effect.
#pragma once

#include "config/config.h"
#include "icmp/stats.h"
#include "omrt/clock.h"
#include "omrt/ipaddr.h"
#include "omrt/reason.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sched {

class TargetRegistry;

enum : unsigned { kV4 = 0, kV6 = 1 };

enum class TargetKind : uint8_t { Gateway, Server, Host };
const char *target_kind_name(TargetKind k);

enum class ProbeOutcome : uint8_t {
    Reply,       // answered; rtt_us valid
    Timeout,     // no answer within the probe's timeout
    Unreachable, // an ICMP error came back (net/host unreachable, TTL exceeded, ...)
    LocalError,  // could not send (no route, EPERM, ...)
};

// A probe target offered by the driver: a resolved address and what to call it.
struct Target {
    omrt::IpAddr addr;
    std::string label; // "vps" (server section), "198.51.100.1" (host entry), ...
    uint16_t port = 0; // servers: the API port (type httping)
};

struct FlapDamping {
    bool enabled = false;
    double penalty = 1000;     // added on every OK -> ERROR transition
    double suppress = 2000;    // above: an OK verdict is held down as ERROR flap_damped
    double reuse = 750;        // below: released again
    double max_penalty = 6000; // cap, so a long flapping period does not last forever
    int64_t half_life_us = 60 * omrt::kUsPerS;
};

struct IfaceParams {
    cfg::ProbeType type = cfg::ProbeType::ping;
    bool family[2] = {true, false};
    unsigned count = 2;
    int64_t timeout_us = 2 * omrt::kUsPerS;
    unsigned tries = 5;
    unsigned tries_up = 5;
    int64_t interval_us = 2 * omrt::kUsPerS;
    int64_t interval_tries_us = 1 * omrt::kUsPerS;
    int64_t failure_interval_us = 0; // 0: interval_us
    int64_t wait_test_us = 0;
    bool check_quality = false;
    double failure_loss_pct = 40;
    double failure_latency_ms = 1000;
    double recovery_loss_pct = 10;
    double recovery_latency_ms = 500;
    bool always_up = false; // omrvpn: link state not used (§3.2 step 3)
    // server_test (§3.7, its intended meaning): ERROR when the interface reaches the
    // Internet (a public host) but none of the VPS addresses.
    bool server_test = false;
    // omr-trackerd extensions
    unsigned window = 20;       // outcomes kept per target
    bool up_hysteresis = false; // ERROR -> OK needs `tries_up` consecutive good attempts
    bool adaptive_timeout = false;
    int64_t min_timeout_us = 500 * omrt::kUsPerMs;
    int64_t burst_spacing_us = 200 * omrt::kUsPerMs; // retry spacing right after a link change
    // A link that went down twice within flap_window_us must stay up flap_hold_us before
    // it is probed again: a flapping cable costs one transition, not one per flap. A
    // single outage is not delayed.
    int64_t flap_window_us = 2 * omrt::kUsPerS;
    int64_t flap_hold_us = 250 * omrt::kUsPerMs;
    FlapDamping damping;

    static IfaceParams from_config(const std::string &iface, const cfg::TrackerOptions &o);
};

// What netlink (and the configuration's overrides) say about the link right now.
struct LinkView {
    bool device_present = false;
    bool usable = false; // operstate up (or treated as such)
    std::string device;
    omrt::IpAddr addr[2]; // family's source address (invalid: none)
    omrt::IpAddr gw[2];   // family's gateway or point-to-point peer (invalid: none)
    // A default route through the device without a gateway address ("default dev
    // wwan0", raw-IP modems): the family can be probed, there is just no gateway to ping.
    bool direct[2] = {false, false};
};

struct Verdict {
    omrt::Health status = omrt::Health::Unknown;
    omrt::Health prev = omrt::Health::Unknown;
    omrt::Reason reason = omrt::Reason::pending;
    bool transition = false; // status differs from prev
    bool immediate = false;  // decided by a link event, not at the end of a cycle
    std::string message;     // ours, with the evidence
    std::string shell_msg;   // OMR_TRACKER_STATUS_MSG, worded like the shell tracker
    // Measurements of the target that decided (NaN when none).
    double latency_ms;
    double loss_pct;
    double jitter_ms;
    double p95_ms;
    omrt::IpAddr target;
    TargetKind target_kind = TargetKind::Server;
    omrt::IpAddr host[2];        // current tracking host per family (OMR_TRACKER_HOST/6)
    std::string failed_hosts[2]; // "h1,h2" (OMR_TRACKER_LIST_HOSTS/6)
    omrt::IpAddr addr[2], gw[2]; // as used in this cycle
    Verdict();
};

class IfaceEffects {
public:
    // Send one probe to |target| of |kind|: the driver picks the method from the type
    // (gateways are always pinged, §3.2 step 6; servers and hosts: ICMP for ping, a DNS
    // query to hosts for dns, an HTTPS round trip for httping, to |port| for servers).
    // The result comes back through IfaceMachine::on_probe_result, never from inside.
    virtual void send_probe(uint32_t id, unsigned fam, TargetKind kind, const omrt::IpAddr &target,
                            uint16_t port, int64_t timeout_us) = 0;
    virtual void cancel_probe(uint32_t id) = 0;
    // Replaces any earlier request; the driver calls on_timer() at (or after) |t|.
    virtual void wake_at(omrt::MonoUs t) = 0;
    virtual void on_verdict(const Verdict &v) = 0;

protected:
    ~IfaceEffects() = default;
};

class IfaceMachine {
public:
    IfaceMachine(std::string name, const IfaceParams &p, IfaceEffects &fx,
                 TargetRegistry *registry = nullptr);
    IfaceMachine(const IfaceMachine &) = delete;
    IfaceMachine &operator=(const IfaceMachine &) = delete;

    // Inputs. Each may produce effects before it returns.
    void start(omrt::MonoUs now);
    void on_timer(omrt::MonoUs now);
    void on_probe_result(uint32_t id, ProbeOutcome outcome, int64_t rtt_us, omrt::MonoUs now);
    void on_link(const LinkView &link, omrt::MonoUs now);
    void set_servers(unsigned fam, std::vector<Target> servers);
    void set_hosts(unsigned fam, std::vector<Target> hosts);
    void recheck(omrt::MonoUs now); // start a cycle now unless one is running
    // New parameters (reload of a changed section keeps the statistics).
    void set_params(const IfaceParams &p, omrt::MonoUs now);

    const std::string &name() const { return name_; }
    omrt::Health status() const { return status_; }
    const LinkView &link() const { return link_; }
    bool cycle_running() const { return running_; }
    unsigned cycles() const { return cycles_; }
    double penalty(omrt::MonoUs now) const;
    const IfaceParams &params() const { return p_; }
    // Summary of one target's window (zeroes when never probed).
    icmp::WindowSummary target_summary(const omrt::IpAddr &a) const;

private:
    enum class Stage : uint8_t { Idle, Primary, Fallback, WaitRetry, Done };

    struct Flight {
        uint32_t id;
        unsigned fam;
        unsigned attempt;
        TargetKind kind;
        omrt::IpAddr target;
        bool counts; // false: result only feeds statistics (an older attempt)
    };

    struct TargetStats {
        omrt::IpAddr addr;
        icmp::RollingWindow window;
        icmp::RtoEstimator rto;
        TargetStats(const omrt::IpAddr &a, unsigned w) : addr(a), window(w) {}
    };

    struct Family {
        Stage stage = Stage::Idle;
        unsigned attempt = 0;
        unsigned budget = 0;
        unsigned good_in_row = 0; // up-hysteresis
        bool success = false;
        bool gw_answered = false;
        bool gw_probed = false;
        bool skipped = false;    // could not run: no address or no gateway
        bool recovering = false; // up-hysteresis: good attempts, not yet enough in a row
        // Current attempt's primary/fallback bookkeeping.
        unsigned pending_primary = 0;
        unsigned pending_fallback = 0;
        bool primary_ok = false;
        omrt::IpAddr fallback_host;
        std::string fallback_label;
        omrt::MonoUs retry_at = 0;
        // Outcome of the deciding target of this cycle.
        omrt::IpAddr decided_by;
        TargetKind decided_kind = TargetKind::Server;
        std::string failed_hosts;
        std::string failed_targets; // our message: "vps 198.51.100.10, 198.51.100.1"
        unsigned host_index = 0;    // rotation, persists across cycles
        std::vector<Target> servers;
        std::vector<Target> hosts;
    };

    void start_cycle(omrt::MonoUs now, bool after_link_change);
    void abort_cycle();
    void start_attempt(unsigned fam, omrt::MonoUs now);
    void start_fallback(unsigned fam, omrt::MonoUs now);
    void attempt_failed(unsigned fam, omrt::MonoUs now);
    void attempt_succeeded(unsigned fam, omrt::MonoUs now);
    void family_done(unsigned fam, bool ok, omrt::MonoUs now);
    void maybe_finish_cycle(omrt::MonoUs now);
    void finish_cycle(omrt::MonoUs now);
    void publish(Verdict &v, omrt::MonoUs now);
    void link_down_verdict(omrt::MonoUs now);
    void immediate_verdict(omrt::Reason r, std::string msg, omrt::MonoUs now);
    void schedule_wake();
    void send(unsigned fam, TargetKind kind, const omrt::IpAddr &to, omrt::MonoUs now,
              uint16_t port = 0);
    int64_t probe_timeout(const omrt::IpAddr &to);
    TargetStats &stats_for(const omrt::IpAddr &a);
    const TargetStats *find_stats(const omrt::IpAddr &a) const;
    bool pick_host(unsigned fam, omrt::MonoUs now, Target &out);
    // Sets v.target to |t| and v's measurements from its window; returns the window.
    icmp::WindowSummary record_target(Verdict &v, const omrt::IpAddr &t) const;
    void apply_quality(Verdict &v);
    void decay_penalty(omrt::MonoUs now);
    bool link_ok() const { return p_.always_up || (link_.device_present && link_.usable); }

    std::string name_;
    IfaceParams p_;
    IfaceEffects &fx_;
    TargetRegistry *registry_;

    LinkView link_;
    bool started_ = false;
    bool running_ = false;
    omrt::MonoUs downs_[2] = {INT64_MIN / 2, INT64_MIN / 2}; // the last two link-down times
    omrt::MonoUs up_hold_until_ = 0; // a held link-up: probe from then on if still up
    bool forgive_ = false;           // next failed attempt is ARP/ND warm-up: one extra try
    bool burst_ = false;             // this cycle follows a link change: short retry spacing
    omrt::Health status_ = omrt::Health::Unknown;
    omrt::Reason reason_ = omrt::Reason::pending;
    omrt::MonoUs next_cycle_at_ = 0;
    uint32_t next_id_ = 1;
    unsigned cycles_ = 0;
    double penalty_ = 0;
    omrt::MonoUs penalty_at_ = 0;
    bool suppressed_ = false;
    Family fam_[2];
    std::vector<Flight> flights_;
    std::vector<TargetStats> stats_;
};

// Link-vs-target disambiguation shared by all interface machines: a host that fails on
// every WAN that tried it, while each of those WANs reached another target, is not a
// link problem — it is quarantined (skipped by the rotation) for a while.
class TargetRegistry {
public:
    explicit TargetRegistry(int64_t window_us = 60 * omrt::kUsPerS,
                            int64_t quarantine_us = 600 * omrt::kUsPerS)
        : window_us_(window_us), quarantine_us_(quarantine_us)
    {}
    void report_host(const omrt::IpAddr &host, const std::string &wan, bool ok, omrt::MonoUs now);
    // |wan| reached some target (a VPS or another host) at |now|.
    void report_wan_alive(const std::string &wan, omrt::MonoUs now);
    bool quarantined(const omrt::IpAddr &host, omrt::MonoUs now) const;
    // Hosts currently quarantined (status, logs).
    std::vector<omrt::IpAddr> quarantined_hosts(omrt::MonoUs now) const;
    void forget_wan(const std::string &wan);

private:
    struct Report {
        std::string wan;
        omrt::MonoUs at;
        bool ok;
    };
    struct Host {
        omrt::IpAddr addr;
        std::vector<Report> reports; // latest per WAN
        omrt::MonoUs until = 0;      // quarantined until
    };
    void evaluate(Host &h, omrt::MonoUs now);
    // |wan|'s report in |v|, or nullptr.
    static Report *find_wan(std::vector<Report> &v, const std::string &wan);
    int64_t window_us_;
    int64_t quarantine_us_;
    std::vector<Host> hosts_;
    std::vector<Report> alive_; // latest per WAN
};

} // namespace sched
