#include "sched/server_tracker.h"

#include "core/log.h"
#include "core/str.h"
#include "core/vec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sched {

namespace {

// The shell server tracker's syslog tag (reference §5.2, §8.1 #12).
const char *const kTag = "OMR-Tracker-Server";

// How often the API's credentials are confirmed (POST /token + GET /status) while it
// answers; also after every recheck. A refused token is retried sooner.
constexpr int64_t kAuthPeriodUs = 300 * omrt::kUsPerS;
constexpr int64_t kAuthRetryUs = 60 * omrt::kUsPerS;
// Each WAN's public address as the VPS sees it (GET /clienthost, reference §5.6): the
// shell's 020-status asked hourly; every 10 minutes costs one small request per WAN.
constexpr int64_t kClientHostPeriodUs = 600 * omrt::kUsPerS;

api::CertPolicy policy_of(const std::string &s)
{
    if (s == "pin")
        return api::CertPolicy::pin;
    if (s == "ca")
        return api::CertPolicy::ca;
    return api::CertPolicy::insecure;
}

// The TLS name of a server: tls_name, else the first `ip` entry that is a host name.
std::string tls_name_of(const cfg::Server &s)
{
    if (!s.tls_name.empty())
        return s.tls_name;
    for (const std::string &h : s.hosts) {
        omrt::IpAddr a;
        if (!omrt::IpAddr::parse(h, a))
            return h;
    }
    return std::string();
}

bool api_type(cfg::ServerCheck t)
{
    return t == cfg::ServerCheck::api || t == cfg::ServerCheck::apiping;
}

// Every address of the server's entries, as the status shows them.
std::vector<std::string> addresses_of(const ServerMachine &m)
{
    std::vector<std::string> out;
    for (const ServerEntry &e : m.entries())
        for (const omrt::IpAddr &a : e.addrs)
            out.push_back(a.str());
    return out;
}

const char *word(omrt::Health h)
{
    return h == omrt::Health::Ok ? "OK" : h == omrt::Health::Error ? "ERROR" : "";
}

} // namespace

// --------------------------------------------------------------------------- types

struct ServerTracker::Wan {
    std::string name;
    std::string device;
    omrt::IpAddr src[2];
    std::unique_ptr<icmp::Prober> prober[2];
    bool open_failed[2] = {false, false};
};

struct ServerTracker::Op {
    uint64_t id;
    struct Server *srv;
    uint32_t check;
    CheckType type;
    icmp::Prober *prober = nullptr;
    uint64_t probe = 0;
    api::ApiClient *client = nullptr;
    std::string wan;
    omrt::IpAddr addr;
};

struct ServerTracker::Server final : ServerEffects {
    struct Client {
        std::string wan;
        omrt::IpAddr addr;
        std::unique_ptr<api::ApiClient> api;
    };

    ServerTracker &owner;
    cfg::Server cfg;
    ServerMachine machine;
    core::Timer wake;
    api::TlsPolicy tls;
    bool tls_ok = false;
    api::SharedToken token;
    std::vector<Client> clients;
    std::unique_ptr<api::ApiClient> auth;
    omrt::MonoUs auth_next = 0;
    struct PublicIp {
        Server *srv;
        std::string wan;
        int family;     // of the lane: the VPS sees an IPv4 and an IPv6 source per WAN
        std::string ip; // "" unknown
        omrt::MonoUs next = 0;
        std::unique_ptr<api::ApiClient> client;
    };
    std::vector<std::unique_ptr<PublicIp>> public_ips;
    std::string prev_status;
    std::string prev_ip;
    std::string last_ip;
    omrt::Health last_health = omrt::Health::Unknown;

    Server(ServerTracker &o, const cfg::Server &c, const ServerParams &p)
        : owner(o), cfg(c), machine(c.name, p, *this),
          wake(o.loop_, core::member<Server, &Server::on_wake>, this), tls(o.clock_, &o.pins_)
    {}

    void on_wake() { machine.on_timer(owner.clock_.mono_us()); }
    void start_check(uint32_t id, CheckType t, const std::string &wan, const omrt::IpAddr &addr,
                     int64_t timeout_us) override
    {
        owner.start_check(*this, id, t, wan, addr, timeout_us);
    }
    void cancel_check(uint32_t id) override { owner.cancel_check(*this, id); }
    void wake_at(omrt::MonoUs t) override
    {
        wake.start(std::max(0.0, double(t - owner.clock_.mono_us()) / omrt::kUsPerS));
    }
    void on_server_verdict(const ServerVerdict &v) override { owner.on_verdict(*this, v); }
};

// --------------------------------------------------------------------------- setup

ServerTracker::ServerTracker(core::Loop &loop, const omrt::Clock &clock, status::Board &board,
                             hooks::HookRunner *hooks)
    : loop_(loop), clock_(clock), board_(board), hooks_(hooks),
      fail_timer_(loop, core::member<ServerTracker, &ServerTracker::on_fail_timer>, this)
{}

ServerTracker::~ServerTracker()
{
    if (book_)
        book_->set_state_observer(nullptr);
    ops_.clear();
    servers_.clear(); // API clients before the probers' owners
    wans_.clear();
}

void ServerTracker::set_address_book(AddressBook *book)
{
    if (book_)
        book_->set_state_observer(nullptr);
    book_ = book;
    if (book_)
        book_->set_state_observer(static_cast<HostStateObserver *>(this));
}

void ServerTracker::on_host_state_changed(const std::string &host)
{
    (void)host;
    refresh_entries();
}

ServerTracker::Server *ServerTracker::find(const std::string &name)
{
    for (auto &s : servers_)
        if (s->cfg.name == name)
            return s.get();
    return nullptr;
}

bool ServerTracker::has(const std::string &name) const
{
    for (const auto &s : servers_)
        if (s->cfg.name == name)
            return true;
    return false;
}

const ServerMachine *ServerTracker::machine(const std::string &name) const
{
    for (const auto &s : servers_)
        if (s->cfg.name == name)
            return &s->machine;
    return nullptr;
}

void ServerTracker::configure(const cfg::Config &c)
{
    bool opts_changed = !(opts_ == c.server_opts);
    opts_ = c.server_opts;
    enabled_ = c.server_opts.enabled;
    if (pin_path_ != c.daemon.pin_file) {
        pin_path_ = c.daemon.pin_file;
        pins_ = api::PinStore(pin_path_);
        std::string err;
        if (!pins_.load(&err))
            LOGW("servers: certificate pins: %s", err.c_str());
    }
    ServerParams p = ServerParams::from_config(c.server_opts);
    // Drop servers that are gone (or the whole tracker when disabled). A server whose
    // section or the tracker's options changed starts over from UNKNOWN, like its status
    // board entry: its clients, connections, token and TLS policy are rebuilt.
    core::erase_where(servers_, [&](const std::unique_ptr<Server> &s) {
        const cfg::Server *n = c.find_server(s->cfg.name);
        if (enabled_ && n && *n == s->cfg && !opts_changed)
            return false;
        for (auto &op : ops_)
            if (op->srv == s.get())
                op->srv = nullptr;
        return true;
    });
    core::erase_where(ops_, [](const std::unique_ptr<Op> &op) {
        if (op->srv)
            return false;
        // API clients died with their server, without calling back.
        if (op->prober)
            op->prober->cancel(op->probe);
        return true;
    });
    if (!enabled_) {
        current_.clear();
        for (const cfg::Server &sc : c.servers)
            board_.set_server_verdict(sc.name, omrt::Health::Unknown, omrt::Reason::disabled,
                                      "not checked: the server tracker is disabled "
                                      "(omr-tracker.server.enabled 0)");
        return;
    }
    for (const cfg::Server &sc : c.servers) {
        if (find(sc.name))
            continue; // unchanged: keeps its state
        servers_.push_back(std::make_unique<Server>(*this, sc, p));
        Server *s = servers_.back().get();
        api::TlsSettings ts;
        ts.name = sc.name;
        ts.policy = policy_of(sc.tls_policy);
        ts.ca_file = sc.tls_ca_file;
        ts.pin = sc.tls_pin;
        std::string err;
        s->tls_ok = s->tls.setup(ts, &err);
        if (!s->tls_ok)
            LOGE("%s: TLS policy %s: %s", sc.name.c_str(), sc.tls_policy.c_str(), err.c_str());
        omrt::MonoUs now = clock_.mono_us();
        s->machine.set_entries(entries_of(sc), now);
        s->machine.set_wans(wan_views_, now);
        if (started_)
            s->machine.start(now);
        if (status::ServerState *st = board_.server(sc.name)) {
            st->master = sc.master;
            st->backup = sc.backup;
        }
    }
    // Keep the configuration's order (masters and backups are picked in file order).
    std::vector<std::unique_ptr<Server>> ordered;
    for (const cfg::Server &sc : c.servers)
        for (auto &s : servers_)
            if (s && s->cfg.name == sc.name)
                ordered.push_back(std::move(s));
    servers_ = std::move(ordered);
    if (!current_.empty() && !find(current_))
        current_.clear();
    update_current("configuration");
}

void ServerTracker::start()
{
    started_ = true;
    if (!enabled_) {
        LOGI("servers: the server tracker is disabled (omr-tracker.server.enabled 0)");
        return;
    }
    for (auto &s : servers_)
        s->machine.start(clock_.mono_us());
}

std::vector<ServerEntry> ServerTracker::entries_of(const cfg::Server &sc) const
{
    // Literal `ip` entries resolve to themselves; names come from the address book.
    std::vector<ServerEntry> entries;
    for (const std::string &h : sc.hosts) {
        ServerEntry e;
        e.text = h;
        omrt::IpAddr a;
        if (omrt::IpAddr::parse(h, a)) {
            e.addrs.push_back(a);
        } else if (book_) {
            HostAddresses r = book_->lookup(h);
            e.addrs = r.addrs;
            e.dns_reason = r.reason;
            e.dns_message = r.message;
            e.stale = r.stale;
        } else {
            e.dns_reason = omrt::Reason::dns_no_servers;
            e.dns_message = "no resolver";
        }
        entries.push_back(std::move(e));
    }
    return entries;
}

void ServerTracker::prune_clients(Server &s)
{
    // Clients of addresses no longer in DNS, or of WANs gone, once no op points to them
    // (an op keeps its client until it ends, whether the client still runs its check or
    // not).
    core::erase_where(s.clients, [&](const Server::Client &c) {
        if (c.api->busy())
            return false;
        for (const auto &op : ops_)
            if (op->client == c.api.get())
                return false;
        bool wan = false, addr = false;
        for (const WanView &w : wan_views_)
            wan = wan || w.name == c.wan;
        for (const ServerEntry &e : s.machine.entries())
            addr = addr || std::find(e.addrs.begin(), e.addrs.end(), c.addr) != e.addrs.end();
        return !wan || !addr;
    });
}

void ServerTracker::refresh_entries()
{
    omrt::MonoUs now = clock_.mono_us();
    for (auto &s : servers_) {
        s->machine.set_entries(entries_of(s->cfg), now);
        prune_clients(*s);
        if (status::ServerState *st = board_.server(s->cfg.name)) {
            std::vector<std::string> addrs = addresses_of(s->machine);
            if (addrs != st->addresses) {
                st->addresses = addrs;
                board_.changed(true);
            }
        }
    }
}

ServerTracker::Wan *ServerTracker::find_wan(const std::string &name)
{
    for (auto &w : wans_)
        if (w->name == name)
            return w.get();
    return nullptr;
}

void ServerTracker::set_wans(const std::vector<WanView> &wans)
{
    wan_views_ = wans;
    for (const WanView &v : wans) {
        Wan *w = find_wan(v.name);
        if (!w) {
            wans_.push_back(std::make_unique<Wan>());
            w = wans_.back().get();
            w->name = v.name;
        }
        for (unsigned f = 0; f < 2; f++)
            if (w->device != v.device || w->src[f] != v.src[f]) {
                if (w->prober[f])
                    w->prober[f]->close();
                w->open_failed[f] = false;
            }
        w->device = v.device;
        w->src[0] = v.src[0];
        w->src[1] = v.src[1];
    }
    for (auto &s : servers_) {
        s->machine.set_wans(wans, clock_.mono_us());
        prune_clients(*s);
    }
}

bool ServerTracker::recheck(const std::string &name)
{
    bool found = false;
    for (auto &s : servers_)
        if (name.empty() || s->cfg.name == name) {
            found = true;
            s->auth_next = 0;
            // Everything about it now: its names too (rate-limited by the DNS module).
            if (book_)
                for (const std::string &h : s->cfg.hosts)
                    book_->refresh(h, "recheck");
            s->machine.trigger(clock_.mono_us(), "recheck", true);
        }
    return found;
}

void ServerTracker::on_server_probe_failed(const std::string &wan, const omrt::IpAddr &addr)
{
    for (auto &s : servers_)
        for (const ServerEntry &e : s->machine.entries())
            if (std::find(e.addrs.begin(), e.addrs.end(), addr) != e.addrs.end()) {
                LOGD("%s: %s does not answer via %s: checking", s->cfg.name.c_str(),
                     addr.str().c_str(), wan.c_str());
                s->machine.trigger(clock_.mono_us(), "an interface probe failed");
            }
}

// --------------------------------------------------------------------------- checks

icmp::Prober *ServerTracker::prober_for(const std::string &wan, int family)
{
    Wan *w = find_wan(wan);
    if (!w)
        return nullptr;
    unsigned f = family == AF_INET ? 0 : 1;
    if (!w->prober[f])
        w->prober[f] = std::make_unique<icmp::Prober>(loop_, clock_,
                                                      static_cast<icmp::ProbeListener &>(*this));
    if (!w->prober[f]->is_open() && !w->open_failed[f]) {
        icmp::ProberOptions o;
        o.name = "servers/";
        o.name += wan;
        o.name += f == 0 ? "/ipv4" : "/ipv6";
        o.family = family;
        o.device = w->device;
        o.source = w->src[f];
        o.tos = 184;
        std::string err;
        if (!w->prober[f]->open(o, &err)) {
            LOGE("%s: cannot open an ICMP socket: %s", o.name.c_str(), err.c_str());
            w->open_failed[f] = true;
        }
    }
    return w->prober[f].get();
}

api::ApiClient &ServerTracker::client_for(Server &s, const std::string &wan,
                                          const omrt::IpAddr &addr)
{
    for (Server::Client &x : s.clients)
        if (x.wan == wan && x.addr == addr)
            return *x.api;
    s.clients.push_back(Server::Client{wan, addr, nullptr});
    Server::Client &c = s.clients.back();
    c.api = std::make_unique<api::ApiClient>(loop_, clock_, s.tls, &s.token);
    return *c.api;
}

api::ApiConfig ServerTracker::config_for(const Server &s, const std::string &wan,
                                         const omrt::IpAddr &addr, int64_t timeout_us)
{
    Wan *w = find_wan(wan);
    api::ApiConfig ac;
    ac.name = s.cfg.name;
    ac.target.host = addr.str();
    ac.target.port = uint16_t(s.cfg.port);
    ac.target.sni = tls_name_of(s.cfg);
    if (w) {
        ac.target.device = w->device;
        ac.target.source = w->src[addr.is_v4() ? 0 : 1].str();
    }
    ac.target.via = wan;
    ac.username = s.cfg.username;
    ac.password = s.cfg.password;
    // Every phase, and the whole check, end by the time the machine gave the check.
    uint32_t ms = uint32_t(std::max<int64_t>(timeout_us / 1000, 1));
    ac.timeouts.connect_ms = ms;
    ac.timeouts.handshake_ms = ms;
    ac.timeouts.response_ms = ms;
    ac.timeouts.total_ms = ms;
    return ac;
}

void ServerTracker::start_check(Server &s, uint32_t id, CheckType t, const std::string &wan,
                                const omrt::IpAddr &addr, int64_t timeout_us)
{
    ops_.push_back(std::make_unique<Op>());
    Op &op = *ops_.back();
    op.id = next_op_++;
    op.srv = &s;
    op.check = id;
    op.type = t;
    op.wan = wan;
    op.addr = addr;
    if (t == CheckType::ping) {
        icmp::Prober *p = prober_for(wan, addr.family);
        op.prober = p;
        op.probe = p ? p->send(addr, timeout_us, reinterpret_cast<void *>(uintptr_t(op.id))) : 0;
        if (op.probe == 0) {
            // No socket: a prober delivers errors from the loop, so do we (never from
            // inside the machine's call).
            op.prober = nullptr;
            op.client = nullptr;
        }
        if (op.probe != 0)
            return;
    } else {
        if (!s.tls_ok) {
            op.client = nullptr;
        } else {
            api::ApiClient &c = client_for(s, wan, addr);
            // Not expected (one check per lane at a time), but never leave an older check
            // of this client without an answer, nor with a pointer to it: before the
            // client is reconfigured, which would cancel it silently.
            c.cancel();
            for (auto &o : ops_)
                if (o->client == &c && o->id != op.id) {
                    o->client = nullptr;
                    CheckOutcome x;
                    x.reason = omrt::Reason::internal;
                    x.message = "check superseded";
                    fail_later(o->id, std::move(x));
                }
            c.configure(config_for(s, wan, addr, timeout_us));
            op.client = &c;
            if (c.check(api::CheckKind::health, &ServerTracker::on_api_result, &op)) {
                if (status::ServerState *st = board_.server(s.cfg.name))
                    st->api_checks++;
                return;
            }
            op.client = nullptr;
        }
    }
    // Could not even start (no ICMP socket, unusable TLS policy): the failure is delivered
    // from the loop, never from inside the machine's call (STYLE.md practice 5).
    CheckOutcome o;
    o.ok = false;
    o.reason = t == CheckType::ping ? omrt::Reason::internal : omrt::Reason::config;
    o.message = t == CheckType::ping
                        ? core::strprintf("cannot send ICMP to %s via %s", addr.str().c_str(),
                                          wan.c_str())
                        : core::strprintf("the TLS policy of %s is not usable", s.cfg.name.c_str());
    fail_later(op.id, std::move(o));
}

void ServerTracker::fail_later(uint64_t op, CheckOutcome o)
{
    failed_.push_back(Failed{op, std::move(o)});
    fail_timer_.start(0.0);
}

void ServerTracker::on_fail_timer()
{
    std::vector<Failed> now;
    now.swap(failed_);
    for (const Failed &f : now)
        finish_op(f.op, f.outcome);
}

void ServerTracker::cancel_check(Server &s, uint32_t id)
{
    (void)s;
    for (auto it = ops_.begin(); it != ops_.end(); ++it) {
        Op &op = **it;
        if (op.srv != &s || op.check != id)
            continue;
        if (op.prober)
            op.prober->cancel(op.probe);
        if (op.client)
            op.client->cancel();
        ops_.erase(it);
        return;
    }
}

size_t ServerTracker::op_index(uint64_t op_id) const
{
    return core::index_where(ops_,
                             [op_id](const std::unique_ptr<Op> &x) { return x->id == op_id; });
}

void ServerTracker::finish_op(uint64_t op_id, const CheckOutcome &o)
{
    size_t i = op_index(op_id);
    if (i == ops_.size())
        return;
    Server *s = ops_[i]->srv;
    uint32_t check = ops_[i]->check;
    ops_.erase(ops_.begin() + std::ptrdiff_t(i));
    if (s)
        s->machine.on_check_result(check, o, clock_.mono_us());
}

void ServerTracker::on_probe_result(const icmp::ProbeResult &r)
{
    uint64_t op_id = uint64_t(reinterpret_cast<uintptr_t>(r.cookie));
    size_t i = op_index(op_id);
    if (i == ops_.size())
        return;
    const Op &op = *ops_[i];
    CheckOutcome o;
    o.rtt_us = r.rtt_us;
    std::string addr = op.addr.str();
    const char *a = addr.c_str(), *wan = op.wan.c_str();
    switch (r.outcome) {
    case icmp::Outcome::Reply:
        o.ok = true;
        o.reason = omrt::Reason::ok;
        o.message = core::strprintf("%s answers ICMP via %s in %.1f ms", a, wan,
                                    double(r.rtt_us) / 1000.0);
        break;
    case icmp::Outcome::Timeout:
        o.reason = omrt::Reason::target_timeout;
        o.message = core::strprintf("no ICMP answer from %s via %s", a, wan);
        break;
    case icmp::Outcome::Unreachable:
        o.reason = omrt::Reason::net_unreachable;
        o.message = core::strprintf(
                "%s unreachable via %s (ICMP %s from %s)", a, wan,
                icmp::icmp_type_name(r.from.is_v6() ? icmp::Family::V6 : icmp::Family::V4,
                                     r.icmp_type, r.icmp_code),
                r.from.str().c_str());
        break;
    case icmp::Outcome::SendError:
        o.reason = omrt::Reason::net_unreachable;
        o.message = core::strprintf("cannot send ICMP to %s via %s: %s", a, wan,
                                    std::strerror(r.error));
        break;
    }
    finish_op(op_id, o);
}

void ServerTracker::on_api_result(void *ctx, const api::CheckResult &r) noexcept
{
    Op *op = static_cast<Op *>(ctx);
    ServerTracker *self = nullptr;
    if (op->srv)
        self = &op->srv->owner;
    if (!self)
        return;
    CheckOutcome o;
    o.ok = r.ok;
    o.reason = r.ok ? omrt::Reason::ok : r.reason;
    o.message = r.message;
    o.rtt_us = r.elapsed_us;
    op->client = nullptr; // the client is done; cancel must not touch it
    self->finish_op(op->id, o);
}

// --------------------------------------------------------------------------- verdicts

void ServerTracker::on_verdict(Server &s, const ServerVerdict &v)
{
    status::ServerState *st = board_.server(s.cfg.name);
    bool significant = false;
    std::string ip = v.addr.str();
    if (st) {
        significant = st->in_use != ip;
        st->addresses = addresses_of(s.machine);
        st->in_use = ip;
        st->checks = s.machine.rounds();
        st->wans.clear();
        for (const LaneResult &l : v.lanes) {
            st->wans.emplace_back();
            status::ServerWan *w = &st->wans.back();
            w->wan = l.wan;
            w->addr = l.addr.str();
            w->ok = l.api_ok || l.ping_ok;
            w->reason = l.reason;
            w->message = l.message;
            w->rtt_ms = l.rtt_us >= 0 ? double(l.rtt_us) / 1000.0 : NAN;
            for (const auto &p : s.public_ips)
                if (p->wan == l.wan && p->family == l.addr.family)
                    w->public_ip = p->ip;
        }
    }
    LOGD("%s: %s %s (round %llu: %s)", s.cfg.name.c_str(), omrt::health_name(v.status),
         omrt::reason_name(v.reason), (unsigned long long)s.machine.rounds(),
         s.machine.round_why());
    board_.set_server_verdict(s.cfg.name, v.status, v.reason, v.message);
    board_.changed(significant); // the address in use is news; the lanes' RTTs are not
    if (v.transition) {
        LOGN("%s is now %s: %s: %s", s.cfg.name.c_str(), omrt::health_name(v.status),
             omrt::reason_name(v.reason), v.message.c_str());
        // §5.2 step 4's wording, under its tag.
        if (v.status == omrt::Health::Error && v.prev == omrt::Health::Ok)
            core::log_write_tag(LOG_NOTICE, kTag, "%s server %s down (%s)",
                                s.cfg.master ? "Master" : "Backup", s.cfg.name.c_str(), ip.c_str());
    }
    // A server that stops answering may have moved (DDNS): ask DNS again now.
    if (v.transition && v.status == omrt::Health::Error && book_)
        for (const std::string &h : s.cfg.hosts)
            book_->refresh(h, "server check failed");
    s.last_health = v.status;
    bool addr_changed = !s.last_ip.empty() && s.last_ip != ip && v.status == omrt::Health::Ok;
    if (addr_changed)
        LOGN("%s: now using %s (was %s)", s.cfg.name.c_str(), ip.c_str(), s.last_ip.c_str());
    if (v.status == omrt::Health::Ok) {
        if (addr_changed)
            s.prev_ip = s.last_ip;
        s.last_ip = ip;
    }
    std::string before = current_;
    update_current(v.transition ? "status" : "check");
    if (v.transition && current_ == before)
        run_hooks(s, "status");
    else if (addr_changed && current_ == before)
        run_hooks(s, "address");
    maybe_auth(s, v);
    maybe_clienthost(s, v);
}

void ServerTracker::maybe_clienthost(Server &s, const ServerVerdict &v)
{
    if (!api_type(opts_.type))
        return;
    omrt::MonoUs now = clock_.mono_us();
    for (const LaneResult &l : v.lanes) {
        if (!l.api_ok)
            continue;
        Server::PublicIp *p = nullptr;
        for (auto &x : s.public_ips)
            if (x->wan == l.wan && x->family == l.addr.family)
                p = x.get();
        if (!p) {
            s.public_ips.push_back(std::make_unique<Server::PublicIp>());
            p = s.public_ips.back().get();
            p->srv = &s;
            p->wan = l.wan;
            p->family = l.addr.family;
        }
        if (p->next > now || (p->client && p->client->busy()))
            continue;
        if (!p->client)
            p->client = std::make_unique<api::ApiClient>(loop_, clock_, s.tls, &s.token);
        p->next = now + kAuthRetryUs; // a failure retries in a minute
        api_check(s, *p->client, l, api::CheckKind::clienthost, &ServerTracker::on_clienthost, p);
    }
}

void ServerTracker::on_clienthost(void *ctx, const api::CheckResult &r) noexcept
{
    auto *p = static_cast<Server::PublicIp *>(ctx);
    ServerTracker &self = p->srv->owner;
    if (!r.ok || r.client_host.empty()) {
        LOGD("%s: public address via %s not known: %s", p->srv->cfg.name.c_str(), p->wan.c_str(),
             r.message.c_str());
        return;
    }
    p->next = self.clock_.mono_us() + kClientHostPeriodUs;
    if (p->ip == r.client_host)
        return;
    bool had = !p->ip.empty();
    LOGN("%s: %s's public address is %s%s%s%s", p->srv->cfg.name.c_str(), p->wan.c_str(),
         r.client_host.c_str(), had ? " (was " : "", p->ip.c_str(), had ? ")" : "");
    p->ip = r.client_host;
    if (status::ServerState *st = self.board_.server(p->srv->cfg.name)) {
        omrt::IpAddr a;
        for (status::ServerWan &w : st->wans)
            if (w.wan == p->wan && omrt::IpAddr::parse(w.addr, a) && a.family == p->family)
                w.public_ip = p->ip;
        self.board_.changed(false);
    }
}

void ServerTracker::maybe_auth(Server &s, const ServerVerdict &v)
{
    // Confirm the credentials through an answering lane: POST /token (when no token is
    // cached), then GET /status with it. A refusal is reported, never a failover cause.
    if (!api_type(opts_.type) || v.status != omrt::Health::Ok || s.auth_next > clock_.mono_us())
        return;
    const LaneResult *lane = nullptr;
    for (const LaneResult &l : v.lanes)
        if (l.api_ok) {
            lane = &l;
            break;
        }
    if (!lane || (s.auth && s.auth->busy()))
        return;
    if (!s.auth)
        s.auth = std::make_unique<api::ApiClient>(loop_, clock_, s.tls, &s.token);
    s.auth_next = clock_.mono_us() + kAuthRetryUs;
    api_check(s, *s.auth, *lane, api::CheckKind::status, &ServerTracker::on_auth_result, &s);
}

void ServerTracker::api_check(Server &s, api::ApiClient &c, const LaneResult &l,
                              api::CheckKind kind, api::ApiClient::Callback cb, void *ctx)
{
    c.configure(
            config_for(s, l.wan, l.addr, int64_t(std::max(1u, opts_.timeout_s)) * omrt::kUsPerS));
    if (c.check(kind, cb, ctx))
        if (status::ServerState *st = board_.server(s.cfg.name))
            st->api_checks++;
}

void ServerTracker::on_auth_result(void *ctx, const api::CheckResult &r) noexcept
{
    Server *s = static_cast<Server *>(ctx);
    ServerTracker &self = s->owner;
    omrt::MonoUs now = self.clock_.mono_us();
    if (r.ok) {
        s->auth_next = now + kAuthPeriodUs;
        if (r.token_renewed)
            LOGN("%s: the API no longer accepted our token (restarted?); got a new one",
                 s->cfg.name.c_str());
        s->machine.set_auth(omrt::Reason::ok, std::string(), now);
    } else if (r.reason == omrt::Reason::api_auth_rejected ||
               r.reason == omrt::Reason::http_status ||
               r.reason == omrt::Reason::http_bad_response) {
        // The API answers but cannot be used: say so (the "Can't get vps token" of the
        // shell, with the reason), without calling the server down; once, not at every
        // retry (the status keeps showing it).
        if (s->machine.reason() != r.reason)
            LOGW("%s: %s", s->cfg.name.c_str(), r.message.c_str());
        else
            LOGD("%s: %s", s->cfg.name.c_str(), r.message.c_str());
        s->machine.set_auth(r.reason, r.message, now);
    } else {
        LOGI("%s: credentials not checked: %s", s->cfg.name.c_str(), r.message.c_str());
    }
}

void ServerTracker::update_current(const char *why)
{
    (void)why;
    std::vector<ServerRole> roles;
    roles.reserve(servers_.size());
    for (const auto &s : servers_) {
        roles.emplace_back();
        ServerRole &r = roles.back();
        r.name = s->cfg.name;
        r.master = s->cfg.master;
        r.backup = s->cfg.backup;
        r.status = s->machine.status();
        unsigned e;
        r.addr = s->machine.current_addr(&e);
    }
    std::string next = pick_current(roles, current_);
    bool moved = next != current_;
    std::string prev = std::move(current_);
    current_ = std::move(next);
    Server *to = nullptr, *from = nullptr;
    if (moved) {
        to = find(current_);
        from = find(prev);
    }
    if (to && !prev.empty()) {
        std::string ip = to->machine.current_addr(nullptr).str();
        if (to->cfg.master)
            core::log_write_tag(LOG_NOTICE, kTag, "Master server %s up (%s), set it back",
                                current_.c_str(), ip.c_str());
        else
            core::log_write_tag(LOG_NOTICE, kTag, "Use backup server %s (%s)", current_.c_str(),
                                ip.c_str());
    }
    // Also when it did not move: board entries rebuilt by a reload start with current =
    // false: keep them right.
    bool changed = moved;
    for (auto &s : servers_)
        if (status::ServerState *st = board_.server(s->cfg.name)) {
            bool cur = s->cfg.name == current_;
            if (cur == st->current)
                continue;
            if (cur && moved && !prev.empty())
                st->failovers++;
            st->current = cur;
            changed = true;
        }
    if (changed)
        board_.changed(true);
    if (moved && !prev.empty()) {
        if (from)
            run_hooks(*from, "current");
        if (to)
            run_hooks(*to, "current");
    }
}

void ServerTracker::run_hooks(Server &s, const char *event)
{
    if (!hooks_)
        return;
    unsigned idx = 0;
    omrt::IpAddr a = s.machine.current_addr(&idx);
    const status::ServerState *st = board_.server(s.cfg.name);
    hooks::HookEnv e;
    std::string key;
    auto set = [&e, &key](const char *name, std::string_view value) {
        key = "OMR_TRACKER_";
        key += name;
        (void)e.set(key, value);
    };
    set("EVENT", event);
    set("SERVER", s.cfg.name);
    set("SERVER_IP", a.str());
    set("SERVER_PREV_IP", s.prev_ip);
    set("SERVER_HOST", idx < s.cfg.hosts.size() ? std::string_view(s.cfg.hosts[idx]) : "");
    // The shell's `count` (§5.2 step 4): how many of this server's entries before the one
    // in use answer. The address in use is the first answering entry, so it is 0; the
    // entry itself is SERVER_HOST.
    set("SERVER_INDEX", "0");
    set("SERVER_PORT", core::strprintf("%u", s.cfg.port));
    set("SERVER_MASTER", s.cfg.master ? "1" : "0");
    set("SERVER_BACKUP", s.cfg.backup ? "1" : "0");
    set("SERVER_CURRENT", s.cfg.name == current_ ? "1" : "0");
    set("STATUS", word(s.machine.status()));
    set("PREV_STATUS", s.prev_status);
    set("REASON", st ? omrt::reason_name(st->reason) : "pending");
    set("STATUS_MSG", st ? std::string_view(st->message) : "");
    s.prev_status = word(s.machine.status());
    // One key for every server: the runs edit the same UCI sections (proxies, VPNs), so
    // they go one after the other, in the order the events happened (master down before
    // backup up).
    hooks_->request("servers", std::move(e), hooks::RunKind::Transition);
}

} // namespace sched
