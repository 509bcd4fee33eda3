// Test helpers: build rtnetlink messages with libmnl, collect parser output, make records.
#pragma once

#include "netlink/parse.h"

#include <arpa/inet.h>
#include <cstdint>
#include <cstring>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <string>
#include <vector>

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

namespace nltest {

// A 4-byte aligned byte buffer holding one or more netlink messages.
class Buf {
public:
    Buf() = default;
    explicit Buf(size_t n) { resize(n); }
    void resize(size_t n)
    {
        words_.assign((n + 7) / 8 + 1, 0);
        len_ = n;
    }
    uint8_t *data() { return reinterpret_cast<uint8_t *>(words_.data()); }
    const uint8_t *data() const { return reinterpret_cast<const uint8_t *>(words_.data()); }
    size_t size() const { return len_; }
    void append(const void *p, size_t n)
    {
        size_t old = len_;
        std::vector<uint64_t> keep = words_;
        words_.assign((old + n + 7) / 8 + 1, 0);
        if (old)
            std::memcpy(words_.data(), keep.data(), old);
        if (n)
            std::memcpy(data() + old, p, n);
        len_ = old + n;
    }
    // Appends, padded to NLMSG_ALIGNTO like the kernel does.
    void append_msg(const struct nlmsghdr *nlh)
    {
        append(nlh, nlh->nlmsg_len);
        size_t pad = NLMSG_ALIGN(nlh->nlmsg_len) - nlh->nlmsg_len;
        static const uint8_t zeros[4] = {};
        if (pad)
            append(zeros, pad);
    }

private:
    std::vector<uint64_t> words_;
    size_t len_ = 0;
};

inline Buf from_hex(const char *hex)
{
    size_t n = std::strlen(hex) / 2;
    Buf b(n);
    for (size_t i = 0; i < n; ++i) {
        unsigned v = 0;
        std::sscanf(hex + 2 * i, "%2x", &v);
        b.data()[i] = static_cast<uint8_t>(v);
    }
    return b;
}

// One message under construction.
class Msg {
public:
    explicit Msg(uint16_t type, uint16_t flags = 0, uint32_t seq = 0, uint32_t portid = 0)
    {
        std::memset(words_, 0, sizeof(words_));
        struct nlmsghdr *h = mnl_nlmsg_put_header(words_);
        h->nlmsg_type = type;
        h->nlmsg_flags = flags;
        h->nlmsg_seq = seq;
        h->nlmsg_pid = portid;
    }
    template <class T>
    T *extra()
    {
        return static_cast<T *>(mnl_nlmsg_put_extra_header(nlh(), sizeof(T)));
    }
    // Computed each time: a Msg may be copied (returned by value).
    struct nlmsghdr *nlh() { return reinterpret_cast<struct nlmsghdr *>(words_); }
    const struct nlmsghdr *nlh() const { return reinterpret_cast<const struct nlmsghdr *>(words_); }
    size_t size() const { return nlh()->nlmsg_len; }
    void u8(uint16_t type, uint8_t v) { mnl_attr_put_u8(nlh(), type, v); }
    void u32(uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh(), type, v); }
    void strz(uint16_t type, const char *s) { mnl_attr_put_strz(nlh(), type, s); }
    void raw(uint16_t type, const void *p, size_t n) { mnl_attr_put(nlh(), type, n, p); }
    void addr(uint16_t type, const char *text)
    {
        uint8_t b[16];
        if (inet_pton(AF_INET, text, b) == 1)
            raw(type, b, 4);
        else if (inet_pton(AF_INET6, text, b) == 1)
            raw(type, b, 16);
    }
    struct nlattr *nest_start(uint16_t type) { return mnl_attr_nest_start(nlh(), type); }
    void nest_end(struct nlattr *a) { mnl_attr_nest_end(nlh(), a); }
    // Raw bytes appended to the message (for hand-made lies).
    void bytes(const void *p, size_t n)
    {
        std::memcpy(reinterpret_cast<uint8_t *>(nlh()) + nlh()->nlmsg_len, p, n);
        nlh()->nlmsg_len += static_cast<uint32_t>(n);
    }
    Buf buf() const
    {
        Buf b;
        b.append_msg(nlh());
        return b;
    }

private:
    uint64_t words_[1024];
};

struct Collector : nl::Sink {
    std::vector<nl::LinkRecord> links;
    std::vector<nl::AddrRecord> addrs;
    std::vector<nl::RouteRecord> routes;
    std::vector<nl::MsgInfo> infos;
    std::vector<int> dones;
    std::vector<int> errors;
    std::vector<std::string> malformed;
    void on_link(const nl::MsgInfo &i, const nl::LinkRecord &r) override
    {
        infos.push_back(i);
        links.push_back(r);
    }
    void on_addr(const nl::MsgInfo &i, const nl::AddrRecord &r) override
    {
        infos.push_back(i);
        addrs.push_back(r);
    }
    void on_route(const nl::MsgInfo &i, const nl::RouteRecord &r) override
    {
        infos.push_back(i);
        routes.push_back(r);
    }
    void on_done(const nl::MsgInfo &i, int e) override
    {
        infos.push_back(i);
        dones.push_back(e);
    }
    void on_error(const nl::MsgInfo &i, int e) override
    {
        infos.push_back(i);
        errors.push_back(e);
    }
    void on_malformed(const nl::MsgInfo &, const char *why) override { malformed.push_back(why); }
    size_t records() const { return links.size() + addrs.size() + routes.size(); }
};

inline nl::ParseStats parse(const Buf &b, Collector &c)
{
    return nl::parse(b.data(), b.size(), c);
}

inline nl::IpAddr ip(const char *text)
{
    nl::IpAddr a;
    nl::IpAddr::parse(text, a);
    return a;
}

// ---- records for the table tests

inline nl::LinkRecord link(int32_t ifindex, const char *name, bool admin_up, uint8_t operstate,
                           int carrier = -1)
{
    nl::LinkRecord r;
    r.ifindex = ifindex;
    r.has_name = name != nullptr;
    if (name)
        r.name = name;
    r.flags = admin_up ? IFF_UP : 0;
    if (admin_up && (operstate == IF_OPER_UP || operstate == IF_OPER_UNKNOWN))
        r.flags |= IFF_RUNNING;
    if (carrier == 1)
        r.flags |= IFF_LOWER_UP;
    r.has_operstate = true;
    r.operstate = operstate;
    if (carrier >= 0) {
        r.has_carrier = true;
        r.carrier = static_cast<uint8_t>(carrier);
    }
    return r;
}

inline nl::LinkRecord link_up(int32_t ifindex, const char *name)
{
    return link(ifindex, name, true, IF_OPER_UP, 1);
}

inline nl::LinkRecord link_down(int32_t ifindex, const char *name)
{
    return link(ifindex, name, true, IF_OPER_DOWN, 0);
}

inline nl::LinkRecord link_del(int32_t ifindex, const char *name)
{
    nl::LinkRecord r = link(ifindex, name, false, IF_OPER_DOWN);
    r.deleted = true;
    return r;
}

inline nl::AddrRecord addr(int32_t ifindex, const char *local, uint8_t prefixlen,
                           uint32_t flags = IFA_F_PERMANENT, const char *peer = nullptr,
                           uint8_t scope = RT_SCOPE_UNIVERSE)
{
    nl::AddrRecord r;
    r.local = ip(local);
    r.family = r.local.family;
    r.prefixlen = prefixlen;
    r.ifindex = ifindex;
    r.flags = flags;
    r.scope = scope;
    if (peer)
        r.peer = ip(peer);
    return r;
}

inline nl::AddrRecord addr_del(int32_t ifindex, const char *local, uint8_t prefixlen)
{
    nl::AddrRecord r = addr(ifindex, local, prefixlen);
    r.deleted = true;
    return r;
}

inline nl::RouteRecord droute(int32_t oif, const char *gw, uint32_t metric = 0,
                              uint32_t table = RT_TABLE_MAIN, int family = 0)
{
    nl::RouteRecord r;
    nl::Nexthop nh;
    nh.ifindex = oif;
    if (gw)
        nh.gateway = ip(gw);
    r.family = static_cast<uint8_t>(family ? family : (gw ? nh.gateway.family : AF_INET));
    r.table = table;
    r.has_priority = true;
    r.priority = metric;
    r.protocol = RTPROT_STATIC;
    r.nexthops.push_back(nh);
    return r;
}

inline nl::RouteRecord droute_del(int32_t oif, const char *gw, uint32_t metric = 0,
                                  uint32_t table = RT_TABLE_MAIN, int family = 0)
{
    nl::RouteRecord r = droute(oif, gw, metric, table, family);
    r.deleted = true;
    return r;
}

} // namespace nltest
