// rtnetlink parser: a buffer of netlink messages, as recv() returns it, to typed records.
//
// Pure: no I/O, no clock, no allocation beyond the records' strings and nexthop lists.
// Every input is treated as hostile (STYLE.md §10):
//  - each message's nlmsg_len is checked against what is left of the buffer; when the
//    framing itself lies, parsing of the buffer stops (framing_error) because nothing
//    after it can be trusted to start on a message boundary;
//  - each fixed header (ifinfomsg, ifaddrmsg, rtmsg, nlmsgerr) must fit in the payload;
//  - each attribute must fit in what is left of the message (mnl_attr_ok); an attribute
//    that overruns, or bytes that do not form an attribute, make the message malformed;
//  - each attribute we use is range-checked (mnl_attr_type_valid) and type-checked
//    (mnl_attr_validate / mnl_attr_validate2 with the exact size); types above the
//    compile-time *_MAX are newer kernel attributes and are skipped, as are known
//    attributes we do not use;
//  - a malformed message produces no record, only on_malformed(); the parser carries on
//    with the next message.
// Records are delivered in buffer order to a Sink.
#pragma once

#include "omrt/ipaddr.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nl {

// Addresses as netlink carries them (network byte order): the project's one type.
using IpAddr = omrt::IpAddr;

// What the nlmsghdr said about the message a record came from.
struct MsgInfo {
    uint16_t type = 0;  // RTM_*, NLMSG_*
    uint16_t flags = 0; // NLM_F_*
    uint32_t seq = 0;
    uint32_t portid = 0;
    bool dump_intr() const;
};

// RTM_NEWLINK / RTM_DELLINK of family AF_UNSPEC. Messages of other families (AF_BRIDGE
// port events, which the kernel also sends to RTNLGRP_LINK) are ignored: an AF_BRIDGE
// RTM_DELLINK means "left the bridge", not "device deleted".
// Absent attributes keep has_* false: wireless events carry no IFLA_OPERSTATE, and the
// table merges what is present.
struct LinkRecord {
    bool deleted = false;
    int32_t ifindex = 0; // > 0
    uint32_t flags = 0;  // ifi_flags: IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ...
    uint16_t arphrd = 0; // ifi_type
    bool has_name = false;
    std::string name; // IFLA_IFNAME, 1..IFNAMSIZ-1 bytes
    bool has_operstate = false;
    uint8_t operstate = 0; // IF_OPER_* (RFC 2863)
    bool has_carrier = false;
    uint8_t carrier = 0; // IFLA_CARRIER, 0 or 1
    bool has_kind = false;
    std::string kind; // IFLA_LINKINFO/IFLA_INFO_KIND: "veth", "tun", "ppp", ...
};

// RTM_NEWADDR / RTM_DELADDR of family AF_INET or AF_INET6.
// Point-to-point semantics: when IFA_LOCAL is present it is the local address and
// IFA_ADDRESS is the peer (equal to IFA_LOCAL on broadcast links, where peer stays
// empty); without IFA_LOCAL (IPv6 on most links) IFA_ADDRESS is the local address.
struct AddrRecord {
    bool deleted = false;
    uint8_t family = 0;
    uint8_t prefixlen = 0; // <= 32 / 128
    uint8_t scope = 0;     // RT_SCOPE_*
    uint32_t flags = 0;    // IFA_F_*; IFA_FLAGS (32 bits) when present, else ifa_flags
    int32_t ifindex = 0;   // > 0
    IpAddr local;
    IpAddr peer; // empty unless point-to-point with a distinct peer
    bool has_cacheinfo = false;
    uint32_t preferred_lft = 0; // seconds, 0xffffffff = forever
    uint32_t valid_lft = 0;
    std::string label; // IFA_LABEL (IPv4), may be empty
};

struct Nexthop {
    int32_t ifindex = 0; // 0 when the kernel gave none
    IpAddr gateway;      // RTA_GATEWAY, or RTA_VIA (an IPv6 gateway of an IPv4 route)
    uint8_t flags = 0;   // RTNH_F_DEAD, RTNH_F_ONLINK, RTNH_F_LINKDOWN, ...
    uint8_t hops = 0;    // rtnh_hops (weight - 1)
    bool operator==(const Nexthop &o) const { return ifindex == o.ifindex && gateway == o.gateway; }
};

// RTM_NEWROUTE / RTM_DELROUTE of family AF_INET or AF_INET6 and type RTN_UNICAST.
// Other types (local, broadcast, unreachable, blackhole, multicast ...), other families
// (IPMR, MPLS) and cached clones (RTM_F_CLONED) are ignored.
struct RouteRecord {
    bool deleted = false;
    bool replace = false; // NLM_F_REPLACE on RTM_NEWROUTE: replaces the same key
    uint8_t family = 0;
    uint8_t dst_len = 0;
    uint8_t src_len = 0;
    uint8_t tos = 0;
    uint8_t protocol = 0; // RTPROT_*
    uint8_t scope = 0;
    uint32_t table = 0;     // RTA_TABLE when present, else rtm_table
    uint32_t rtm_flags = 0; // RTM_F_*, RTNH_F_* of a single-path route
    IpAddr dst;             // empty for a default route
    IpAddr src;             // RTA_SRC (IPv6 source-specific routes)
    IpAddr prefsrc;         // RTA_PREFSRC
    bool has_priority = false;
    uint32_t priority = 0; // RTA_PRIORITY: the metric
    bool multipath = false;
    // Single-path routes: one entry from RTA_OIF/RTA_GATEWAY (none if both absent).
    // Multipath: one per struct rtnexthop of RTA_MULTIPATH.
    std::vector<Nexthop> nexthops;
    bool is_default() const { return dst_len == 0; }
};

// Receives the records of one buffer, in order. All methods have empty defaults.
class Sink {
public:
    virtual void on_link(const MsgInfo &, const LinkRecord &) {}
    virtual void on_addr(const MsgInfo &, const AddrRecord &) {}
    virtual void on_route(const MsgInfo &, const RouteRecord &) {}
    // NLMSG_DONE. |error| is 0, or the negative errno the kernel appends when a dump
    // failed part-way.
    virtual void on_done(const MsgInfo &, int error) { (void)error; }
    // NLMSG_ERROR. |error| is 0 for an ACK, else a negative errno.
    virtual void on_error(const MsgInfo &, int error) { (void)error; }
    // A message that failed validation; |why| is a static string for logs and tests.
    virtual void on_malformed(const MsgInfo &, const char *why) { (void)why; }

protected:
    ~Sink() = default;
};

struct ParseStats {
    unsigned messages = 0; // well-framed messages seen
    unsigned links = 0;
    unsigned addrs = 0;
    unsigned routes = 0;
    unsigned ignored = 0;       // well-formed but not for us (other family/type, NOOP, ...)
    unsigned malformed = 0;     // rejected messages
    bool framing_error = false; // trailing bytes that are not a whole message
    bool dump_intr = false;     // some message carried NLM_F_DUMP_INTR
};

// Parses |len| bytes at |buf|, which must be 4-byte aligned (netlink's alignment).
ParseStats parse(const void *buf, size_t len, Sink &sink);

} // namespace nl
