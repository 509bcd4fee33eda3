// What the netlink monitor publishes: the state of one network device and the small
// typed event that tells a tracker it changed (STYLE.md §1).
#pragma once

#include "netlink/parse.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nl {

struct Address {
    IpAddr local;
    IpAddr peer; // point-to-point peer, else empty
    uint8_t prefixlen = 0;
    uint8_t scope = 0;  // RT_SCOPE_UNIVERSE (0) = global, RT_SCOPE_LINK (253), RT_SCOPE_HOST
    uint32_t flags = 0; // IFA_F_*
    int family() const { return local.family; }
    bool global() const;
    // Not tentative (DAD still running) and not dadfailed: the kernel will use it as a
    // source address.
    bool usable() const;
    bool deprecated() const;
    bool operator==(const Address &o) const
    {
        return local == o.local && peer == o.peer && prefixlen == o.prefixlen && scope == o.scope &&
               flags == o.flags;
    }
    bool operator!=(const Address &o) const { return !(*this == o); }
};

// Where the device's default gateway for one family came from.
enum class GatewaySource : uint8_t {
    None,   // no default route on the device and no point-to-point peer
    Route,  // a default route's RTA_GATEWAY (or RTA_VIA)
    Direct, // a default route with no gateway ("default dev wwan0"), no peer known
    Peer,   // the device's point-to-point peer address (no gateway in the route, or no route)
};
const char *gateway_source_name(GatewaySource s);

struct Gateway {
    GatewaySource source = GatewaySource::None;
    IpAddr addr;         // empty for None and Direct
    uint32_t metric = 0; // of the default route (0 for Peer without a route)
    uint32_t table = 0;  // of the default route (0 for Peer without a route)
    bool present() const { return source != GatewaySource::None; }
    bool operator==(const Gateway &o) const
    {
        return source == o.source && addr == o.addr && metric == o.metric && table == o.table;
    }
    bool operator!=(const Gateway &o) const { return !(*this == o); }
};

// The state of one device, as the kernel last told it.
//
// usable: the rule the trackers rely on (reference environment.md §3):
//   IFF_UP, and IFLA_OPERSTATE == IF_OPER_UP (6); or, for drivers that do not manage the
//   operational state and report IF_OPER_UNKNOWN (0) (some tun, ppp, loopback),
//   IFF_UP && IFF_RUNNING. IFF_LOWER_UP alone never makes a device usable: a veth whose
//   peer comes up reports LOWER_UP with operstate DOWN for a moment. An IFLA_CARRIER of 0
//   always means not usable.
struct DeviceState {
    bool present = false; // false: no device of that name (the other fields are empty)
    int32_t ifindex = 0;
    std::string name;
    std::string kind;   // "veth", "tun", ... ("" for physical devices)
    uint32_t flags = 0; // IFF_*
    uint8_t operstate = 0;
    int8_t carrier = -1; // -1: the kernel did not say
    bool admin_up = false;
    bool usable = false;
    std::vector<Address> addresses; // all of both families, in the kernel's order
    Gateway gw4, gw6;

    const Gateway &gateway(int family) const;
    // The address a tracker should use as source for |family|: among usable ones, global
    // scope first, then not deprecated, then (IPv4) primary, then kernel order. nullptr
    // if there is none usable.
    const Address *preferred_address(int family) const;
};

// Bits of LinkChange::what. Several may be set: changes are coalesced per device name
// within one publication, and each bit says that this transition happened at least once
// since the previous publication, even if a later one undid it (a carrier blip shows as
// Down|Up with a usable final state).
enum Change : uint16_t {
    kAppeared = 1 << 0,       // a device of this name now exists (new, renamed to it)
    kDisappeared = 1 << 1,    // the device of this name went away (deleted, renamed away)
    kUp = 1 << 2,             // usable went false -> true (including by appearing usable)
    kDown = 1 << 3,           // usable went true -> false (including by disappearing)
    kRenamed = 1 << 4,        // see LinkChange::other_name
    kAddressChanged = 1 << 5, // the set of addresses (or their flags) differs
    kGatewayChanged = 1 << 6, // gw4 or gw6 differs
    kSynced = 1 << 7,         // a full dump completed (start, reload, recovery from loss)
};
// "appeared|up", for logs.
std::string change_names(uint16_t what);

struct LinkChange {
    std::string name;        // the device name the listener registered for
    int32_t ifindex = 0;     // of the device bearing the name now (0 if none)
    int32_t old_ifindex = 0; // before the change (0 if none); differs on re-creation
    std::string other_name;  // with kRenamed: the new name (renamed away) or the old one
    uint16_t what = 0;       // Change bits
    DeviceState state;       // the device bearing |name| after the change
    bool has(Change c) const { return (what & c) != 0; }
};

// Implemented by the trackers. Registered per device name (the names come from UCI).
class LinkListener {
public:
    // Called from the event loop, never from inside a Monitor call made by the listener.
    // The listener may add or remove listeners (itself included) and query the monitor;
    // it must not destroy the Monitor.
    virtual void on_link_change(const LinkChange &change) = 0;

protected:
    ~LinkListener() = default;
};

} // namespace nl
