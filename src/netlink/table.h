// The device table: the pure reducer behind the netlink monitor.
//
// Records in (from the parser, events and dumps alike), state and coalesced per-name
// changes out. No I/O, no clock, no logging of its own: the monitor feeds it and
// publishes what take_changes() returns.
//
// What it mirrors of the kernel, and the kernel behaviours it has to emulate because no
// notification is sent for them (IPv4 only; IPv6 notifies every route it removes):
//  - a device going administratively down (IFF_UP cleared) loses its IPv4 routes;
//  - a device losing its last IPv4 address loses its IPv4 routes;
//  - deleting an IPv4 address removes the routes on that device whose RTA_PREFSRC it was;
//  - a deleted device takes its addresses and routes with it.
// Only default routes (dst_len 0, any table, any source prefix) are kept: they are all a
// gateway is made of, and a router may carry large tables we have no use for.
//
// Full dumps are applied as mark and sweep: dump_begin(kind) opens a generation, every
// record applied afterwards (from the dump or from an event) is stamped with it, and
// dump_end(kind) removes what was not stamped, i.e. what disappeared while messages were
// being lost. A device name held by a second ifindex means the first one's deletion was
// lost: the old entry is dropped when the new one arrives.
#pragma once

#include "netlink/parse.h"
#include "netlink/state.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace nl {

// One next hop of a default route, flattened out of multipath routes.
struct DefaultRoute {
    uint8_t family = 0;
    uint8_t tos = 0;
    uint8_t src_len = 0;
    uint8_t protocol = 0;
    uint8_t nh_flags = 0; // RTNH_F_*
    IpAddr src;           // source prefix of an IPv6 source-specific default
    uint32_t table = 0;
    uint32_t metric = 0;
    int32_t oif = 0;
    IpAddr gateway; // empty for "default dev X"
    IpAddr prefsrc;
};

class DeviceTable {
public:
    enum class Kind : uint8_t { Links = 0, Addrs = 1, Routes = 2 };

    void apply(const LinkRecord &rec);
    void apply(const AddrRecord &rec);
    void apply(const RouteRecord &rec);

    void dump_begin(Kind kind);
    // Removes the objects of |kind| that neither the dump nor an event refreshed since
    // the matching dump_begin(). Call only after a complete, uninterrupted dump.
    void dump_end(Kind kind);

    bool has_changes() const { return !pending_.empty(); }
    // Appends one LinkChange per device name touched since the last call whose Change
    // bits are not empty, in the order the names were first touched, and forgets them.
    void take_changes(std::vector<LinkChange> &out);

    // The device bearing |name| / |ifindex|, or nullptr. Valid until the next apply().
    const DeviceState *find(std::string_view name) const;
    const DeviceState *find(int32_t ifindex) const;
    // A copy; present == false when there is no such device.
    DeviceState state(std::string_view name) const;
    size_t device_count() const;
    const std::vector<DefaultRoute> &default_routes() const { return routes_; }
    template <class F>
    void for_each_device(F &&f) const
    {
        for (const auto &kv : devs_)
            if (!kv.second.st.name.empty())
                f(kv.second.st);
    }

    // Forgets everything, without changes (the monitor stops).
    void clear();

private:
    struct Device {
        DeviceState st;
        bool have_link = false;         // false: only addresses seen so far (no name yet)
        uint32_t link_gen = 0;          // dump generation of the last link record
        std::vector<uint32_t> addr_gen; // parallel to st.addresses
    };
    // A name touched since the last take_changes().
    struct Pending {
        std::string name;
        DeviceState before; // at the first touch
        bool cur_present = false;
        int32_t cur_ifindex = 0;
        bool cur_usable = false;
        uint16_t bits = 0;
        std::string other_name;
    };

    const Device *device_named(std::string_view name) const;
    std::string name_of(int32_t ifindex) const;
    Pending *pending_for(std::string_view name);
    void touch(const std::string &name);
    void step(const std::string &name);
    void remove_device(int32_t ifindex);
    void delete_device(int32_t ifindex); // remove_device() between touch() and step()
    // Touches the devices of |oifs|, appending their names to |names| ...
    void touch_oifs(const std::vector<int32_t> &oifs, std::vector<std::string> &names);
    // ... and after the routes changed, recomputes their gateways and steps them.
    void settle_oifs(const std::vector<int32_t> &oifs, const std::vector<std::string> &names);
    void drop_ipv4_routes(int32_t ifindex, const IpAddr *prefsrc);
    void erase_route(size_t i);
    void recompute_gateways(Device &d);
    Gateway pick_gateway(const Device &d, int family) const;

    std::map<int32_t, Device> devs_;
    std::vector<DefaultRoute> routes_;
    std::vector<uint32_t> route_gen_; // parallel to routes_
    uint32_t gen_[3] = {0, 0, 0};
    std::vector<Pending> pending_;
};

// The rule of DeviceState::usable, exposed for tests.
bool device_usable(uint32_t flags, uint8_t operstate, int8_t carrier);

} // namespace nl
