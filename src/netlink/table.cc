#include "netlink/table.h"

#include <algorithm>
#include <net/if.h>

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

namespace nl {

// ---------------------------------------------------------------------------
// state.h helpers

bool Address::global() const
{
    return scope == RT_SCOPE_UNIVERSE;
}

bool Address::usable() const
{
    return !(flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
}

bool Address::deprecated() const
{
    return (flags & IFA_F_DEPRECATED) != 0;
}

const char *gateway_source_name(GatewaySource s)
{
    switch (s) {
    case GatewaySource::None:
        return "none";
    case GatewaySource::Route:
        return "route";
    case GatewaySource::Direct:
        return "direct";
    case GatewaySource::Peer:
        return "peer";
    }
    return "?";
}

const Gateway &DeviceState::gateway(int family) const
{
    return family == AF_INET6 ? gw6 : gw4;
}

const Address *DeviceState::preferred_address(int family) const
{
    const Address *best = nullptr;
    int best_score = -1;
    for (const Address &a : addresses) {
        if (a.family() != family || !a.usable())
            continue;
        // IFA_F_SECONDARY is also IFA_F_TEMPORARY: prefer stable over privacy addresses.
        int score = (a.global() ? 4 : 0) + (a.deprecated() ? 0 : 2) +
                    ((a.flags & IFA_F_SECONDARY) ? 0 : 1);
        if (score > best_score) {
            best = &a;
            best_score = score;
        }
    }
    return best;
}

std::string change_names(uint16_t what)
{
    static const char *const names[] = {
            "appeared",        "disappeared",     "up",    "down", "renamed",
            "address_changed", "gateway_changed", "synced"};
    std::string out;
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        if (what & (1u << i)) {
            if (!out.empty())
                out += '|';
            out += names[i];
        }
    }
    return out;
}

bool device_usable(uint32_t flags, uint8_t operstate, int8_t carrier)
{
    if (!(flags & IFF_UP) || carrier == 0)
        return false;
    if (operstate == IF_OPER_UP)
        return true;
    if (operstate == IF_OPER_UNKNOWN)
        return (flags & IFF_RUNNING) != 0;
    return false;
}

// ---------------------------------------------------------------------------

namespace {

bool same_address_set(const std::vector<Address> &a, const std::vector<Address> &b)
{
    if (a.size() != b.size())
        return false;
    for (const Address &x : a) {
        if (std::find(b.begin(), b.end(), x) == b.end())
            return false;
    }
    return true;
}

// The kernel's identity of an address: IPv4 by (local, prefix length, peer), IPv6 by the
// address alone.
bool same_key(const Address &a, const AddrRecord &r)
{
    if (a.local != r.local)
        return false;
    if (r.family == AF_INET6)
        return true;
    return a.prefixlen == r.prefixlen && a.peer == r.peer;
}

// The identity of a route without its next hops (table, metric, TOS, source prefix).
bool same_route_key(const DefaultRoute &d, const RouteRecord &r)
{
    return d.family == r.family && d.table == r.table &&
           d.metric == (r.has_priority ? r.priority : 0) && d.tos == r.tos &&
           d.src_len == r.src_len && d.src == r.src;
}

bool same_nexthop(const DefaultRoute &d, const Nexthop &nh)
{
    return d.oif == nh.ifindex && d.gateway == nh.gateway;
}

// Adds |x| to the sorted set |v| (a handful of interfaces: no std::sort needed).
void add_sorted(std::vector<int32_t> &v, int32_t x)
{
    for (int32_t y : v)
        if (y == x)
            return;
    v.push_back(x);
    for (size_t i = v.size() - 1; i > 0 && v[i - 1] > x; --i)
        std::swap(v[i - 1], v[i]);
}

} // namespace

// ---------------------------------------------------------------------------

const DeviceTable::Device *DeviceTable::device_named(std::string_view name) const
{
    // Names are unique (a second ifindex taking a name drops the first one): a few
    // dozen devices on a router, so a scan, not a second index.
    if (name.empty())
        return nullptr;
    for (const auto &kv : devs_)
        if (kv.second.st.name == name)
            return &kv.second;
    return nullptr;
}

size_t DeviceTable::device_count() const
{
    size_t n = 0;
    for (const auto &kv : devs_)
        n += !kv.second.st.name.empty();
    return n;
}

const DeviceState *DeviceTable::find(std::string_view name) const
{
    const Device *d = device_named(name);
    return d ? &d->st : nullptr;
}

const DeviceState *DeviceTable::find(int32_t ifindex) const
{
    auto it = devs_.find(ifindex);
    if (it == devs_.end() || !it->second.st.present)
        return nullptr;
    return &it->second.st;
}

DeviceState DeviceTable::state(std::string_view name) const
{
    const DeviceState *s = find(name);
    return s ? *s : DeviceState();
}

std::string DeviceTable::name_of(int32_t ifindex) const
{
    auto it = devs_.find(ifindex);
    if (it == devs_.end() || !it->second.have_link)
        return std::string();
    return it->second.st.name;
}

DeviceTable::Pending *DeviceTable::pending_for(std::string_view name)
{
    for (Pending &p : pending_) {
        if (p.name == name)
            return &p;
    }
    return nullptr;
}

// Called before a mutation that may change what |name| designates.
void DeviceTable::touch(const std::string &name)
{
    if (name.empty() || pending_for(name))
        return;
    Pending p;
    p.name = name;
    if (const DeviceState *s = find(name))
        p.before = *s;
    p.cur_present = p.before.present;
    p.cur_ifindex = p.before.ifindex;
    p.cur_usable = p.before.present && p.before.usable;
    pending_.push_back(std::move(p));
}

// Called after the mutation: records the transitions of presence, identity and
// usability, so that a down undone within the same batch is still reported.
void DeviceTable::step(const std::string &name)
{
    if (name.empty())
        return;
    Pending *p = pending_for(name);
    if (!p)
        return;
    const DeviceState *now = find(name);
    bool present = now != nullptr;
    int32_t ifindex = present ? now->ifindex : 0;
    bool usable = present && now->usable;
    if (p->cur_present && (!present || ifindex != p->cur_ifindex))
        p->bits |= kDisappeared;
    if (present && (!p->cur_present || ifindex != p->cur_ifindex))
        p->bits |= kAppeared;
    if (p->cur_usable && !usable)
        p->bits |= kDown;
    else if (!p->cur_usable && usable)
        p->bits |= kUp;
    else if (p->cur_usable && usable && ifindex != p->cur_ifindex)
        p->bits |= kDown | kUp; // replaced by another device: not the same link
    p->cur_present = present;
    p->cur_ifindex = ifindex;
    p->cur_usable = usable;
}

void DeviceTable::delete_device(int32_t ifindex)
{
    std::string name = name_of(ifindex);
    touch(name);
    remove_device(ifindex);
    step(name);
}

void DeviceTable::touch_oifs(const std::vector<int32_t> &oifs, std::vector<std::string> &names)
{
    for (int32_t oif : oifs) {
        names.push_back(name_of(oif));
        touch(names.back());
    }
}

void DeviceTable::settle_oifs(const std::vector<int32_t> &oifs,
                              const std::vector<std::string> &names)
{
    for (int32_t oif : oifs) {
        auto it = devs_.find(oif);
        if (it != devs_.end())
            recompute_gateways(it->second);
    }
    for (const std::string &n : names)
        step(n);
}

void DeviceTable::erase_route(size_t i)
{
    routes_.erase(routes_.begin() + static_cast<std::ptrdiff_t>(i));
    route_gen_.erase(route_gen_.begin() + static_cast<std::ptrdiff_t>(i));
}

void DeviceTable::remove_device(int32_t ifindex)
{
    for (size_t i = routes_.size(); i-- > 0;) {
        if (routes_[i].oif == ifindex)
            erase_route(i);
    }
    auto it = devs_.find(ifindex);
    if (it != devs_.end())
        devs_.erase(it);
}

void DeviceTable::drop_ipv4_routes(int32_t ifindex, const IpAddr *prefsrc)
{
    for (size_t i = routes_.size(); i-- > 0;) {
        const DefaultRoute &r = routes_[i];
        if (r.family == AF_INET && r.oif == ifindex && (!prefsrc || r.prefsrc == *prefsrc))
            erase_route(i);
    }
}

Gateway DeviceTable::pick_gateway(const Device &d, int family) const
{
    const DefaultRoute *best = nullptr;
    for (const DefaultRoute &r : routes_) {
        if (r.family != family || r.oif != d.st.ifindex || (r.nh_flags & RTNH_F_DEAD))
            continue;
        if (best) {
            // Lowest metric; then the main table; then the lowest table id; then a plain
            // default before a source-specific one; then the first learnt.
            if (r.metric != best->metric) {
                if (r.metric > best->metric)
                    continue;
            } else if ((r.table == RT_TABLE_MAIN) != (best->table == RT_TABLE_MAIN)) {
                if (best->table == RT_TABLE_MAIN)
                    continue;
            } else if (r.table != best->table) {
                if (r.table > best->table)
                    continue;
            } else if (r.src_len >= best->src_len) {
                continue;
            }
        }
        best = &r;
    }
    const IpAddr *peer = nullptr;
    for (const Address &a : d.st.addresses) {
        if (a.family() == family && !a.peer.empty()) {
            peer = &a.peer;
            break;
        }
    }
    Gateway g;
    if (best) {
        g.metric = best->metric;
        g.table = best->table;
        if (!best->gateway.empty()) {
            g.source = GatewaySource::Route;
            g.addr = best->gateway;
        } else if (peer) {
            g.source = GatewaySource::Peer;
            g.addr = *peer;
        } else {
            g.source = GatewaySource::Direct;
        }
    } else if (peer) {
        g.source = GatewaySource::Peer;
        g.addr = *peer;
    }
    return g;
}

void DeviceTable::recompute_gateways(Device &d)
{
    d.st.gw4 = pick_gateway(d, AF_INET);
    d.st.gw6 = pick_gateway(d, AF_INET6);
}

// ---------------------------------------------------------------------------

void DeviceTable::apply(const LinkRecord &rec)
{
    auto it = devs_.find(rec.ifindex);
    if (rec.deleted) {
        if (it != devs_.end())
            delete_device(rec.ifindex);
        return;
    }

    std::string old_name = name_of(rec.ifindex);
    std::string new_name = rec.has_name ? rec.name : old_name;
    // Another ifindex still holding the name: its RTM_DELLINK was lost (the kernel keeps
    // names unique), e.g. a modem re-enumerated while we were overrun.
    int32_t stale = 0;
    if (const Device *holder = device_named(new_name))
        if (holder->st.ifindex != rec.ifindex)
            stale = holder->st.ifindex;
    touch(old_name);
    touch(new_name);
    if (stale)
        remove_device(stale);

    Device &d = devs_[rec.ifindex];
    const bool was_up = d.have_link && (d.st.flags & IFF_UP);
    d.have_link = true;
    d.link_gen = gen_[static_cast<int>(Kind::Links)];
    d.st.ifindex = rec.ifindex;
    d.st.flags = rec.flags;
    if (rec.has_operstate)
        d.st.operstate = rec.operstate;
    if (rec.has_carrier)
        d.st.carrier = static_cast<int8_t>(rec.carrier);
    if (rec.has_kind)
        d.st.kind = rec.kind;
    d.st.admin_up = (rec.flags & IFF_UP) != 0;
    d.st.usable = device_usable(d.st.flags, d.st.operstate, d.st.carrier);
    if (old_name != new_name) {
        d.st.name = new_name;
        if (!old_name.empty() && !new_name.empty()) {
            Pending *from = pending_for(old_name);
            Pending *to = pending_for(new_name);
            from->bits |= kRenamed;
            from->other_name = new_name;
            to->bits |= kRenamed;
            to->other_name = old_name;
        }
    }
    d.st.present = !d.st.name.empty();
    if (was_up && !d.st.admin_up)
        drop_ipv4_routes(rec.ifindex, nullptr);
    recompute_gateways(d);
    step(old_name);
    step(new_name);
}

void DeviceTable::apply(const AddrRecord &rec)
{
    auto it = devs_.find(rec.ifindex);
    if (it == devs_.end()) {
        if (rec.deleted)
            return;
        // Addresses before the link (a lost RTM_NEWLINK): keep them on a nameless entry
        // until the link record arrives or a link dump proves the device gone.
        it = devs_.emplace(rec.ifindex, Device()).first;
        it->second.st.ifindex = rec.ifindex;
        it->second.link_gen = gen_[static_cast<int>(Kind::Links)];
    }
    Device &d = it->second;
    const std::string name = name_of(rec.ifindex);
    touch(name);

    auto &addrs = d.st.addresses;
    size_t idx = addrs.size();
    for (size_t i = 0; i < addrs.size(); ++i) {
        if (same_key(addrs[i], rec)) {
            idx = i;
            break;
        }
    }
    if (rec.deleted) {
        if (idx < addrs.size()) {
            addrs.erase(addrs.begin() + static_cast<std::ptrdiff_t>(idx));
            d.addr_gen.erase(d.addr_gen.begin() + static_cast<std::ptrdiff_t>(idx));
            if (rec.family == AF_INET) {
                bool any_v4 = std::any_of(addrs.begin(), addrs.end(),
                                          [](const Address &a) { return a.family() == AF_INET; });
                drop_ipv4_routes(rec.ifindex, any_v4 ? &rec.local : nullptr);
            }
        }
    } else {
        Address a;
        a.local = rec.local;
        a.peer = rec.peer;
        a.prefixlen = rec.prefixlen;
        a.scope = rec.scope;
        a.flags = rec.flags;
        if (idx < addrs.size()) {
            addrs[idx] = a;
            d.addr_gen[idx] = gen_[static_cast<int>(Kind::Addrs)];
        } else {
            addrs.push_back(a);
            d.addr_gen.push_back(gen_[static_cast<int>(Kind::Addrs)]);
        }
    }
    recompute_gateways(d);
    step(name);
}

void DeviceTable::apply(const RouteRecord &rec)
{
    if (!rec.is_default())
        return;
    // Devices whose gateway may change: the record's next hops, and for a deletion or a
    // replacement the next hops of what it removes.
    std::vector<int32_t> oifs;
    for (const Nexthop &nh : rec.nexthops)
        add_sorted(oifs, nh.ifindex);
    if (rec.deleted || rec.replace) {
        for (const DefaultRoute &r : routes_) {
            if (same_route_key(r, rec))
                add_sorted(oifs, r.oif);
        }
    }
    std::vector<std::string> names;
    touch_oifs(oifs, names);

    if (rec.deleted || rec.replace) {
        for (size_t i = routes_.size(); i-- > 0;) {
            if (!same_route_key(routes_[i], rec))
                continue;
            bool match = rec.replace || rec.nexthops.empty();
            for (const Nexthop &nh : rec.nexthops)
                match = match || same_nexthop(routes_[i], nh);
            if (match)
                erase_route(i);
        }
    }
    if (!rec.deleted) {
        for (const Nexthop &nh : rec.nexthops) {
            if (nh.ifindex <= 0)
                continue; // no device: cannot be a device's gateway
            DefaultRoute r;
            r.family = rec.family;
            r.tos = rec.tos;
            r.src_len = rec.src_len;
            r.src = rec.src;
            r.protocol = rec.protocol;
            r.nh_flags = nh.flags;
            r.table = rec.table;
            r.metric = rec.has_priority ? rec.priority : 0;
            r.oif = nh.ifindex;
            r.gateway = nh.gateway;
            r.prefsrc = rec.prefsrc;
            size_t i = 0;
            while (i < routes_.size() &&
                   !(same_route_key(routes_[i], rec) && same_nexthop(routes_[i], nh)))
                ++i;
            if (i < routes_.size()) {
                routes_[i] = r;
                route_gen_[i] = gen_[static_cast<int>(Kind::Routes)];
            } else {
                routes_.push_back(r);
                route_gen_.push_back(gen_[static_cast<int>(Kind::Routes)]);
            }
        }
    }
    settle_oifs(oifs, names);
}

// ---------------------------------------------------------------------------

void DeviceTable::dump_begin(Kind kind)
{
    ++gen_[static_cast<int>(kind)];
}

void DeviceTable::dump_end(Kind kind)
{
    const uint32_t gen = gen_[static_cast<int>(kind)];
    switch (kind) {
    case Kind::Links: {
        std::vector<int32_t> gone;
        for (const auto &kv : devs_) {
            if (kv.second.link_gen != gen)
                gone.push_back(kv.first);
        }
        for (int32_t ifindex : gone)
            delete_device(ifindex);
        break;
    }
    case Kind::Addrs:
        for (auto &kv : devs_) {
            Device &d = kv.second;
            if (std::all_of(d.addr_gen.begin(), d.addr_gen.end(),
                            [gen](uint32_t g) { return g == gen; }))
                continue;
            std::string name = name_of(kv.first);
            touch(name);
            for (size_t i = d.addr_gen.size(); i-- > 0;) {
                if (d.addr_gen[i] != gen) {
                    d.addr_gen.erase(d.addr_gen.begin() + static_cast<std::ptrdiff_t>(i));
                    d.st.addresses.erase(d.st.addresses.begin() + static_cast<std::ptrdiff_t>(i));
                }
            }
            recompute_gateways(d);
            step(name);
        }
        break;
    case Kind::Routes: {
        std::vector<int32_t> oifs;
        for (size_t i = 0; i < routes_.size(); ++i) {
            if (route_gen_[i] != gen)
                add_sorted(oifs, routes_[i].oif);
        }
        std::vector<std::string> names;
        touch_oifs(oifs, names);
        for (size_t i = routes_.size(); i-- > 0;) {
            if (route_gen_[i] != gen)
                erase_route(i);
        }
        settle_oifs(oifs, names);
        break;
    }
    }
}

void DeviceTable::take_changes(std::vector<LinkChange> &out)
{
    // A name that had no device at its first touch has a default |before| (no
    // addresses, no gateways, ifindex 0): compare with the same for one that has none now.
    const DeviceState none;
    for (Pending &p : pending_) {
        const DeviceState *now = find(p.name);
        const DeviceState &cur = now ? *now : none;
        uint16_t bits = p.bits;
        if (!same_address_set(p.before.addresses, cur.addresses))
            bits |= kAddressChanged;
        if (p.before.gw4 != cur.gw4 || p.before.gw6 != cur.gw6)
            bits |= kGatewayChanged;
        if (!bits)
            continue;
        LinkChange &c = out.emplace_back();
        c.name = std::move(p.name);
        c.ifindex = cur.ifindex;
        c.old_ifindex = p.before.ifindex;
        c.other_name = std::move(p.other_name);
        c.what = bits;
        if (now)
            c.state = *now;
    }
    pending_.clear();
}

void DeviceTable::clear()
{
    devs_.clear();
    routes_.clear();
    route_gen_.clear();
    pending_.clear();
}

} // namespace nl
