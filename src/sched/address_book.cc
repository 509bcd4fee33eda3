#include "sched/address_book.h"

#include "core/json.h"
#include "core/log.h"
#include "core/vec.h"
#include "dns/sysconf.h"

#include <algorithm>

namespace sched {

namespace {

bool is_literal(const std::string &host)
{
    omrt::IpAddr a;
    return omrt::IpAddr::parse(host, a);
}

// Whether |item| is one of the comma-separated items of |list|.
bool listed(const std::string &list, const std::string &item)
{
    size_t n = item.size();
    for (size_t p = list.find(item); p != std::string::npos; p = list.find(item, p + 1))
        if ((p == 0 || list[p - 1] == ',') && (p + n == list.size() || list[p + n] == ','))
            return true;
    return false;
}

} // namespace

AddressBook::AddressBook(core::Loop &loop, const omrt::Clock &clock, AddressListener &listener)
    : loop_(loop), clock_(clock), listener_(listener),
      names_(loop, clock, static_cast<dns::NameListener &>(*this))
{}

AddressBook::~AddressBook()
{
    for (const Watch &w : watches_)
        names_.unwatch(w.id);
    watches_.clear();
}

dns::ResolverOptions AddressBook::options_for(const std::string &wan,
                                              const std::string &device) const
{
    dns::ResolverOptions o = base_;
    if (wan.empty())
        return o;
    o.label = wan;
    o.device = device;
    // The WAN's own servers (netifd's resolv.conf.auto block) when it has some, else the
    // system's, still bound to the WAN's device.
    dns::ResolvConf rc;
    std::string err;
    if (dns::load_resolv_auto(auto_path_, wan, rc, &err) && !rc.servers.empty()) {
        o.resolv_conf = auto_path_;
        o.resolv_iface = wan;
    }
    return o;
}

AddressBook::Context &AddressBook::context_for(const std::string &wan, const std::string &device)
{
    for (auto &c : contexts_)
        if (c->wan == wan) {
            if (c->device != device) {
                // The WAN's device changed (a modem re-enumerated): rebind the socket.
                c->device = device;
                c->resolver->reconfigure(options_for(wan, device));
            }
            return *c;
        }
    contexts_.push_back(std::make_unique<Context>());
    Context &c = *contexts_.back();
    c.wan = wan;
    c.device = device;
    c.resolver = std::make_unique<dns::Resolver>(loop_, clock_, options_for(wan, device));
    return c;
}

void AddressBook::configure(const cfg::Config &c,
                            const std::vector<std::pair<std::string, std::string>> &wans)
{
    dns::NameOptions no;
    no.ttl_floor_s = c.daemon.dns_ttl_floor_s;
    no.ttl_ceiling_s = std::max(c.daemon.dns_ttl_ceiling_s, c.daemon.dns_ttl_floor_s);
    no.serve_stale = c.daemon.dns_serve_stale;
    no.hosts_path = c.daemon.dns_hosts_file;
    if (!(no == names_.options()))
        names_.set_options(std::move(no));

    dns::ResolverOptions base;
    base.resolv_conf = c.daemon.dns_resolv_conf;
    base.timeout_s = c.daemon.dns_timeout_s;
    bool per_wan = c.daemon.dns_per_wan;
    dns::Family fam = c.settings.disable_ipv6 ? dns::Family::ipv4 : dns::Family::both;
    bool rebuild = per_wan != per_wan_ || fam != family_ || base.resolv_conf != base_.resolv_conf ||
                   base.timeout_s != base_.timeout_s || auto_path_ != c.daemon.dns_resolv_auto;
    auto_path_ = c.daemon.dns_resolv_auto;
    base_ = std::move(base);
    per_wan_ = per_wan;
    family_ = fam;
    if (rebuild) {
        for (const Watch &w : watches_)
            names_.unwatch(w.id);
        watches_.clear();
        contexts_.clear();
    }

    // Every host name in use: servers' `ip` entries, interfaces' hosts lists; each with
    // who uses it, to name it in log lines ("vps: DNS timeout for vps.example.net ...").
    std::vector<std::string> hosts, owners;
    auto index_of = [&](const std::string &h) {
        return core::index_where(hosts, [&h](const std::string &x) { return x == h; });
    };
    auto add = [&](const std::string &h, const std::string &owner) {
        if (is_literal(h))
            return;
        size_t k = index_of(h);
        if (k == hosts.size()) {
            hosts.push_back(h);
            owners.push_back(owner);
            return;
        }
        std::string &o = owners[k];
        if (!listed(o, owner)) {
            o += ',';
            o += owner;
        }
    };
    for (const cfg::Server &s : c.servers)
        for (const std::string &h : s.hosts)
            add(h, s.name);
    for (const cfg::Interface &i : c.interfaces) {
        for (const std::string &h : i.opts.hosts)
            add(h, i.name);
        for (const std::string &h : i.opts.hosts6)
            add(h, i.name);
    }

    core::erase_where(seen_,
                      [&](const Seen &x) { return rebuild || index_of(x.host) == hosts.size(); });

    // The resolver contexts wanted, (wan, device): the WANs', or the system's alone.
    const std::pair<std::string, std::string> system;
    const std::pair<std::string, std::string> *ctx_begin = per_wan_ ? wans.data() : &system;
    const std::pair<std::string, std::string> *ctx_end =
            per_wan_ ? wans.data() + wans.size() : &system + 1;
    auto wanted = [&](const std::string &wan) {
        for (auto *x = ctx_begin; x != ctx_end; x++)
            if (x->first == wan)
                return true;
        return false;
    };
    // Forget what is no longer wanted.
    core::erase_where(watches_, [&](const Watch &w) {
        if (index_of(w.host) != hosts.size() && wanted(w.wan))
            return false;
        names_.unwatch(w.id);
        return true;
    });
    core::erase_where(contexts_,
                      [&](const std::unique_ptr<Context> &x) { return !wanted(x->wan); });
    for (auto *x = ctx_begin; x != ctx_end; x++) {
        Context &ctx = context_for(x->first, x->second);
        for (size_t k = 0; k < hosts.size(); k++) {
            const std::string &h = hosts[k];
            bool have = false;
            for (const Watch &w : watches_)
                have = have || (w.host == h && w.wan == x->first);
            if (have)
                continue;
            std::string err;
            dns::NameId id = names_.watch(owners[k], h, *ctx.resolver, family_, &err);
            if (!id) {
                LOGE("dns: cannot watch %s: %s", h.c_str(), err.c_str());
                continue;
            }
            watches_.push_back(Watch{h, x->first, id});
        }
    }
}

std::vector<omrt::IpAddr> AddressBook::union_of(const std::string &host) const
{
    std::vector<omrt::IpAddr> out;
    for (const Watch &w : watches_) {
        if (w.host != host)
            continue;
        if (const dns::NameStatus *st = names_.status(w.id))
            for (const omrt::IpAddr &a : st->addrs)
                if (std::find(out.begin(), out.end(), a) == out.end())
                    out.push_back(a);
    }
    return out;
}

HostAddresses AddressBook::lookup(const std::string &host) const
{
    HostAddresses h;
    omrt::IpAddr a;
    if (omrt::IpAddr::parse(host, a)) {
        h.addrs.push_back(a);
        h.reason = omrt::Reason::ok;
        h.literal = true;
        return h;
    }
    h.addrs = union_of(host);
    // The reason: ok if any context has a fresh answer, else the first context's.
    bool first = true, fresh = false;
    for (const Watch &w : watches_) {
        if (w.host != host)
            continue;
        const dns::NameStatus *st = names_.status(w.id);
        if (!st)
            continue;
        if (first || (st->reason == omrt::Reason::ok && h.reason != omrt::Reason::ok)) {
            h.reason = st->reason;
            h.message = st->message;
            first = false;
        }
        fresh = fresh || (!st->stale && !st->addrs.empty());
    }
    h.stale = !h.addrs.empty() && !fresh;
    return h;
}

void AddressBook::refresh(const std::string &host, const char *why)
{
    for (const Watch &w : watches_)
        if (w.host == host)
            names_.refresh(w.id, why);
}

void AddressBook::refresh_wan(const std::string &wan, const char *why)
{
    if (!per_wan_) {
        // One system resolver: a WAN change may change its path too.
        refresh_all(why);
        return;
    }
    for (auto &c : contexts_)
        if (c->wan == wan)
            names_.refresh_backend(*c->resolver, why);
}

void AddressBook::refresh_all(const char *why)
{
    names_.refresh_all(why);
}

void AddressBook::write_json(core::JsonWriter &w, const std::string &host) const
{
    w.begin_array();
    for (const Watch &x : watches_)
        if (x.host == host)
            names_.write_json(w, x.id);
    w.end_array();
}

uint64_t AddressBook::queries() const
{
    uint64_t n = 0;
    for (const Watch &w : watches_)
        if (const dns::NameStatus *st = names_.status(w.id))
            n += st->queries_a + st->queries_aaaa;
    return n;
}

const std::string *AddressBook::host_of(dns::NameId id) const
{
    for (const Watch &w : watches_)
        if (w.id == id)
            return &w.host;
    return nullptr;
}

void AddressBook::on_name_refreshed(dns::NameId id, const dns::NameStatus &st)
{
    (void)st;
    const std::string *h = host_of(id);
    if (!h || !observer_)
        return;
    std::string host = *h;
    HostAddresses now = lookup(host);
    Seen *it = core::find_where(seen_, [&host](const Seen &x) { return x.host == host; });
    if (!it) {
        seen_.push_back(Seen{host, now.reason, now.stale});
        if (now.reason == omrt::Reason::ok && !now.stale)
            return; // the first answer: on_name_changed told the listener
    } else if (it->reason == now.reason && it->stale == now.stale) {
        return;
    } else {
        it->reason = now.reason;
        it->stale = now.stale;
    }
    observer_->on_host_state_changed(host); // last statement: it may reconfigure us
}

void AddressBook::on_name_changed(dns::NameId id, const dns::NameStatus &st,
                                  const dns::AddrList &old_addrs)
{
    (void)old_addrs;
    const std::string *h = host_of(id);
    if (!h || h->empty())
        return;
    std::string host = *h;
    // The union over contexts is what consumers use; tell them the union changed.
    std::vector<omrt::IpAddr> now = union_of(host);
    std::vector<omrt::IpAddr> before;
    for (const omrt::IpAddr &a : now)
        if (std::find(st.addrs.begin(), st.addrs.end(), a) == st.addrs.end())
            before.push_back(a);
    for (const omrt::IpAddr &a : old_addrs)
        if (std::find(before.begin(), before.end(), a) == before.end())
            before.push_back(a);
    listener_.on_addresses_changed(host, before, now);
}

} // namespace sched
