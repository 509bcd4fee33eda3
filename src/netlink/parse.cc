#include "netlink/parse.h"

#include <algorithm>
#include <arpa/inet.h>
#include <climits>
#include <cstring>
#include <libmnl/libmnl.h>
#include <net/if.h>

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

namespace nl {

bool MsgInfo::dump_intr() const
{
    return (flags & NLM_F_DUMP_INTR) != 0;
}

namespace {

// Outcome of checking one message; kMalformed carries a reason for the log.
struct Verdict {
    enum { Ok, Ignored, Malformed } kind = Ok;
    const char *why = nullptr;
};

Verdict malformed(const char *why)
{
    Verdict v;
    v.kind = Verdict::Malformed;
    v.why = why;
    return v;
}

Verdict ignored()
{
    Verdict v;
    v.kind = Verdict::Ignored;
    return v;
}

// Walks the attributes in [start, start + len). |fn(attr)| returns nullptr to go on or a
// reason to stop (malformed). Returns the first reason, "attribute overruns message" when
// bytes are left that are not a whole attribute, or nullptr when all is well. A missing
// pad after the last attribute is tolerated (the kernel always pads; others may not).
template <class F>
const char *walk_attrs(const void *start, size_t len, F &&fn)
{
    if (len > INT_MAX)
        return "attribute area too large";
    int rem = static_cast<int>(len);
    auto *attr = static_cast<const struct nlattr *>(start);
    while (rem >= static_cast<int>(sizeof(struct nlattr))) {
        if (!mnl_attr_ok(attr, rem))
            return "attribute overruns message";
        if (const char *why = fn(attr))
            return why;
        int step = static_cast<int>(MNL_ALIGN(attr->nla_len));
        rem -= step;
        attr = reinterpret_cast<const struct nlattr *>(reinterpret_cast<const char *>(attr) + step);
    }
    if (rem > 0)
        return "attribute overruns message";
    return nullptr;
}

bool get_u8(const struct nlattr *a, uint8_t &out)
{
    if (mnl_attr_validate(a, MNL_TYPE_U8) < 0 || mnl_attr_get_payload_len(a) != 1)
        return false;
    out = mnl_attr_get_u8(a);
    return true;
}

bool get_u32(const struct nlattr *a, uint32_t &out)
{
    if (mnl_attr_validate(a, MNL_TYPE_U32) < 0 || mnl_attr_get_payload_len(a) != 4)
        return false;
    out = mnl_attr_get_u32(a);
    return true;
}

// A NUL-terminated string of at most |max_len| bytes including the NUL, not empty.
bool get_str(const struct nlattr *a, size_t max_len, std::string &out)
{
    if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
        return false;
    size_t plen = mnl_attr_get_payload_len(a);
    if (plen > max_len)
        return false;
    const char *s = mnl_attr_get_str(a);
    size_t n = strnlen(s, plen);
    if (n == 0)
        return false;
    out.assign(s, n);
    return true;
}

// An address attribute of exactly the family's size.
bool get_addr(const struct nlattr *a, int family, IpAddr &out)
{
    size_t want = family == AF_INET ? 4 : 16;
    if (mnl_attr_validate2(a, MNL_TYPE_BINARY, want) < 0)
        return false;
    return out.assign(family, mnl_attr_get_payload(a), want);
}

// RTA_VIA: struct rtvia { sa_family_t family; u8 addr[]; } with the address sized by
// its own family (RFC 5549: an IPv6 next hop for an IPv4 route).
bool get_via(const struct nlattr *a, IpAddr &out)
{
    size_t plen = mnl_attr_get_payload_len(a);
    if (plen < sizeof(struct rtvia))
        return false;
    struct rtvia via;
    std::memcpy(&via, mnl_attr_get_payload(a), sizeof(via));
    return out.assign(via.rtvia_family,
                      static_cast<const char *>(mnl_attr_get_payload(a)) + sizeof(via),
                      plen - sizeof(via));
}

bool valid_ifindex(uint32_t v)
{
    return v > 0 && v <= static_cast<uint32_t>(INT32_MAX);
}

Verdict parse_link(const struct nlmsghdr *nlh, LinkRecord &rec)
{
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
        return malformed("short ifinfomsg");
    struct ifinfomsg ifi;
    std::memcpy(&ifi, mnl_nlmsg_get_payload(nlh), sizeof(ifi));
    if (ifi.ifi_family != AF_UNSPEC)
        return ignored();
    if (ifi.ifi_index <= 0)
        return malformed("bad ifi_index");
    rec.deleted = nlh->nlmsg_type == RTM_DELLINK;
    rec.ifindex = ifi.ifi_index;
    rec.flags = ifi.ifi_flags;
    rec.arphrd = ifi.ifi_type;

    const char *why = walk_attrs(
            mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifinfomsg)),
            mnl_nlmsg_get_payload_len(nlh) - MNL_ALIGN(sizeof(struct ifinfomsg)),
            [&rec](const struct nlattr *a) -> const char * {
                if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
                    return nullptr; // newer than our headers: skip
                switch (mnl_attr_get_type(a)) {
                case IFLA_IFNAME:
                    if (!get_str(a, IFNAMSIZ, rec.name))
                        return "bad IFLA_IFNAME";
                    rec.has_name = true;
                    break;
                case IFLA_OPERSTATE:
                    if (!get_u8(a, rec.operstate))
                        return "bad IFLA_OPERSTATE";
                    rec.has_operstate = true;
                    break;
                case IFLA_CARRIER:
                    if (!get_u8(a, rec.carrier))
                        return "bad IFLA_CARRIER";
                    rec.carrier = rec.carrier != 0;
                    rec.has_carrier = true;
                    break;
                case IFLA_LINKINFO: {
                    if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
                        return "bad IFLA_LINKINFO";
                    return walk_attrs(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a),
                                      [&rec](const struct nlattr *n) -> const char * {
                                          if (mnl_attr_type_valid(n, IFLA_INFO_MAX) < 0 ||
                                              mnl_attr_get_type(n) != IFLA_INFO_KIND)
                                              return nullptr;
                                          if (!get_str(n, 32, rec.kind))
                                              return "bad IFLA_INFO_KIND";
                                          rec.has_kind = true;
                                          return nullptr;
                                      });
                }
                default:
                    break;
                }
                return nullptr;
            });
    return why ? malformed(why) : Verdict();
}

Verdict parse_addr(const struct nlmsghdr *nlh, AddrRecord &rec)
{
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifaddrmsg))
        return malformed("short ifaddrmsg");
    struct ifaddrmsg ifa;
    std::memcpy(&ifa, mnl_nlmsg_get_payload(nlh), sizeof(ifa));
    if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
        return ignored();
    if (ifa.ifa_prefixlen > (ifa.ifa_family == AF_INET ? 32 : 128))
        return malformed("bad ifa_prefixlen");
    if (!valid_ifindex(ifa.ifa_index))
        return malformed("bad ifa_index");
    rec.deleted = nlh->nlmsg_type == RTM_DELADDR;
    rec.family = ifa.ifa_family;
    rec.prefixlen = ifa.ifa_prefixlen;
    rec.scope = ifa.ifa_scope;
    rec.flags = ifa.ifa_flags;
    rec.ifindex = static_cast<int32_t>(ifa.ifa_index);

    IpAddr address, local;
    const int family = ifa.ifa_family;
    const char *why = walk_attrs(
            mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifaddrmsg)),
            mnl_nlmsg_get_payload_len(nlh) - MNL_ALIGN(sizeof(struct ifaddrmsg)),
            [&](const struct nlattr *a) -> const char * {
                if (mnl_attr_type_valid(a, IFA_MAX) < 0)
                    return nullptr;
                switch (mnl_attr_get_type(a)) {
                case IFA_ADDRESS:
                    if (!get_addr(a, family, address))
                        return "bad IFA_ADDRESS";
                    break;
                case IFA_LOCAL:
                    if (!get_addr(a, family, local))
                        return "bad IFA_LOCAL";
                    break;
                case IFA_LABEL:
                    if (!get_str(a, IFNAMSIZ, rec.label))
                        return "bad IFA_LABEL";
                    break;
                case IFA_FLAGS:
                    if (!get_u32(a, rec.flags))
                        return "bad IFA_FLAGS";
                    break;
                case IFA_CACHEINFO: {
                    if (mnl_attr_validate2(a, MNL_TYPE_BINARY, sizeof(struct ifa_cacheinfo)) < 0)
                        return "bad IFA_CACHEINFO";
                    struct ifa_cacheinfo ci;
                    std::memcpy(&ci, mnl_attr_get_payload(a), sizeof(ci));
                    rec.has_cacheinfo = true;
                    rec.preferred_lft = ci.ifa_prefered;
                    rec.valid_lft = ci.ifa_valid;
                    break;
                }
                default:
                    break;
                }
                return nullptr;
            });
    if (why)
        return malformed(why);
    if (!local.empty()) {
        rec.local = local;
        if (!address.empty() && address != local)
            rec.peer = address;
    } else if (!address.empty()) {
        rec.local = address;
    } else {
        return malformed("no IFA_ADDRESS or IFA_LOCAL");
    }
    return Verdict();
}

// RTA_MULTIPATH: a packed array of struct rtnexthop, each followed by its own attributes
// within rtnh_len, each aligned to RTNH_ALIGNTO.
const char *parse_multipath(const struct nlattr *a, int family, RouteRecord &rec)
{
    const char *p = static_cast<const char *>(mnl_attr_get_payload(a));
    size_t rem = mnl_attr_get_payload_len(a);
    while (rem > 0) {
        if (rem < sizeof(struct rtnexthop))
            return "short rtnexthop";
        struct rtnexthop rtnh;
        std::memcpy(&rtnh, p, sizeof(rtnh));
        if (rtnh.rtnh_len < sizeof(struct rtnexthop) || rtnh.rtnh_len > rem)
            return "bad rtnh_len";
        Nexthop nh;
        if (rtnh.rtnh_ifindex < 0)
            return "bad rtnh_ifindex";
        nh.ifindex = rtnh.rtnh_ifindex;
        nh.flags = rtnh.rtnh_flags;
        nh.hops = rtnh.rtnh_hops;
        const size_t hdr = RTNH_ALIGN(sizeof(struct rtnexthop));
        if (rtnh.rtnh_len > hdr) {
            const char *why = walk_attrs(p + hdr, rtnh.rtnh_len - hdr,
                                         [&](const struct nlattr *n) -> const char * {
                                             if (mnl_attr_type_valid(n, RTA_MAX) < 0)
                                                 return nullptr;
                                             switch (mnl_attr_get_type(n)) {
                                             case RTA_GATEWAY:
                                                 if (!get_addr(n, family, nh.gateway))
                                                     return "bad nexthop RTA_GATEWAY";
                                                 break;
                                             case RTA_VIA:
                                                 if (!get_via(n, nh.gateway))
                                                     return "bad nexthop RTA_VIA";
                                                 break;
                                             default:
                                                 break;
                                             }
                                             return nullptr;
                                         });
            if (why)
                return why;
        }
        rec.nexthops.push_back(nh);
        size_t step = RTNH_ALIGN(rtnh.rtnh_len);
        if (step > rem)
            step = rem; // the last one may lack its pad
        p += step;
        rem -= step;
    }
    rec.multipath = true;
    return nullptr;
}

Verdict parse_route(const struct nlmsghdr *nlh, RouteRecord &rec)
{
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct rtmsg))
        return malformed("short rtmsg");
    struct rtmsg rtm;
    std::memcpy(&rtm, mnl_nlmsg_get_payload(nlh), sizeof(rtm));
    if (rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6)
        return ignored();
    if (rtm.rtm_type != RTN_UNICAST || (rtm.rtm_flags & RTM_F_CLONED))
        return ignored();
    const unsigned max_len = rtm.rtm_family == AF_INET ? 32 : 128;
    if (rtm.rtm_dst_len > max_len || rtm.rtm_src_len > max_len)
        return malformed("bad rtm_dst_len/rtm_src_len");
    rec.deleted = nlh->nlmsg_type == RTM_DELROUTE;
    rec.replace = !rec.deleted && (nlh->nlmsg_flags & NLM_F_REPLACE);
    rec.family = rtm.rtm_family;
    rec.dst_len = rtm.rtm_dst_len;
    rec.src_len = rtm.rtm_src_len;
    rec.tos = rtm.rtm_tos;
    rec.protocol = rtm.rtm_protocol;
    rec.scope = rtm.rtm_scope;
    rec.table = rtm.rtm_table;
    rec.rtm_flags = rtm.rtm_flags;

    const int family = rtm.rtm_family;
    bool has_oif = false;
    uint32_t oif = 0;
    IpAddr gateway;
    const char *why = walk_attrs(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct rtmsg)),
                                 mnl_nlmsg_get_payload_len(nlh) - MNL_ALIGN(sizeof(struct rtmsg)),
                                 [&](const struct nlattr *a) -> const char * {
                                     if (mnl_attr_type_valid(a, RTA_MAX) < 0)
                                         return nullptr;
                                     switch (mnl_attr_get_type(a)) {
                                     case RTA_DST:
                                         if (!get_addr(a, family, rec.dst))
                                             return "bad RTA_DST";
                                         break;
                                     case RTA_SRC:
                                         if (!get_addr(a, family, rec.src))
                                             return "bad RTA_SRC";
                                         break;
                                     case RTA_PREFSRC:
                                         if (!get_addr(a, family, rec.prefsrc))
                                             return "bad RTA_PREFSRC";
                                         break;
                                     case RTA_GATEWAY:
                                         if (!get_addr(a, family, gateway))
                                             return "bad RTA_GATEWAY";
                                         break;
                                     case RTA_VIA:
                                         if (!get_via(a, gateway))
                                             return "bad RTA_VIA";
                                         break;
                                     case RTA_OIF:
                                         if (!get_u32(a, oif) || !valid_ifindex(oif))
                                             return "bad RTA_OIF";
                                         has_oif = true;
                                         break;
                                     case RTA_PRIORITY:
                                         if (!get_u32(a, rec.priority))
                                             return "bad RTA_PRIORITY";
                                         rec.has_priority = true;
                                         break;
                                     case RTA_TABLE:
                                         if (!get_u32(a, rec.table))
                                             return "bad RTA_TABLE";
                                         break;
                                     case RTA_MULTIPATH:
                                         if (rec.multipath)
                                             return "duplicate RTA_MULTIPATH";
                                         return parse_multipath(a, family, rec);
                                     default:
                                         break;
                                     }
                                     return nullptr;
                                 });
    if (why)
        return malformed(why);
    if (rec.dst_len > 0 && rec.dst.empty())
        return malformed("prefix without RTA_DST");
    if (rec.src_len > 0 && rec.src.empty())
        return malformed("source prefix without RTA_SRC");
    if (!rec.multipath && (has_oif || !gateway.empty())) {
        Nexthop nh;
        nh.ifindex = static_cast<int32_t>(oif);
        nh.gateway = gateway;
        nh.flags = static_cast<uint8_t>(rtm.rtm_flags & 0xff);
        rec.nexthops.push_back(nh);
    }
    return Verdict();
}

// NLMSG_ERROR and NLMSG_DONE carry a negative errno (or 0); anything else is a lie.
bool read_errno(const struct nlmsghdr *nlh, int &error)
{
    int v;
    std::memcpy(&v, mnl_nlmsg_get_payload(nlh), sizeof(v));
    if (v > 0 || v < -4095)
        return false;
    error = v;
    return true;
}

} // namespace

ParseStats parse(const void *buf, size_t len, Sink &sink)
{
    ParseStats st;
    if (len > INT_MAX) {
        st.framing_error = true;
        return st;
    }
    // Not mnl_nlmsg_ok()/mnl_nlmsg_next(): libmnl 1.0.4 compares (int)nlmsg_len, so a
    // length of 2^31 or more passes its check and walks the pointer out of the buffer.
    const char *base = static_cast<const char *>(buf);
    size_t off = 0;
    while (len - off >= sizeof(struct nlmsghdr)) {
        auto *nlh = reinterpret_cast<const struct nlmsghdr *>(base + off);
        if (nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > len - off)
            break;
        ++st.messages;
        MsgInfo info;
        info.type = nlh->nlmsg_type;
        info.flags = nlh->nlmsg_flags;
        info.seq = nlh->nlmsg_seq;
        info.portid = nlh->nlmsg_pid;
        if (info.dump_intr())
            st.dump_intr = true;

        Verdict v = ignored();
        switch (nlh->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK: {
            LinkRecord rec;
            v = parse_link(nlh, rec);
            if (v.kind == Verdict::Ok) {
                ++st.links;
                sink.on_link(info, rec);
            }
            break;
        }
        case RTM_NEWADDR:
        case RTM_DELADDR: {
            AddrRecord rec;
            v = parse_addr(nlh, rec);
            if (v.kind == Verdict::Ok) {
                ++st.addrs;
                sink.on_addr(info, rec);
            }
            break;
        }
        case RTM_NEWROUTE:
        case RTM_DELROUTE: {
            RouteRecord rec;
            v = parse_route(nlh, rec);
            if (v.kind == Verdict::Ok) {
                ++st.routes;
                sink.on_route(info, rec);
            }
            break;
        }
        case NLMSG_ERROR: {
            int error = 0;
            if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
                v = malformed("short nlmsgerr");
            else if (!read_errno(nlh, error))
                v = malformed("bad nlmsgerr error");
            else {
                v = Verdict();
                sink.on_error(info, error);
            }
            break;
        }
        case NLMSG_DONE: {
            int error = 0;
            if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int) && !read_errno(nlh, error)) {
                v = malformed("bad NLMSG_DONE status");
            } else {
                v = Verdict();
                sink.on_done(info, error);
            }
            break;
        }
        default:
            break; // NOOP, OVERRUN, neighbours, rules ...: not ours
        }
        if (v.kind == Verdict::Ignored) {
            ++st.ignored;
        } else if (v.kind == Verdict::Malformed) {
            ++st.malformed;
            sink.on_malformed(info, v.why);
        }
        // The last message may lack its NLMSG_ALIGN pad.
        off = std::min(len, off + NLMSG_ALIGN(static_cast<size_t>(nlh->nlmsg_len)));
    }
    if (off < len)
        st.framing_error = true;
    return st;
}

} // namespace nl
