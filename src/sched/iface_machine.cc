#include "sched/iface_machine.h"

#include "core/str.h"
#include "core/vec.h"

#include <algorithm>
#include <cmath>

namespace sched {

namespace {

const char *fam_name(unsigned fam)
{
    return fam == kV4 ? "IPv4" : "IPv6";
}

double us_to_ms(int64_t us)
{
    return us < 0 ? NAN : double(us) / 1000.0;
}

void append_item(std::string &list, std::string_view item, const char *sep)
{
    if (list.find(item) != std::string::npos)
        return;
    if (!list.empty())
        list += sep;
    list += item;
}

// Quality is judged on a window only once it holds this many outcomes, so a single lost
// echo right after start or recovery cannot flip the verdict.
unsigned min_quality_samples(const IfaceParams &p)
{
    return std::min(p.window, 10u);
}

} // namespace

const char *target_kind_name(TargetKind k)
{
    switch (k) {
    case TargetKind::Gateway:
        return "gateway";
    case TargetKind::Server:
        return "server";
    case TargetKind::Host:
        return "host";
    }
    return "?";
}

Verdict::Verdict() : latency_ms(NAN), loss_pct(NAN), jitter_ms(NAN), p95_ms(NAN) {}

IfaceParams IfaceParams::from_config(const std::string &iface, const cfg::TrackerOptions &o)
{
    IfaceParams p;
    p.type = o.type;
    p.family[kV4] = o.family != cfg::Family::ipv6;
    p.family[kV6] = o.family != cfg::Family::ipv4;
    p.count = std::max(1u, o.count);
    p.timeout_us = int64_t(std::max(1u, o.timeout_s)) * omrt::kUsPerS;
    p.tries = std::max(1u, o.tries);
    p.tries_up = std::max(1u, o.tries_up);
    p.interval_us = int64_t(o.interval_s) * omrt::kUsPerS;
    p.interval_tries_us = int64_t(o.interval_tries_s) * omrt::kUsPerS;
    p.failure_interval_us = int64_t(o.failure_interval_s) * omrt::kUsPerS;
    p.wait_test_us = int64_t(o.wait_test_s) * omrt::kUsPerS;
    p.check_quality = o.check_quality;
    p.server_test = o.server_test;
    p.failure_loss_pct = o.failure_loss_pct;
    p.failure_latency_ms = o.failure_latency_ms;
    p.recovery_loss_pct = o.recovery_loss_pct;
    p.recovery_latency_ms = o.recovery_latency_ms;
    // §3.2 step 3: omrvpn is always treated as up; its tunnel device comes and goes.
    p.always_up = iface == "omrvpn";
    p.window = std::max(1u, o.window);
    p.up_hysteresis = o.up_hysteresis;
    p.damping.enabled = o.flap_damping;
    p.damping.half_life_us = int64_t(std::max(1u, o.flap_half_life_s)) * omrt::kUsPerS;
    p.adaptive_timeout = o.adaptive_timeout;
    p.min_timeout_us = int64_t(o.min_timeout_ms) * omrt::kUsPerMs;
    return p;
}

IfaceMachine::IfaceMachine(std::string name, const IfaceParams &p, IfaceEffects &fx,
                           TargetRegistry *registry)
    : name_(std::move(name)), p_(p), fx_(fx), registry_(registry)
{}

// --------------------------------------------------------------------------- inputs

void IfaceMachine::start(omrt::MonoUs now)
{
    if (started_)
        return;
    started_ = true;
    start_cycle(now, false);
}

void IfaceMachine::set_params(const IfaceParams &p, omrt::MonoUs now)
{
    bool window_changed = p.window != p_.window;
    p_ = p;
    if (window_changed)
        stats_.clear();
    if (started_)
        start_cycle(now, false);
}

void IfaceMachine::set_servers(unsigned fam, std::vector<Target> servers)
{
    fam_[fam].servers = std::move(servers);
}

void IfaceMachine::set_hosts(unsigned fam, std::vector<Target> hosts)
{
    Family &F = fam_[fam];
    F.hosts = std::move(hosts);
    if (F.host_index >= F.hosts.size())
        F.host_index = 0;
}

void IfaceMachine::recheck(omrt::MonoUs now)
{
    if (started_ && !running_)
        start_cycle(now, false);
}

void IfaceMachine::on_link(const LinkView &link, omrt::MonoUs now)
{
    LinkView old = link_;
    link_ = link;
    if (!started_)
        return;
    bool was_ok = p_.always_up || (old.device_present && old.usable);
    if (!link_ok()) {
        if (was_ok || up_hold_until_) {
            downs_[0] = downs_[1];
            downs_[1] = now;
        }
        up_hold_until_ = 0;
        // Decide at once: no waiting for probe timeouts (the point of netlink).
        link_down_verdict(now);
        return;
    }
    bool changed = !was_ok || old.device != link.device;
    for (unsigned f = 0; f < 2; f++)
        changed = changed || old.addr[f] != link.addr[f] || old.gw[f] != link.gw[f];
    if (!changed)
        return;
    // Link up, new address or new gateway: probe now, with short retry spacing; the first
    // loss after a link-up is ARP/ND warm-up and is forgiven (one extra attempt).
    forgive_ = forgive_ || !was_ok;
    if (!was_ok && now - downs_[0] < p_.flap_window_us) {
        // Flapping: wait for the link to stay up a moment (on_timer), keep ERROR meanwhile.
        up_hold_until_ = now + p_.flap_hold_us;
        schedule_wake();
        return;
    }
    up_hold_until_ = 0;
    start_cycle(now, true);
}

void IfaceMachine::on_timer(omrt::MonoUs now)
{
    if (!started_)
        return;
    if (up_hold_until_ && now >= up_hold_until_) {
        up_hold_until_ = 0;
        if (link_ok()) {
            start_cycle(now, true);
            return;
        }
    }
    if (running_) {
        for (unsigned f = 0; f < 2; f++) {
            Family &F = fam_[f];
            if (F.stage == Stage::WaitRetry && F.retry_at <= now)
                start_attempt(f, now);
        }
    } else if (next_cycle_at_ <= now) {
        start_cycle(now, false);
        return;
    }
    schedule_wake();
}

void IfaceMachine::on_probe_result(uint32_t id, ProbeOutcome outcome, int64_t rtt_us,
                                   omrt::MonoUs now)
{
    size_t i = core::index_where(flights_, [id](const Flight &f) { return f.id == id; });
    if (i == flights_.size())
        return; // cancelled, or from an aborted cycle
    Flight fl = flights_[i];
    flights_.erase(flights_.begin() + long(i));

    bool ok = outcome == ProbeOutcome::Reply;
    TargetStats &ts = stats_for(fl.target);
    if (ok) {
        ts.window.add_reply(rtt_us);
        ts.rto.on_sample(rtt_us);
    } else {
        ts.window.add_loss();
        if (outcome == ProbeOutcome::Timeout)
            ts.rto.on_timeout();
    }
    if (registry_) {
        if (fl.kind == TargetKind::Host)
            registry_->report_host(fl.target, name_, ok, now);
        if (ok && fl.kind != TargetKind::Gateway)
            registry_->report_wan_alive(name_, now);
    }
    if (!fl.counts || !running_)
        return;

    Family &F = fam_[fl.fam];
    if (fl.attempt != F.attempt)
        return;
    bool gateway_decides = p_.type == cfg::ProbeType::none;
    switch (fl.kind) {
    case TargetKind::Gateway:
        if (ok)
            F.gw_answered = true;
        if (!gateway_decides || F.stage != Stage::Primary)
            return;
        F.pending_primary--;
        if (ok && !F.primary_ok) {
            F.primary_ok = true;
            F.decided_by = fl.target;
            F.decided_kind = TargetKind::Gateway;
        }
        break;
    case TargetKind::Server:
        if (F.stage != Stage::Primary)
            return;
        F.pending_primary--;
        if (ok && !F.primary_ok) {
            F.primary_ok = true;
            F.decided_by = fl.target;
            F.decided_kind = TargetKind::Server;
        }
        break;
    case TargetKind::Host:
        if (F.stage != Stage::Fallback)
            return;
        F.pending_fallback--;
        if (ok) {
            F.decided_by = fl.target;
            F.decided_kind = TargetKind::Host;
            attempt_succeeded(fl.fam, now);
            schedule_wake();
            return;
        }
        if (F.pending_fallback == 0) {
            append_item(F.failed_hosts, F.fallback_label, ",");
            append_item(F.failed_targets, F.fallback_label, ", ");
            attempt_failed(fl.fam, now);
            schedule_wake();
        }
        return;
    }

    if (F.primary_ok) {
        attempt_succeeded(fl.fam, now);
    } else if (F.pending_primary == 0) {
        if (gateway_decides)
            attempt_failed(fl.fam, now);
        else
            start_fallback(fl.fam, now);
    }
    schedule_wake();
}

// --------------------------------------------------------------------------- cycle

void IfaceMachine::abort_cycle()
{
    for (const Flight &f : flights_)
        fx_.cancel_probe(f.id);
    flights_.clear();
    for (Family &F : fam_)
        F.stage = Stage::Idle;
    running_ = false;
}

void IfaceMachine::start_cycle(omrt::MonoUs now, bool after_link_change)
{
    abort_cycle();
    cycles_++;
    burst_ = after_link_change;
    if (!link_ok()) {
        link_down_verdict(now);
        return;
    }
    running_ = true;
    for (unsigned f = 0; f < 2; f++) {
        Family &F = fam_[f];
        F.stage = Stage::Idle;
        F.attempt = 0;
        F.success = false;
        F.skipped = false;
        F.gw_answered = false;
        F.gw_probed = false;
        F.recovering = false;
        F.failed_hosts.clear();
        F.failed_targets.clear();
        F.decided_by = omrt::IpAddr();
        if (!p_.family[f] || !link_.addr[f].valid() || (!link_.gw[f].valid() && !link_.direct[f])) {
            // §3.2 steps 6/7: a family's loop runs only with an address and a gateway (or,
            // our addition, a gateway-less default route through the device).
            F.skipped = true;
            F.stage = Stage::Done;
            continue;
        }
        F.budget = status_ == omrt::Health::Error ? p_.tries_up : p_.tries;
        if (forgive_)
            F.budget++;
    }
    forgive_ = false;
    for (unsigned f = 0; f < 2; f++)
        if (fam_[f].stage == Stage::Idle)
            start_attempt(f, now);
    if (running_) {
        maybe_finish_cycle(now);
        if (running_)
            schedule_wake();
    }
}

void IfaceMachine::start_attempt(unsigned fam, omrt::MonoUs now)
{
    Family &F = fam_[fam];
    F.attempt++;
    F.stage = Stage::Primary;
    F.primary_ok = false;
    F.pending_primary = 0;
    F.pending_fallback = 0;
    F.gw_answered = false;
    F.gw_probed = link_.gw[fam].valid();
    bool gateway_decides = p_.type == cfg::ProbeType::none;
    if (F.gw_probed)
        for (unsigned i = 0; i < p_.count; i++)
            send(fam, TargetKind::Gateway, link_.gw[fam], now);
    if (gateway_decides) {
        F.pending_primary = F.gw_probed ? p_.count : 0;
        if (!F.gw_probed) // nothing to ping: the route is all there is (type none)
            F.primary_ok = true;
        if (F.primary_ok)
            attempt_succeeded(fam, now);
        return;
    }
    // Type dns judges the link by the public hosts only (§3.2 step 6.1).
    if (p_.type != cfg::ProbeType::dns)
        for (const Target &t : F.servers)
            if (t.addr.family == (fam == kV4 ? AF_INET : AF_INET6))
                for (unsigned i = 0; i < p_.count; i++) {
                    send(fam, TargetKind::Server, t.addr, now, t.port);
                    F.pending_primary++;
                }
    if (F.pending_primary == 0)
        start_fallback(fam, now);
}

void IfaceMachine::start_fallback(unsigned fam, omrt::MonoUs now)
{
    Family &F = fam_[fam];
    // Reached only when no server answered (or there is none): name them for the message.
    if (p_.type != cfg::ProbeType::dns)
        for (const Target &t : F.servers)
            if (t.addr.family == (fam == kV4 ? AF_INET : AF_INET6))
                append_item(F.failed_targets,
                            core::strprintf("%s %s", t.label.c_str(), t.addr.str().c_str()), ", ");
    Target h;
    if (!pick_host(fam, now, h)) {
        F.stage = Stage::Fallback;
        attempt_failed(fam, now);
        return;
    }
    F.stage = Stage::Fallback;
    F.fallback_host = h.addr;
    F.fallback_label = h.label;
    F.pending_fallback = p_.count;
    for (unsigned i = 0; i < p_.count; i++)
        send(fam, TargetKind::Host, h.addr, now);
}

void IfaceMachine::attempt_succeeded(unsigned fam, omrt::MonoUs now)
{
    Family &F = fam_[fam];
    for (Flight &f : flights_)
        if (f.fam == fam && f.kind != TargetKind::Gateway)
            f.counts = false;
    F.good_in_row++;
    if (p_.up_hysteresis && status_ == omrt::Health::Error && F.good_in_row < p_.tries_up) {
        if (F.attempt < F.budget) {
            F.stage = Stage::WaitRetry;
            F.retry_at = now + (burst_ ? p_.burst_spacing_us : p_.interval_tries_us);
            return;
        }
        F.recovering = true; // good so far, but not yet enough in a row
        family_done(fam, false, now);
        return;
    }
    family_done(fam, true, now);
}

void IfaceMachine::attempt_failed(unsigned fam, omrt::MonoUs now)
{
    Family &F = fam_[fam];
    for (Flight &f : flights_)
        if (f.fam == fam && f.kind != TargetKind::Gateway)
            f.counts = false;
    F.good_in_row = 0;
    if (!F.hosts.empty())
        F.host_index = (F.host_index + 1) % unsigned(F.hosts.size());
    if (F.attempt < F.budget) {
        F.stage = Stage::WaitRetry;
        F.retry_at = now + (burst_ ? p_.burst_spacing_us : p_.interval_tries_us);
        return;
    }
    family_done(fam, false, now);
}

void IfaceMachine::family_done(unsigned fam, bool ok, omrt::MonoUs now)
{
    Family &F = fam_[fam];
    F.stage = Stage::Done;
    F.success = ok;
    maybe_finish_cycle(now);
}

void IfaceMachine::maybe_finish_cycle(omrt::MonoUs now)
{
    if (!running_)
        return;
    for (const Family &F : fam_)
        if (F.stage != Stage::Done)
            return;
    finish_cycle(now);
}

void IfaceMachine::finish_cycle(omrt::MonoUs now)
{
    running_ = false;
    burst_ = false;
    for (Flight &f : flights_)
        f.counts = false; // late gateway replies feed statistics only
    Verdict v;
    for (unsigned f = 0; f < 2; f++) {
        v.addr[f] = link_.addr[f];
        v.gw[f] = link_.gw[f];
    }

    bool any_ran = false, any_ok = false;
    unsigned best = kV4;
    for (unsigned f = 0; f < 2; f++) {
        const Family &F = fam_[f];
        if (!p_.family[f] || F.skipped)
            continue;
        if (!any_ran || (F.success && !fam_[best].success))
            best = f;
        any_ran = true;
        any_ok = any_ok || F.success;
    }

    const char *dev = link_.device.c_str();
    if (!any_ran) {
        // §3.2 step 8 wording for the hooks; ours names what is missing.
        std::string missing, shell = name_ + " may have ip issues";
        bool no_addr = false;
        for (unsigned f = 0; f < 2; f++) {
            if (!p_.family[f])
                continue;
            if (!link_.addr[f].valid()) {
                no_addr = true;
                append_item(missing, core::strprintf("no %s address", fam_name(f)), ", ");
                shell += core::strprintf(", interface have no %s", fam_name(f));
            }
            if (!link_.gw[f].valid()) {
                append_item(missing, core::strprintf("no %s gateway", fam_name(f)), ", ");
                shell += core::strprintf(", interface have no %s gateway", fam_name(f));
            }
        }
        v.status = omrt::Health::Error;
        v.reason = no_addr ? omrt::Reason::no_address : omrt::Reason::no_gateway;
        v.message = core::strprintf("%s (%s): %s", name_.c_str(), dev, missing.c_str());
        v.shell_msg = shell;
    } else {
        const Family &B = fam_[best];
        for (unsigned f = 0; f < 2; f++) {
            v.failed_hosts[f] = fam_[f].failed_hosts;
            if (!fam_[f].hosts.empty())
                v.host[f] = fam_[f].hosts[fam_[f].host_index % fam_[f].hosts.size()].addr;
        }
        if (any_ok) {
            v.status = omrt::Health::Ok;
            v.reason = omrt::Reason::ok;
            v.target_kind = B.decided_kind;
            icmp::WindowSummary s = record_target(v, B.decided_by);
            v.message =
                    core::strprintf("%s %s answers via %s: median %.1f ms, loss %.0f%% "
                                    "over %u probes",
                                    target_kind_name(B.decided_kind), B.decided_by.str().c_str(),
                                    dev, v.latency_ms, s.samples ? s.loss_pct : 0.0, s.samples);
        } else {
            v.status = omrt::Health::Error;
            unsigned good = 0;
            for (const Family &F : fam_)
                if (F.recovering)
                    good = std::max(good, F.good_in_row);
            bool gw_down = true, any_gw = false;
            std::string failed, gws, shell;
            unsigned attempts = 0, budget = 0;
            for (unsigned f = 0; f < 2; f++) {
                const Family &F = fam_[f];
                if (!p_.family[f] || F.skipped)
                    continue;
                attempts += F.attempt;
                budget += F.budget;
                append_item(failed, F.failed_targets, ", ");
                if (F.gw_probed) {
                    any_gw = true;
                    gw_down = gw_down && !F.gw_answered;
                    append_item(gws,
                                core::strprintf("gateway %s %s", link_.gw[f].str().c_str(),
                                                F.gw_answered ? "answers" : "does not answer"),
                                ", ");
                    if (!F.gw_answered)
                        append_item(shell, core::strprintf("%s gateway down", fam_name(f)),
                                    " and ");
                } else {
                    append_item(gws, "no gateway to ping (direct route)", ", ");
                }
                if (p_.type != cfg::ProbeType::none) {
                    append_item(shell, "check error", " and ");
                    shell += core::strprintf(" and %s from %s error (%s)",
                                             cfg::probe_type_name(p_.type),
                                             link_.addr[f].str().c_str(), F.failed_hosts.c_str());
                }
            }
            gw_down = gw_down && any_gw;
            if (p_.type == cfg::ProbeType::none || gw_down)
                v.reason = omrt::Reason::gateway_unreachable;
            else if (failed.empty())
                v.reason = omrt::Reason::no_target;
            else
                v.reason = omrt::Reason::target_timeout;
            if (good > 0) {
                // Up-hysteresis: answers again, not yet long enough.
                v.reason = reason_;
                v.message = core::strprintf("answers again via %s: %u of %u consecutive good "
                                            "attempts needed before it is declared up",
                                            dev, good, p_.tries_up);
                v.shell_msg = "recovering";
            } else if (p_.type == cfg::ProbeType::none)
                v.message = core::strprintf("%u/%u attempts via %s: %s", attempts, budget, dev,
                                            gws.c_str());
            else if (v.reason == omrt::Reason::no_target)
                v.message = core::strprintf("nothing to probe via %s: no server address and no "
                                            "usable tracking host; %s",
                                            dev, gws.c_str());
            else
                v.message = core::strprintf("%u/%u attempts failed via %s: no answer from %s; %s",
                                            attempts, budget, dev, failed.c_str(), gws.c_str());
            v.shell_msg = shell;
            // Measurements of the first server (else the last host) for the record.
            const Family &F = fam_[best];
            omrt::IpAddr shown;
            for (const Target &t : F.servers)
                if (t.addr.family == (best == kV4 ? AF_INET : AF_INET6)) {
                    shown = t.addr;
                    break;
                }
            if (!shown.valid())
                shown = F.fallback_host;
            if (shown.valid())
                record_target(v, shown);
        }
    }
    if (v.status == omrt::Health::Ok && p_.server_test && v.target_kind == TargetKind::Host) {
        bool have_servers = false;
        for (const Family &F : fam_)
            have_servers = have_servers || !F.servers.empty();
        if (have_servers) {
            // The shell meant this (§3.7) but tested an unset variable (A.3).
            v.status = omrt::Health::Error;
            v.reason = omrt::Reason::target_timeout;
            v.message = core::strprintf("reaches the Internet (%s answers) but not the VPS "
                                        "via %s (server_test)",
                                        v.target.str().c_str(), link_.device.c_str());
            v.shell_msg = "No answer from server";
        }
    }
    if (v.status == omrt::Health::Ok)
        apply_quality(v);

    // §3.4: the host lists rotate once per cycle.
    for (Family &F : fam_)
        if (!F.hosts.empty())
            F.host_index = (F.host_index + 1) % unsigned(F.hosts.size());

    publish(v, now);
    int64_t wait = p_.interval_us;
    if (v.status == omrt::Health::Error)
        wait = (p_.failure_interval_us > 0 ? p_.failure_interval_us : p_.interval_us) +
               p_.wait_test_us;
    next_cycle_at_ = now + std::max<int64_t>(wait, 1000);
    schedule_wake();
}

icmp::WindowSummary IfaceMachine::record_target(Verdict &v, const omrt::IpAddr &t) const
{
    icmp::WindowSummary s = target_summary(t);
    v.target = t;
    v.latency_ms = us_to_ms(s.median_rtt_us);
    v.loss_pct = s.samples ? s.loss_pct : NAN;
    v.jitter_ms = us_to_ms(s.jitter_us);
    v.p95_ms = us_to_ms(s.p95_rtt_us);
    return s;
}

void IfaceMachine::apply_quality(Verdict &v)
{
    // §3.6: only when the previous cycle produced a verdict (never on the first one).
    if (!p_.check_quality || status_ == omrt::Health::Unknown)
        return;
    icmp::WindowSummary s = target_summary(v.target);
    if (s.samples < min_quality_samples(p_))
        return;
    double loss = s.loss_pct;
    double lat = us_to_ms(s.median_rtt_us);
    bool recovering = status_ == omrt::Health::Error;
    double loss_limit = recovering ? p_.recovery_loss_pct : p_.failure_loss_pct;
    double lat_limit = recovering ? p_.recovery_latency_ms : p_.failure_latency_ms;
    const char *which = recovering ? "recovery" : "failure";
    if (loss >= loss_limit) {
        v.status = omrt::Health::Error;
        v.reason = omrt::Reason::quality_loss;
        v.shell_msg = core::strprintf("Packet loss is %.0f this is more than %s limit defined "
                                      "at %.0f",
                                      loss, which, loss_limit);
        v.message = core::strprintf("%.0f%% loss to %s over the last %u probes via %s "
                                    "(%s limit %.0f%%)",
                                    loss, v.target.str().c_str(), s.samples, link_.device.c_str(),
                                    which, loss_limit);
    } else if (!std::isnan(lat) && lat >= lat_limit) {
        v.status = omrt::Health::Error;
        v.reason = omrt::Reason::quality_latency;
        v.shell_msg = core::strprintf("Latency is %.0f this is more than %s limit defined at "
                                      "%.0f",
                                      lat, which, lat_limit);
        v.message = core::strprintf("median latency %.1f ms to %s over the last %u probes via "
                                    "%s (%s limit %.0f ms)",
                                    lat, v.target.str().c_str(), s.samples, link_.device.c_str(),
                                    which, lat_limit);
    }
}

void IfaceMachine::decay_penalty(omrt::MonoUs now)
{
    if (penalty_ > 0 && now > penalty_at_) {
        double dt = double(now - penalty_at_);
        penalty_ *= std::exp2(-dt / double(p_.damping.half_life_us));
        if (penalty_ < 1)
            penalty_ = 0;
    }
    penalty_at_ = now;
}

double IfaceMachine::penalty(omrt::MonoUs now) const
{
    if (penalty_ <= 0 || now <= penalty_at_)
        return penalty_;
    return penalty_ * std::exp2(-double(now - penalty_at_) / double(p_.damping.half_life_us));
}

void IfaceMachine::publish(Verdict &v, omrt::MonoUs now)
{
    if (p_.damping.enabled) {
        decay_penalty(now);
        if (status_ == omrt::Health::Ok && v.status == omrt::Health::Error)
            penalty_ = std::min(penalty_ + p_.damping.penalty, p_.damping.max_penalty);
        if (penalty_ > p_.damping.suppress)
            suppressed_ = true;
        else if (penalty_ < p_.damping.reuse)
            suppressed_ = false;
        if (suppressed_ && v.status == omrt::Health::Ok) {
            v.status = omrt::Health::Error;
            v.reason = omrt::Reason::flap_damped;
            v.message = core::strprintf("answers, but held down after repeated flaps "
                                        "(penalty %.0f, released below %.0f): %s",
                                        penalty_, p_.damping.reuse, v.message.c_str());
            v.shell_msg = "flapping";
        }
    }
    // A recovery starts a fresh window for the target, so the outage's losses do not
    // immediately fail the new OK state's quality check.
    if (status_ == omrt::Health::Error && v.status == omrt::Health::Ok && v.target.valid())
        for (TargetStats &ts : stats_)
            if (ts.addr == v.target)
                ts.window.clear();
    v.prev = status_;
    v.transition = v.status != status_;
    status_ = v.status;
    reason_ = v.reason;
    fx_.on_verdict(v);
}

void IfaceMachine::link_down_verdict(omrt::MonoUs now)
{
    // Only while !link_ok(), so never for always_up.
    const char *dev = link_.device.c_str();
    if (!link_.device_present)
        immediate_verdict(
                omrt::Reason::no_device,
                core::strprintf("device %s does not exist", link_.device.empty() ? "(none)" : dev),
                now);
    else
        immediate_verdict(omrt::Reason::link_down,
                          core::strprintf("link down: %s has no carrier or is not "
                                          "operationally up",
                                          dev),
                          now);
}

void IfaceMachine::immediate_verdict(omrt::Reason r, std::string msg, omrt::MonoUs now)
{
    abort_cycle();
    omrt::MonoUs next = now +
                        (p_.failure_interval_us > 0 ? p_.failure_interval_us : p_.interval_us) +
                        p_.wait_test_us;
    if (status_ == omrt::Health::Error && reason_ == r && next_cycle_at_ > now) {
        // Already known (a link flapping down again): nothing new to publish; the
        // periodic cycle keeps the hooks' cadence.
        schedule_wake();
        return;
    }
    Verdict v;
    v.status = omrt::Health::Error;
    v.reason = r;
    v.immediate = true;
    v.message = std::move(msg);
    v.shell_msg = "link down";
    for (unsigned f = 0; f < 2; f++) {
        v.addr[f] = link_.addr[f];
        v.gw[f] = link_.gw[f];
    }
    publish(v, now);
    // Cycles go on at the failure cadence (hooks run periodically, §4.1), without probing.
    next_cycle_at_ = next;
    schedule_wake();
}

void IfaceMachine::schedule_wake()
{
    if (up_hold_until_) {
        fx_.wake_at(up_hold_until_);
        return;
    }
    omrt::MonoUs t = next_cycle_at_;
    if (running_) {
        t = INT64_MAX;
        for (const Family &F : fam_)
            if (F.stage == Stage::WaitRetry)
                t = std::min(t, F.retry_at);
        if (t == INT64_MAX)
            return; // waiting for probe results only
    }
    fx_.wake_at(t);
}

// --------------------------------------------------------------------------- probes

void IfaceMachine::send(unsigned fam, TargetKind kind, const omrt::IpAddr &to, omrt::MonoUs now,
                        uint16_t port)
{
    (void)now;
    uint32_t id = next_id_++;
    if (next_id_ == 0)
        next_id_ = 1;
    flights_.push_back(Flight{id, fam, fam_[fam].attempt, kind, to, true});
    fx_.send_probe(id, fam, kind, to, port, probe_timeout(to));
}

int64_t IfaceMachine::probe_timeout(const omrt::IpAddr &to)
{
    if (!p_.adaptive_timeout)
        return p_.timeout_us;
    const TargetStats *ts = find_stats(to);
    if (!ts || !ts->rto.has_sample())
        return p_.timeout_us;
    return std::clamp(ts->rto.rto_us(), std::min(p_.min_timeout_us, p_.timeout_us), p_.timeout_us);
}

IfaceMachine::TargetStats &IfaceMachine::stats_for(const omrt::IpAddr &a)
{
    for (TargetStats &t : stats_)
        if (t.addr == a)
            return t;
    icmp::RtoParams rp;
    rp.initial_us = p_.timeout_us;
    rp.min_us = std::min(p_.min_timeout_us, p_.timeout_us);
    rp.max_us = p_.timeout_us;
    stats_.emplace_back(a, std::max(1u, p_.window));
    stats_.back().rto = icmp::RtoEstimator(rp);
    return stats_.back();
}

const IfaceMachine::TargetStats *IfaceMachine::find_stats(const omrt::IpAddr &a) const
{
    for (const TargetStats &t : stats_)
        if (t.addr == a)
            return &t;
    return nullptr;
}

icmp::WindowSummary IfaceMachine::target_summary(const omrt::IpAddr &a) const
{
    const TargetStats *ts = find_stats(a);
    return ts ? ts->window.summary() : icmp::WindowSummary();
}

bool IfaceMachine::pick_host(unsigned fam, omrt::MonoUs now, Target &out)
{
    Family &F = fam_[fam];
    size_t n = F.hosts.size();
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        const Target &t = F.hosts[(F.host_index + i) % n];
        if (!registry_ || !registry_->quarantined(t.addr, now)) {
            F.host_index = unsigned((F.host_index + i) % n);
            out = t;
            return true;
        }
    }
    // Every host is quarantined: probe the rotation's one rather than nothing.
    out = F.hosts[F.host_index % n];
    return true;
}

// --------------------------------------------------------------------------- registry

TargetRegistry::Report *TargetRegistry::find_wan(std::vector<Report> &v, const std::string &wan)
{
    return core::find_where(v, [&wan](const Report &r) { return r.wan == wan; });
}

void TargetRegistry::report_host(const omrt::IpAddr &host, const std::string &wan, bool ok,
                                 omrt::MonoUs now)
{
    Host *h = core::find_where(hosts_, [&host](const Host &x) { return x.addr == host; });
    if (!h) {
        hosts_.push_back(Host{host, {}, 0});
        h = &hosts_.back();
    }
    if (Report *r = find_wan(h->reports, wan))
        *r = Report{wan, now, ok};
    else
        h->reports.push_back(Report{wan, now, ok});
    evaluate(*h, now);
}

void TargetRegistry::report_wan_alive(const std::string &wan, omrt::MonoUs now)
{
    if (Report *r = find_wan(alive_, wan))
        r->at = now;
    else
        alive_.push_back(Report{wan, now, true});
}

void TargetRegistry::evaluate(Host &h, omrt::MonoUs now)
{
    // Quarantine needs evidence from at least two WANs, all recent, all failing for this
    // host, and each of those WANs alive (another target answered) in the same window.
    unsigned failing = 0;
    for (const Report &r : h.reports) {
        if (now - r.at > window_us_)
            continue;
        if (r.ok) {
            h.until = 0;
            return;
        }
        const Report *a = find_wan(alive_, r.wan);
        if (!a || now - a->at > window_us_)
            return;
        failing++;
    }
    if (failing >= 2 && h.until <= now)
        h.until = now + quarantine_us_;
}

bool TargetRegistry::quarantined(const omrt::IpAddr &host, omrt::MonoUs now) const
{
    for (const Host &h : hosts_)
        if (h.addr == host)
            return h.until > now;
    return false;
}

std::vector<omrt::IpAddr> TargetRegistry::quarantined_hosts(omrt::MonoUs now) const
{
    std::vector<omrt::IpAddr> out;
    for (const Host &h : hosts_)
        if (h.until > now)
            out.push_back(h.addr);
    return out;
}

void TargetRegistry::forget_wan(const std::string &wan)
{
    for (Host &h : hosts_)
        core::erase_where(h.reports, [&wan](const Report &r) { return r.wan == wan; });
    core::erase_where(alive_, [&wan](const Report &r) { return r.wan == wan; });
}

} // namespace sched
