// The interface tracker's driver: executes what the pure IfaceMachine decides.
//
// One per tracked UCI interface. It owns an ICMP prober per family (bound to the WAN's
// device and source address), one timer for the machine's wake-ups, and it listens to
// the netlink monitor for its device. Verdicts go to the status board, to the log (state
// changes at NOTICE) and to the post-tracking hooks with omr-tracker's variables
// (reference §4.2): on every transition, and — by default, because the stock hooks rely on
// it for self-healing (§4.1) — after every cycle.
#pragma once

#include "config/config.h"
#include "core/loop.h"
#include "hooks/runner.h"
#include "icmp/prober.h"
#include "netlink/monitor.h"
#include "omrt/clock.h"
#include "sched/iface_machine.h"
#include "sched/probes.h"
#include "status/board.h"

#include <memory>
#include <string>
#include <vector>

namespace sched {

// Shared services the trackers use; owned by the daemon, outliving every tracker.
struct TrackerServices {
    core::Loop &loop;
    const omrt::Clock &clock;
    status::Board &board;
    hooks::HookRunner *hooks = nullptr; // post-tracking.d; nullptr: no hooks
    nl::Monitor *netlink = nullptr;     // nullptr: the device is assumed up (tests)
    TargetRegistry *registry = nullptr;
    // Observer of verdicts (the server tracker listens for VPS probe failures); optional.
    class IfaceObserver *observer = nullptr;
};

class IfaceObserver {
public:
    virtual void on_iface_verdict(const std::string &iface, const Verdict &v) = 0;
    // Netlink saw the WAN change (up, down, new address or gateway).
    virtual void on_iface_link_changed(const std::string &iface) = 0;

protected:
    ~IfaceObserver() = default;
};

// Values the hooks need that come from other UCI files (reference §4.2).
struct IfaceContext {
    bool ipv6_disabled = true; // openmptcprouter.settings.disable_ipv6
};

class IfaceTracker final : private IfaceEffects,
                           private icmp::ProbeListener,
                           private OtherProbeListener,
                           private nl::LinkListener {
public:
    IfaceTracker(TrackerServices &svc, const cfg::Interface &iface, const IfaceContext &ctx);
    ~IfaceTracker();
    IfaceTracker(const IfaceTracker &) = delete;
    IfaceTracker &operator=(const IfaceTracker &) = delete;

    void start();
    // A changed `interface` section (reload): new parameters, statistics kept.
    void update(const cfg::Interface &iface, const IfaceContext &ctx);
    void recheck();
    // VPS addresses to probe through this interface, per family (§3.2 step 6.1).
    void set_servers(unsigned fam, std::vector<Target> servers);
    // Public hosts (resolved), per family.
    void set_hosts(unsigned fam, std::vector<Target> hosts);

    const std::string &name() const { return iface_.name; }
    const IfaceMachine &machine() const { return machine_; }
    const icmp::Prober &prober(unsigned fam) const { return *prober_[fam]; }
    uint64_t hook_runs() const { return hook_runs_; }

private:
    // IfaceEffects
    void send_probe(uint32_t id, unsigned fam, TargetKind kind, const omrt::IpAddr &target,
                    uint16_t port, int64_t timeout_us) override;
    void cancel_probe(uint32_t id) override;
    void wake_at(omrt::MonoUs t) override;
    void on_verdict(const Verdict &v) override;
    // icmp::ProbeListener
    void on_probe_result(const icmp::ProbeResult &r) override;
    // OtherProbeListener (types dns and httping)
    void on_other_probe(const OtherProbeResult &r) override;
    // nl::LinkListener
    void on_link_change(const nl::LinkChange &change) override;

    void on_wake();
    void begin();
    void refresh_link();
    LinkView link_view() const;
    void open_probers(const LinkView &l);
    void run_hooks(const Verdict &v);

    TrackerServices &svc_;
    cfg::Interface iface_;
    IfaceContext ctx_;
    std::string device_;
    IfaceMachine machine_;
    std::unique_ptr<icmp::Prober> prober_[2];
    std::string prober_device_[2];
    omrt::IpAddr prober_source_[2];
    bool prober_ok_[2] = {false, false};
    std::string prober_error_;
    core::Timer wake_;
    enum class Via : uint8_t { icmp, dns, https };
    struct Flight {
        uint32_t id;
        unsigned fam;
        uint64_t probe;
        Via via = Via::icmp;
    };
    size_t find_flight(uint32_t id) const; // flights_.size() when none
    std::unique_ptr<DnsProber> dns_;
    std::unique_ptr<HttpsProber> https_;
    std::vector<Flight> flights_;
    // Previous values for the hooks' PREV_* variables.
    std::string prev_status_;
    std::string prev_device_;
    std::string prev_ip_[2];
    uint64_t hook_runs_ = 0;
    uint64_t other_sent_ = 0, other_replies_ = 0, other_failed_ = 0; // dns, httping

    bool started_ = false;
    bool running_ = false; // started and netlink synced
};

// The post-tracking hooks' variables (reference §4.2) for one verdict.
hooks::HookEnv make_hook_env(const cfg::Interface &iface, const IfaceContext &ctx,
                             const std::string &device, const Verdict &v,
                             const std::string &prev_status, const std::string &prev_device,
                             const std::string prev_ip[2]);

} // namespace sched
