#include "sched/iface_tracker.h"

#include "core/log.h"
#include "core/str.h"
#include "core/vec.h"

#include <algorithm>
#include <cmath>

namespace sched {

namespace {

const char *status_word(omrt::Health h)
{
    return h == omrt::Health::Ok ? "OK" : h == omrt::Health::Error ? "ERROR" : "";
}

std::string join_targets(const std::vector<std::string> &v)
{
    std::string out;
    for (const std::string &s : v) {
        if (!out.empty())
            out += ' ';
        out += s;
    }
    return out;
}

std::string uint_str(unsigned v)
{
    return core::strprintf("%u", v);
}

// The gateway the configuration imposes (network.IFACE.gateway / ip6gw, §3.2 steps 4–5),
// which wins over what the routes say.
omrt::IpAddr config_gateway(const cfg::Interface &iface, unsigned fam)
{
    omrt::IpAddr a;
    const std::string &text = fam == kV4 ? iface.net.gateway : iface.net.ip6gw;
    if (!text.empty() && omrt::IpAddr::parse(text, a) &&
        a.family == (fam == kV4 ? AF_INET : AF_INET6))
        return a;
    return omrt::IpAddr();
}

} // namespace

IfaceTracker::IfaceTracker(TrackerServices &svc, const cfg::Interface &iface,
                           const IfaceContext &ctx)
    : svc_(svc), iface_(iface), ctx_(ctx), device_(iface.net.device),
      machine_(iface.name, IfaceParams::from_config(iface.name, iface.opts), *this, svc.registry),
      wake_(svc.loop, core::member<IfaceTracker, &IfaceTracker::on_wake>, this)
{
    for (unsigned f = 0; f < 2; f++)
        prober_[f] = std::make_unique<icmp::Prober>(svc.loop, svc.clock,
                                                    static_cast<icmp::ProbeListener &>(*this));
}

IfaceTracker::~IfaceTracker()
{
    if (svc_.netlink)
        svc_.netlink->remove_listener(this);
}

void IfaceTracker::start()
{
    if (started_)
        return;
    started_ = true;
    if (svc_.netlink && !device_.empty())
        svc_.netlink->add_listener(device_, this);
    // Before netlink's first dump the device looks absent: starting then would publish a
    // false ERROR (and run 002-error). The first publication (kSynced) starts us.
    if (svc_.netlink && !svc_.netlink->synced())
        return;
    begin();
}

void IfaceTracker::begin()
{
    if (running_)
        return;
    running_ = true;
    LinkView l = link_view();
    open_probers(l);
    machine_.on_link(l, svc_.clock.mono_us());
    machine_.start(svc_.clock.mono_us());
}

void IfaceTracker::update(const cfg::Interface &iface, const IfaceContext &ctx)
{
    bool device_changed = iface.net.device != iface_.net.device;
    iface_ = iface;
    ctx_ = ctx;
    if (device_changed && svc_.netlink) {
        svc_.netlink->remove_listener(this);
        device_ = iface.net.device;
        if (!device_.empty())
            svc_.netlink->add_listener(device_, this);
    }
    device_ = iface.net.device;
    machine_.set_params(IfaceParams::from_config(iface.name, iface.opts), svc_.clock.mono_us());
    if (running_)
        refresh_link();
}

void IfaceTracker::recheck()
{
    machine_.recheck(svc_.clock.mono_us());
}

void IfaceTracker::set_servers(unsigned fam, std::vector<Target> servers)
{
    machine_.set_servers(fam, std::move(servers));
}

void IfaceTracker::set_hosts(unsigned fam, std::vector<Target> hosts)
{
    machine_.set_hosts(fam, std::move(hosts));
}

// --------------------------------------------------------------------------- link

LinkView IfaceTracker::link_view() const
{
    LinkView l;
    l.device = device_;
    if (!svc_.netlink) {
        // No netlink (unit tests): trust the configuration.
        l.device_present = true;
        l.usable = true;
        for (unsigned f = 0; f < 2; f++)
            l.gw[f] = config_gateway(iface_, f);
        return l;
    }
    nl::DeviceState st = svc_.netlink->state(device_);
    l.device_present = st.present;
    l.usable = st.usable;
    for (unsigned f = 0; f < 2; f++) {
        int family = f == kV4 ? AF_INET : AF_INET6;
        if (const nl::Address *a = st.preferred_address(family))
            l.addr[f] = a->local;
        // The kernel's default route through the device is what traffic uses, so it wins;
        // the UCI gateway (§3.2 step 4, the shell's first choice) is the fallback when
        // netlink knows none.
        omrt::IpAddr gw;
        const nl::Gateway &g = st.gateway(family);
        if (g.source == nl::GatewaySource::Route || g.source == nl::GatewaySource::Peer)
            gw = g.addr;
        if (!gw.valid())
            gw = config_gateway(iface_, f);
        l.gw[f] = gw;
        l.direct[f] = g.source == nl::GatewaySource::Direct;
    }
    // §3.2 step 5: IPv6 only when the interface wants it and OMR has not disabled it.
    if (ctx_.ipv6_disabled || iface_.net.ipv6 == "0") {
        l.addr[kV6] = omrt::IpAddr();
        l.gw[kV6] = omrt::IpAddr();
        l.direct[kV6] = false;
    }
    return l;
}

void IfaceTracker::open_probers(const LinkView &l)
{
    for (unsigned f = 0; f < 2; f++) {
        bool want = machine_.params().family[f];
        if (!want || !l.device_present) {
            if (prober_[f]->is_open())
                prober_[f]->close();
            prober_ok_[f] = false;
            continue;
        }
        if (prober_[f]->is_open() && prober_device_[f] == l.device &&
            prober_source_[f] == l.addr[f])
            continue;
        icmp::ProberOptions o;
        o.name = iface_.name + (f == kV4 ? "/ipv4" : "/ipv6");
        o.family = f == kV4 ? AF_INET : AF_INET6;
        o.device = l.device;
        o.source = l.addr[f];
        o.tos = 184; // omr-tracker's `ping -Q 184` (DSCP EF), §3.3
        o.ttl = int(iface_.opts.max_ttl);
        o.payload_bytes = iface_.opts.size;
        std::string err;
        prober_ok_[f] = prober_[f]->open(o, &err);
        prober_device_[f] = l.device;
        prober_source_[f] = l.addr[f];
        if (!prober_ok_[f]) {
            LOGE("%s: cannot open an ICMP socket: %s", o.name.c_str(), err.c_str());
            prober_error_ = err;
        } else {
            LOGD("%s: %s", o.name.c_str(), prober_[f]->mode_reason().c_str());
        }
    }
}

void IfaceTracker::refresh_link()
{
    LinkView l = link_view();
    open_probers(l);
    machine_.on_link(l, svc_.clock.mono_us());
}

void IfaceTracker::on_link_change(const nl::LinkChange &change)
{
    if (!running_) {
        if (change.has(nl::kSynced))
            begin();
        return;
    }
    if (change.has(nl::kDown) || change.has(nl::kUp) || change.has(nl::kAppeared) ||
        change.has(nl::kDisappeared))
        LOGI("%s: %s is %s (%s)", iface_.name.c_str(), change.name.c_str(),
             change.state.usable ? "up" : "down", nl::change_names(change.what).c_str());
    // A blip (down then up again within one publication) must still be seen as a link
    // change: the machine gets the down first, then the final state.
    if (change.has(nl::kDown) && change.state.usable) {
        LinkView down = link_view();
        down.usable = false;
        machine_.on_link(down, svc_.clock.mono_us());
    }
    refresh_link();
    if (svc_.observer && (change.what & (nl::kUp | nl::kDown | nl::kAddressChanged |
                                         nl::kGatewayChanged | nl::kAppeared)))
        svc_.observer->on_iface_link_changed(iface_.name);
}

// --------------------------------------------------------------------------- effects

void IfaceTracker::send_probe(uint32_t id, unsigned fam, TargetKind kind,
                              const omrt::IpAddr &target, uint16_t port, int64_t timeout_us)
{
    const LinkView &l = machine_.link();
    cfg::ProbeType type = iface_.opts.type;
    Via via = Via::icmp;
    if (kind != TargetKind::Gateway && type == cfg::ProbeType::dns && kind == TargetKind::Host)
        via = Via::dns;
    else if (kind != TargetKind::Gateway && type == cfg::ProbeType::httping)
        via = Via::https;
    uint64_t probe = 0;
    switch (via) {
    case Via::icmp:
        probe = prober_[fam]->send(target, timeout_us, reinterpret_cast<void *>(uintptr_t(id)));
        break;
    case Via::dns:
        if (!dns_)
            dns_ = std::make_unique<DnsProber>(svc_.loop, svc_.clock,
                                               static_cast<OtherProbeListener &>(*this));
        dns_->configure(l.device, l.addr, iface_.opts.dns_query_name);
        probe = dns_->send(target, timeout_us);
        break;
    case Via::https:
        if (!https_)
            https_ = std::make_unique<HttpsProber>(svc_.loop, svc_.clock,
                                                   static_cast<OtherProbeListener &>(*this));
        https_->configure(l.device, iface_.name, l.addr);
        // Servers: their API port (the shell's `httping -l IP:PORT`); hosts: HTTPS.
        probe = https_->send(target, kind == TargetKind::Server && port ? port : 443, timeout_us);
        break;
    }
    if (probe == 0) {
        // Refused synchronously (no socket, in-flight limit): report it from the loop
        // through a zero timeout so the machine is never re-entered from send_probe.
        LOGW("%s: probe to %s not sent", iface_.name.c_str(), target.str().c_str());
        flights_.push_back(Flight{id, fam, 0, via});
        wake_.start(0.0);
        return;
    }
    flights_.push_back(Flight{id, fam, probe, via});
}

void IfaceTracker::on_other_probe(const OtherProbeResult &r)
{
    size_t i = core::index_where(
            flights_, [&r](const Flight &f) { return f.probe == r.id && f.via != Via::icmp; });
    if (i == flights_.size())
        return;
    uint32_t id = flights_[i].id;
    flights_.erase(flights_.begin() + long(i));
    other_sent_++;
    (r.ok ? other_replies_ : other_failed_)++;
    if (status::IfaceState *st = svc_.board.iface(iface_.name))
        st->history.record(svc_.clock.mono_us(), r.ok ? double(r.rtt_us) / 1000.0 : NAN);
    machine_.on_probe_result(id, r.ok ? ProbeOutcome::Reply : ProbeOutcome::Timeout, r.rtt_us,
                             svc_.clock.mono_us());
}

void IfaceTracker::cancel_probe(uint32_t id)
{
    size_t i = find_flight(id);
    if (i == flights_.size())
        return;
    const Flight *it = &flights_[i];
    if (it->probe) {
        if (it->via == Via::icmp)
            prober_[it->fam]->cancel(it->probe);
        else if (it->via == Via::dns && dns_)
            dns_->cancel(it->probe);
        else if (it->via == Via::https && https_)
            https_->cancel(it->probe);
    }
    flights_.erase(flights_.begin() + long(i));
}

size_t IfaceTracker::find_flight(uint32_t id) const
{
    return core::index_where(flights_, [id](const Flight &f) { return f.id == id; });
}

void IfaceTracker::wake_at(omrt::MonoUs t)
{
    double after = double(t - svc_.clock.mono_us()) / omrt::kUsPerS;
    wake_.start(std::max(0.0, after));
}

void IfaceTracker::on_wake()
{
    omrt::MonoUs now = svc_.clock.mono_us();
    // Probes that could not even be queued fail now, from the loop: those refused so far
    // (the machine may send, or cancel, others meanwhile).
    std::vector<uint32_t> refused;
    for (const Flight &f : flights_)
        if (f.probe == 0)
            refused.push_back(f.id);
    for (uint32_t id : refused) {
        size_t i = find_flight(id);
        if (i == flights_.size())
            continue; // cancelled by an earlier result's verdict
        flights_.erase(flights_.begin() + long(i));
        machine_.on_probe_result(id, ProbeOutcome::LocalError, -1, now);
    }
    machine_.on_timer(now);
}

void IfaceTracker::on_probe_result(const icmp::ProbeResult &r)
{
    uint32_t id = uint32_t(reinterpret_cast<uintptr_t>(r.cookie));
    size_t i = find_flight(id); // ids are unique
    if (i == flights_.size() || flights_[i].via != Via::icmp)
        return;
    flights_.erase(flights_.begin() + long(i));
    ProbeOutcome o = ProbeOutcome::Timeout;
    switch (r.outcome) {
    case icmp::Outcome::Reply:
        o = ProbeOutcome::Reply;
        break;
    case icmp::Outcome::Timeout:
        o = ProbeOutcome::Timeout;
        break;
    case icmp::Outcome::Unreachable:
        o = ProbeOutcome::Unreachable;
        break;
    case icmp::Outcome::SendError:
        o = ProbeOutcome::LocalError;
        break;
    }
    // The latency history shows what the machine's deciding targets see: VPS and hosts.
    if (r.target != machine_.link().gw[kV4] && r.target != machine_.link().gw[kV6])
        if (status::IfaceState *st = svc_.board.iface(iface_.name))
            st->history.record(svc_.clock.mono_us(),
                               o == ProbeOutcome::Reply ? double(r.rtt_us) / 1000.0 : NAN);
    machine_.on_probe_result(id, o, r.rtt_us, svc_.clock.mono_us());
}

void IfaceTracker::on_verdict(const Verdict &v)
{
    status::Board &b = svc_.board;
    if (status::IfaceState *st = b.iface(iface_.name)) {
        st->device = device_;
        st->probes_sent = st->probes_replies = st->probes_timeouts = st->probes_errors = 0;
        st->ignored_foreign = st->ignored_duplicate = st->ignored_late = 0;
        st->ignored_malformed = 0;
        for (const auto &p : prober_) {
            const icmp::Counters &c = p->counters();
            st->probes_sent += c.sent;
            st->probes_replies += c.replies;
            st->probes_timeouts += c.timeouts;
            st->probes_errors += c.errors + c.send_errors;
            st->ignored_foreign += c.foreign + c.unmatched;
            st->ignored_duplicate += c.duplicate;
            st->ignored_late += c.late;
            st->ignored_malformed += c.malformed;
        }
        st->probes_sent += other_sent_;
        st->probes_replies += other_replies_;
        st->probes_timeouts += other_failed_;
        st->latency_ms = v.latency_ms;
        st->loss_pct = v.loss_pct;
        st->jitter_ms = v.jitter_ms;
    }
    b.set_iface_verdict(iface_.name, v.status, v.reason, v.message);
    b.changed(false);
    if (v.transition)
        LOGN("%s (%s) is now %s: %s: %s", iface_.name.c_str(), device_.c_str(),
             omrt::health_name(v.status), omrt::reason_name(v.reason), v.message.c_str());
    else
        LOGD("%s: %s %s: %s", iface_.name.c_str(), omrt::health_name(v.status),
             omrt::reason_name(v.reason), v.message.c_str());
    run_hooks(v);
    if (svc_.observer)
        svc_.observer->on_iface_verdict(iface_.name, v);
}

void IfaceTracker::run_hooks(const Verdict &v)
{
    if (!svc_.hooks)
        return;
    hooks::HookEnv env =
            make_hook_env(iface_, ctx_, device_, v, prev_status_, prev_device_, prev_ip_);
    // The stock hooks re-check routes every cycle (§4.1: commit 416af949), so periodic
    // runs are the default; hooks_on_change_only keeps only the transitions.
    if (v.transition || !iface_.opts.hooks_on_change_only) {
        svc_.hooks->request(iface_.name, std::move(env),
                            v.transition ? hooks::RunKind::Transition : hooks::RunKind::Periodic);
        hook_runs_++;
    }
    prev_status_ = status_word(v.status);
    if (!device_.empty())
        prev_device_ = device_;
    for (unsigned f = 0; f < 2; f++)
        prev_ip_[f] = v.addr[f].str();
}

namespace {

void set_var(hooks::HookEnv &e, const char *name, std::string_view value)
{
    std::string key = "OMR_TRACKER_";
    key += name;
    (void)e.set(key, value);
}

void set_addr(hooks::HookEnv &e, const char *name, const omrt::IpAddr &a)
{
    set_var(e, name, a.str());
}

// Integers like the shell's (awk int()); empty when nothing was measured.
void set_measure(hooks::HookEnv &e, const char *name, double v)
{
    set_var(e, name, std::isnan(v) ? std::string() : core::strprintf("%.0f", v));
}

// The options the hooks see as numbers ("1"/"0" for booleans), in their order.
struct OptionVar {
    const char *name;
    unsigned cfg::TrackerOptions::*num; // nullptr: flag
    bool cfg::TrackerOptions::*flag;
};
using O = cfg::TrackerOptions;
const OptionVar kOptionVars[] = {
        {"TIMEOUT", &O::timeout_s, nullptr},
        {"COUNT", &O::count, nullptr},
        {"SIZE", &O::size, nullptr},
        {"MAX_TTL", &O::max_ttl, nullptr},
        {"TRIES", &O::tries, nullptr},
        {"TRIES_UP", &O::tries_up, nullptr},
        {"INTERVAL", &O::interval_s, nullptr},
        {"INTERVAL_TRIES", &O::interval_tries_s, nullptr},
        {"FAILURE_INTERVAL", &O::failure_interval_s, nullptr},
        {"WAIT_TEST", &O::wait_test_s, nullptr},
        {"CHECK_QUALITY", nullptr, &O::check_quality},
        {"FAILURE_LOSS", &O::failure_loss_pct, nullptr},
        {"FAILURE_LATENCY", &O::failure_latency_ms, nullptr},
        {"RECOVERY_LOSS", &O::recovery_loss_pct, nullptr},
        {"RECOVERY_LATENCY", &O::recovery_latency_ms, nullptr},
        {"RELIABILITY", &O::reliability, nullptr},
        {"SERVER_TEST", nullptr, &O::server_test},
        {"SERVER_HTTP_TEST", nullptr, &O::server_http_test},
};

} // namespace

hooks::HookEnv make_hook_env(const cfg::Interface &iface, const IfaceContext &ctx,
                             const std::string &device, const Verdict &v,
                             const std::string &prev_status, const std::string &prev_device,
                             const std::string prev_ip[2])
{
    const cfg::TrackerOptions &o = iface.opts;
    hooks::HookEnv e;
    set_var(e, "INTERFACE", iface.name);
    set_var(e, "DEVICE", device);
    set_var(e, "PREV_DEVICE", prev_device.empty() ? device : prev_device);
    set_addr(e, "DEVICE_IP", v.addr[kV4]);
    set_addr(e, "DEVICE_IP6", v.addr[kV6]);
    set_var(e, "PREV_DEVICE_IP", prev_ip[kV4]);
    set_var(e, "PREV_DEVICE_IP6", prev_ip[kV6]);
    set_addr(e, "DEVICE_GATEWAY", v.gw[kV4]);
    set_addr(e, "DEVICE_GATEWAY6", v.gw[kV6]);
    set_var(e, "STATUS", status_word(v.status));
    set_var(e, "PREV_STATUS", prev_status);
    set_var(e, "STATUS_MSG", v.shell_msg);
    set_measure(e, "LATENCY", v.latency_ms);
    set_measure(e, "LOSS", v.loss_pct);
    set_addr(e, "HOST", v.host[kV4]);
    set_addr(e, "HOST6", v.host[kV6]);
    set_var(e, "HOSTS", join_targets(o.hosts));
    set_var(e, "HOSTS6", join_targets(o.hosts6));
    set_var(e, "LIST_HOSTS", v.failed_hosts[kV4]);
    set_var(e, "LIST_HOSTS6", v.failed_hosts[kV6]);
    set_var(e, "TYPE", cfg::probe_type_name(o.type));
    set_var(e, "FAMILY", cfg::family_name(o.family));
    for (const OptionVar &ov : kOptionVars) // a flag prints as 1 or 0
        set_var(e, ov.name, uint_str(ov.num ? o.*ov.num : unsigned(o.*ov.flag)));
    set_var(e, "IPV6", ctx.ipv6_disabled ? std::string_view("0") : iface.net.ipv6);
    set_var(e, "PROTO", iface.net.proto);
    set_var(e, "NO_BIND", "0"); // probes are always bound to the device (SO_BINDTODEVICE)
    set_var(e, "TABLE", "");    // always empty in the shell too (§3.8)
    // Ours: the stable reason code behind STATUS_MSG.
    set_var(e, "REASON", omrt::reason_name(v.reason));
    return e;
}

} // namespace sched
