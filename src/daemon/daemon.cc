#include "daemon/daemon.h"

#include "core/json.h"
#include "core/log.h"
#include "core/proctitle.h"
#include "daemon/privdrop.h"
#include "omrt/version.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace daemon_ {

namespace {

constexpr double kLagTickS = 2.0;

void log_diags(const std::vector<cfg::Diag> &diags)
{
    for (const cfg::Diag &d : diags)
        core::log_write(d.warning ? LOG_WARNING : LOG_ERR, "config: %s", d.format().c_str());
}

std::string join_names(const std::vector<std::string> &names)
{
    std::string out;
    for (const std::string &n : names) {
        if (!out.empty())
            out += ' ';
        out += n;
    }
    return out.empty() ? "none" : out;
}

std::vector<std::string> iface_names(const cfg::Config &c)
{
    std::vector<std::string> out;
    for (const cfg::Interface &i : c.interfaces)
        out.push_back(i.name);
    return out;
}

std::vector<std::string> server_names(const cfg::Config &c)
{
    std::vector<std::string> out;
    for (const cfg::Server &s : c.servers)
        out.push_back(s.name);
    return out;
}

} // namespace

Daemon::Daemon(core::Loop &loop, const omrt::Clock &clock, const Options &opts)
    : loop_(loop), clock_(clock), opts_(opts), board_(loop, clock),
      netlink_(loop, clock), services_{loop,
                                       clock,
                                       board_,
                                       nullptr,
                                       nullptr,
                                       &registry_,
                                       static_cast<sched::IfaceObserver *>(this)},
      stop_timer_(loop, core::member<Daemon, &Daemon::on_stop_timer>, this),
      reopen_(loop, core::member<Daemon, &Daemon::on_reopen>, this),
      sigterm_(loop, SIGTERM, core::member_int<Daemon, &Daemon::on_signal>, this),
      sigint_(loop, SIGINT, core::member_int<Daemon, &Daemon::on_signal>, this),
      sighup_(loop, SIGHUP, core::member_int<Daemon, &Daemon::on_signal>, this),
      sigusr1_(loop, SIGUSR1, core::member_int<Daemon, &Daemon::on_signal>, this),
      lag_timer_(loop, core::member<Daemon, &Daemon::on_lag_tick>, this)
{}

Daemon::~Daemon()
{
    if (control_)
        control_->close();
    servers_.reset();  // before the hook runners and the address book it uses
    trackers_.clear(); // before the hook runner and the netlink monitor they use
}

std::string Daemon::effective_socket_path(const cfg::Config &c) const
{
    return opts_.socket_override.empty() ? c.daemon.socket_path : opts_.socket_override;
}

std::string Daemon::effective_status_file(const cfg::Config &c) const
{
    return opts_.status_override.empty() ? c.daemon.status_file : opts_.status_override;
}

bool Daemon::start()
{
    cfg::Config c;
    std::vector<cfg::Diag> errors;
    if (!cfg::load_config(opts_.config_dir, c, errors)) {
        log_diags(errors);
        LOGE("invalid configuration in %s: %zu error(s); not starting", opts_.config_dir.c_str(),
             errors.size());
        return false;
    }
    log_diags(c.warnings);

    // SIGPIPE: a hook or control client that goes away must not kill us (ev.pod).
    std::signal(SIGPIPE, SIG_IGN);
    sigterm_.start();
    sigint_.start();
    sighup_.start();
    sigusr1_.start();

    std::string err;
    netlink_ok_ = netlink_.start(&err);
    if (netlink_ok_)
        services_.netlink = &netlink_;
    else
        LOGE("netlink: %s; link events are not seen, devices are assumed up", err.c_str());

    std::string user = opts_.user.empty() ? c.daemon.user : opts_.user;
    apply(std::move(c), true);
    if (!control_)
        return false;
    // Sockets that need root are open (netlink, the control socket); the ICMP, DNS and
    // TCP sockets the trackers open later need at most CAP_NET_RAW.
    if (!user.empty() && getuid() == 0) {
        std::string why;
        if (!drop_privileges(user, &why)) {
            LOGE("cannot drop privileges: %s; exiting", why.c_str());
            return false;
        }
        LOGN("running as %s (%s)", user.c_str(), describe_credentials().c_str());
    }

    lag_expected_us_ = clock_.mono_us() + int64_t(kLagTickS * omrt::kUsPerS);
    lag_timer_.start(kLagTickS, kLagTickS);
    return true;
}

void Daemon::apply(cfg::Config &&next, bool first)
{
    if (opts_.log_level < 0) {
        int lvl = core::log_level_from_name(next.daemon.log_level.c_str());
        core::log_set_level(lvl >= 0 ? lvl : LOG_INFO);
    }

    std::vector<std::string> added, changed, removed, kept;
    for (const cfg::Interface &i : next.interfaces) {
        const cfg::Interface *old = have_config_ ? config_.find_interface(i.name) : nullptr;
        if (!old)
            added.push_back(i.name);
        else if (!(*old == i))
            changed.push_back(i.name);
        else
            kept.push_back(i.name);
    }
    if (have_config_)
        for (const cfg::Interface &i : config_.interfaces)
            if (!next.find_interface(i.name))
                removed.push_back(i.name);

    // Entries of changed interfaces restart from UNKNOWN: their checks are rebuilt.
    std::vector<std::string> names = iface_names(next);
    // "omr-trackerd wan1 wan2 omrvpn": OMR's omr-schedule restarts trackers it cannot find
    // with `pgrep -f IFACE` (reference §1.3).
    core::proctitle_set(names);
    std::vector<std::string> survivors;
    for (const std::string &n : names)
        if (std::find(changed.begin(), changed.end(), n) == changed.end())
            survivors.push_back(n);
    board_.sync_interfaces(survivors);
    board_.sync_interfaces(names);
    for (const cfg::Interface &i : next.interfaces) {
        status::IfaceState *st = board_.iface(i.name);
        if (st && st->device != i.net.device) {
            st->device = i.net.device;
            board_.changed(true);
        }
    }

    std::vector<std::string> snames = server_names(next);
    std::vector<std::string> ssurvivors;
    for (const cfg::Server &s : next.servers) {
        const cfg::Server *old = have_config_ ? config_.find_server(s.name) : nullptr;
        if (old && *old == s && next.server_opts == config_.server_opts)
            ssurvivors.push_back(s.name);
    }
    board_.sync_servers(ssurvivors);
    board_.sync_servers(snames);
    for (const cfg::Server &s : next.servers) {
        status::ServerState *st = board_.server(s.name);
        if (!st)
            continue;
        std::string host = join_names(s.hosts);
        if (st->host != host || st->master != s.master || st->backup != s.backup) {
            st->host = host;
            st->master = s.master;
            st->backup = s.backup;
            board_.changed(true);
        }
    }

    std::string status_file = effective_status_file(next);
    board_.set_status_file(status_file);

    hooks::HookOptions ho;
    ho.dir = next.daemon.hooks_dir;
    ho.timeout_ms = int64_t(next.daemon.hook_timeout_s) * 1000;
    if (!hooks_) {
        hooks_ = std::make_unique<hooks::HookRunner>(loop_, clock_, ho,
                                                     static_cast<hooks::HookListener *>(this));
        services_.hooks = hooks_.get();
    } else if (next.daemon.hooks_dir != config_.daemon.hooks_dir ||
               next.daemon.hook_timeout_s != config_.daemon.hook_timeout_s) {
        hooks_->set_options(ho);
    }
    hooks::HookOptions sho = ho;
    sho.dir = next.daemon.server_hooks_dir;
    sho.name = "server-post-tracking";
    if (!server_hooks_)
        server_hooks_ = std::make_unique<hooks::HookRunner>(loop_, clock_, sho);
    else if (next.daemon.server_hooks_dir != config_.daemon.server_hooks_dir ||
             next.daemon.hook_timeout_s != config_.daemon.hook_timeout_s)
        server_hooks_->set_options(sho);
    if (!book_) {
        book_ = std::make_unique<sched::AddressBook>(loop_, clock_,
                                                     static_cast<sched::AddressListener &>(*this));
        board_.set_extension(static_cast<status::BoardExtension *>(this));
    }
    std::vector<std::pair<std::string, std::string>> wans;
    for (const cfg::Interface &i : next.interfaces)
        wans.push_back({i.name, i.net.device});
    book_->configure(next, wans);
    sync_trackers(next, changed);
    if (!servers_) {
        servers_ =
                std::make_unique<sched::ServerTracker>(loop_, clock_, board_, server_hooks_.get());
        servers_->set_address_book(book_.get());
        servers_->configure(next);
        servers_->start();
    } else {
        servers_->configure(next);
    }

    std::string socket_path = effective_socket_path(next);
    if (!control_) {
        open_control(socket_path);
    } else if (socket_path != control_path_) {
        // A reload may come from a control client's callback: the server must not be
        // replaced from inside it (control.h). Swap it at the next loop iteration.
        pending_socket_path_ = socket_path;
        reopen_.start(0.0);
    }

    if (first) {
        if (!control_)
            return; // start() fails: no "starting" line for a daemon that is not
        LOGN("omr-trackerd %s starting: config %s; tracking %s; servers %s; socket %s; "
             "status file %s",
             OMRT_VERSION, next.dir.c_str(), join_names(names).c_str(), join_names(snames).c_str(),
             socket_path.c_str(), status_file.empty() ? "none" : status_file.c_str());
        if (!next.multipath_enabled)
            LOGW("network.globals.multipath is not 'enable': no interface is tracked "
                 "(as omr-tracker does)");
        for (const cfg::Skipped &s : next.skipped)
            LOGI("not tracking %s: %s", s.name.c_str(), s.why.c_str());
    } else {
        LOGN("reloaded %s: interfaces added %s, changed %s, removed %s, unchanged %s",
             next.dir.c_str(), join_names(added).c_str(), join_names(changed).c_str(),
             join_names(removed).c_str(), join_names(kept).c_str());
    }
    config_ = std::move(next);
    have_config_ = true;
}

sched::IfaceTracker *Daemon::find_tracker(const std::string &name)
{
    for (auto &t : trackers_)
        if (t->name() == name)
            return t.get();
    return nullptr;
}

void Daemon::feed_targets(sched::IfaceTracker &t, const cfg::Config &c)
{
    auto resolve = [this](const std::string &h) {
        if (book_)
            return book_->lookup(h).addrs;
        std::vector<omrt::IpAddr> v;
        omrt::IpAddr a;
        if (omrt::IpAddr::parse(h, a))
            v.push_back(a);
        return v;
    };
    // The VPS addresses every interface probes first (§3.2 step 6.1): every address of
    // every `ip` entry of every enabled server.
    std::vector<sched::Target> servers[2];
    for (const cfg::Server &s : c.servers)
        for (const std::string &h : s.hosts)
            for (const omrt::IpAddr &a : resolve(h))
                servers[a.is_v4() ? sched::kV4 : sched::kV6].push_back(
                        sched::Target{a, s.name, uint16_t(s.port)});
    // The public hosts, in configured order (the rotation starts at the first); a name
    // stands for its first address of the list's family.
    const cfg::Interface *i = c.find_interface(t.name());
    std::vector<sched::Target> hosts[2];
    if (i)
        for (unsigned f = 0; f < 2; f++)
            for (const std::string &h : f == sched::kV4 ? i->opts.hosts : i->opts.hosts6)
                for (const omrt::IpAddr &a : resolve(h))
                    if (a.is_v4() == (f == sched::kV4)) {
                        hosts[f].push_back(sched::Target{a, h});
                        break;
                    }
    for (unsigned f = 0; f < 2; f++) {
        t.set_servers(f, std::move(servers[f]));
        t.set_hosts(f, std::move(hosts[f]));
    }
}

void Daemon::sync_trackers(const cfg::Config &next, const std::vector<std::string> &changed)
{
    sched::IfaceContext ctx;
    ctx.ipv6_disabled = next.settings.disable_ipv6;
    bool ctx_changed = have_config_ && next.settings.disable_ipv6 != config_.settings.disable_ipv6;
    trackers_.erase(std::remove_if(trackers_.begin(), trackers_.end(),
                                   [&](const std::unique_ptr<sched::IfaceTracker> &t) {
                                       if (next.find_interface(t->name()))
                                           return false;
                                       registry_.forget_wan(t->name());
                                       return true;
                                   }),
                    trackers_.end());
    for (const cfg::Interface &i : next.interfaces) {
        sched::IfaceTracker *t = find_tracker(i.name);
        bool rebuild = t && std::find(changed.begin(), changed.end(), i.name) != changed.end();
        if (rebuild) {
            // Its section changed: a new tracker, like its board entry (UNKNOWN, fresh
            // statistics); unchanged interfaces keep theirs.
            for (auto &slot : trackers_)
                if (slot.get() == t) {
                    slot = std::make_unique<sched::IfaceTracker>(services_, i, ctx);
                    t = slot.get();
                }
            feed_targets(*t, next);
            t->start();
            continue;
        }
        if (!t) {
            trackers_.push_back(std::make_unique<sched::IfaceTracker>(services_, i, ctx));
            t = trackers_.back().get();
            feed_targets(*t, next);
            t->start();
            continue;
        }
        feed_targets(*t, next);
        if (ctx_changed)
            t->update(i, ctx);
    }
}

void Daemon::on_iface_verdict(const std::string &iface, const sched::Verdict &v)
{
    update_wans();
    // A WAN that works again: its DNS context need not wait for its back-off.
    if (v.transition && v.status == omrt::Health::Ok && v.prev == omrt::Health::Error && book_)
        book_->refresh_wan(iface, "WAN OK again");
}

void Daemon::on_iface_link_changed(const std::string &iface)
{
    update_wans();
    if (book_)
        book_->refresh_wan(iface, "WAN changed");
}

void Daemon::on_addresses_changed(const std::string &host,
                                  const std::vector<omrt::IpAddr> &old_addrs,
                                  const std::vector<omrt::IpAddr> &new_addrs)
{
    (void)host;
    (void)old_addrs;
    (void)new_addrs;
    // The DNS module logged the change (old -> new, via which server and WAN). Point every
    // consumer at the new addresses: the servers (checked at once) and the interface
    // trackers' VPS and host targets.
    if (servers_)
        servers_->refresh_entries();
    for (auto &t : trackers_)
        feed_targets(*t, config_);
}

void Daemon::write_server_extra(core::JsonWriter &w, const status::ServerState &s)
{
    const cfg::Server *sc = config_.find_server(s.name);
    if (!sc || !book_)
        return;
    w.key("dns");
    w.begin_array();
    for (const std::string &h : sc->hosts) {
        omrt::IpAddr a;
        if (omrt::IpAddr::parse(h, a))
            continue;
        w.begin_object();
        w.kv("entry", h);
        w.key("resolvers");
        book_->write_json(w, h);
        w.end_object();
    }
    w.end_array();
}

void Daemon::update_wans()
{
    // The WANs a server is checked through: tracked interfaces in MPTCP use (the shell's
    // `multipath` default-mode devices, §5.2 step 3), not the VPN tunnel over the VPS.
    std::vector<sched::WanView> views;
    for (const auto &t : trackers_) {
        const cfg::Interface *i = config_.find_interface(t->name());
        // The shell's `multipath | awk '/default/'`: links in MPTCP default mode, that is
        // `on` and `master`; backup and handover links (often metered) are not used.
        if (!i || (i->net.multipath != "on" && i->net.multipath != "master"))
            continue;
        const sched::LinkView &l = t->machine().link();
        sched::WanView w;
        w.name = t->name();
        w.device = l.device;
        w.usable = l.device_present && l.usable;
        w.src[0] = l.addr[sched::kV4];
        w.src[1] = l.addr[sched::kV6];
        views.push_back(w);
    }
    bool same = views.size() == wan_views_.size();
    for (size_t k = 0; same && k < views.size(); k++)
        same = views[k].name == wan_views_[k].name && views[k].device == wan_views_[k].device &&
               views[k].usable == wan_views_[k].usable && views[k].src[0] == wan_views_[k].src[0] &&
               views[k].src[1] == wan_views_[k].src[1];
    if (same || !servers_)
        return;
    wan_views_ = views;
    servers_->set_wans(views);
}

void Daemon::on_hook_started(const std::string &key, const std::string &hook, pid_t pid,
                             omrt::MonoUs at)
{
    // The runner logs the start; this is where a benchmark hook-start probe would go.
    (void)key;
    (void)hook;
    (void)pid;
    (void)at;
}

void Daemon::on_run_finished(const std::string &key)
{
    (void)key;
    if (stopping_ && hooks_ && hooks_->running() == 0)
        loop_.break_loop();
}

void Daemon::shutdown()
{
    if (stopping_)
        return;
    stopping_ = true;
    // Hooks get SIGTERM and a moment to go; the runner's destructor SIGKILLs the rest.
    if (hooks_ && hooks_->running() > 0) {
        hooks_->stop();
        stop_timer_.start(0.3);
        return;
    }
    loop_.break_loop();
}

void Daemon::on_stop_timer()
{
    loop_.break_loop();
}

void Daemon::open_control(const std::string &path)
{
    auto server = std::make_unique<status::ControlServer>(loop_, clock_, board_, *this);
    status::ControlOptions co;
    co.path = path;
    std::string err;
    if (!server->open(co, &err)) {
        if (control_)
            LOGE("control socket: %s; keeping %s", err.c_str(), control_path_.c_str());
        else
            LOGE("control socket: %s", err.c_str());
        return;
    }
    if (control_)
        control_->close();
    control_ = std::move(server);
    control_path_ = path;
}

void Daemon::on_reopen()
{
    if (!pending_socket_path_.empty())
        open_control(pending_socket_path_);
    pending_socket_path_.clear();
}

bool Daemon::reload(std::vector<std::string> *errors)
{
    cfg::Config c;
    std::vector<cfg::Diag> diags;
    if (!cfg::load_config(opts_.config_dir, c, diags)) {
        log_diags(diags);
        LOGE("reload: invalid configuration in %s (%zu error(s)); still running the previous "
             "one",
             opts_.config_dir.c_str(), diags.size());
        if (errors)
            for (const cfg::Diag &d : diags)
                errors->push_back(d.format());
        return false;
    }
    log_diags(c.warnings);
    apply(std::move(c), false);
    if (netlink_ok_)
        netlink_.request_dump();
    return true;
}

bool Daemon::on_reload(std::vector<std::string> *errors)
{
    return reload(errors);
}

bool Daemon::on_recheck(const std::string &name, std::string *err)
{
    if (!name.empty() && !config_.find_interface(name) && !config_.find_server(name)) {
        if (err)
            *err = "unknown interface or server '" + name + "'";
        return false;
    }
    LOGI("recheck requested for %s", name.empty() ? "everything" : name.c_str());
    for (auto &t : trackers_)
        if (name.empty() || t->name() == name)
            t->recheck();
    if (servers_)
        servers_->recheck(name);
    return true;
}

void Daemon::on_signal(int signum)
{
    switch (signum) {
    case SIGTERM:
    case SIGINT:
        LOGN("%s received, exiting", signum == SIGTERM ? "SIGTERM" : "SIGINT");
        shutdown();
        break;
    case SIGHUP:
        LOGN("SIGHUP received, reloading %s", opts_.config_dir.c_str());
        reload(nullptr);
        break;
    case SIGUSR1:
        on_recheck(std::string(), nullptr);
        break;
    default:
        break;
    }
}

void Daemon::on_lag_tick()
{
    omrt::MonoUs now = clock_.mono_us();
    double lag_ms = double(std::max<int64_t>(0, now - lag_expected_us_)) / omrt::kUsPerMs;
    lag_expected_us_ = now + int64_t(kLagTickS * omrt::kUsPerS);
    lag_window_ms_[lag_slot_] = lag_ms;
    lag_slot_ = (lag_slot_ + 1) % (sizeof(lag_window_ms_) / sizeof(lag_window_ms_[0]));
    double worst = 0;
    for (double v : lag_window_ms_)
        worst = std::max(worst, v);
    board_.set_loop_lag_ms(worst);
}

int check_config(const std::string &dir)
{
    cfg::Config c;
    std::vector<cfg::Diag> errors;
    bool ok = cfg::load_config(dir, c, errors);
    for (const cfg::Diag &d : ok ? c.warnings : errors)
        std::fprintf(stderr, "%s: %s\n", d.warning ? "warning" : "error", d.format().c_str());
    if (!ok) {
        std::fprintf(stderr, "%s: %zu error(s); configuration is NOT valid\n", dir.c_str(),
                     errors.size());
        return 1;
    }
    std::fputs(cfg::dump_config(c).c_str(), stdout);
    std::fprintf(stderr, "%s: configuration is valid\n", dir.c_str());
    return 0;
}

} // namespace daemon_
