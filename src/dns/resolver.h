// Asynchronous A/AAAA queries with udns 0.4 on the libev loop (STYLE.md §1, §5, §7).
//
// One Resolver = one udns context = one UDP socket, one IoWatcher on it and one Timer
// driven by udns' timer callback (dns_set_tmcbck). It is either the system resolver
// (servers from /etc/resolv.conf) or a WAN's resolver (that WAN's servers, the socket
// bound to its device with SO_BINDTODEVICE), so a name can be resolved through the link
// that is being judged.
//
// Time: udns keeps deadlines in whole seconds of whatever clock `now` is, and reads
// time(NULL) when now == 0. Every dns_ioevent/dns_timeouts call gets the same
// non-zero monotonic value: omrt::Clock seconds + 1 (STYLE.md §7).
//
// What udns 0.4 does not do (peers.md §9), and what we do about it:
//  - UDP only: a reply with TC set is dropped by udns like a SERVFAIL. We see the reply
//    through udns' debug hook and report dns_truncated; no TCP retry.
//  - SERVFAIL and REFUSED both become DNS_E_TEMPFAIL, indistinguishable from a timeout;
//    the debug hook gives us the rcode and the server, so they become dns_servfail and
//    dns_refused (the answering server named in the message).
//  - Replies udns ignores (garbled, wrong query id, a question for another name, a
//    reply from an address we did not ask) are noted per query; if the query then
//    times out the result is dns_bad_reply with that note instead of dns_timeout.
//  - At most 6 servers (DNS_MAXSERV); the rest are reported by the resolv.conf parser.
//  - CNAMEs are followed only inside one reply (no second query for the target); a
//    CNAME without its target's records is dns_nodata, with the chain in the message.
//  - Server and RTT: udns does not report them; the debug hook's send (code 1) and
//    matched-reply (code 0) events do. The RTT is from the last send to that server to
//    its reply, so a reply to an earlier retransmission reads shorter than it was.
//  - v4 + v6 servers in one context: udns then uses one AF_INET6 socket with v4-mapped
//    addresses. SO_BINDTODEVICE works on it for both families (tested), and we clear
//    IPV6_V6ONLY so a router with net.ipv6.bindv6only=1 still reaches the v4 servers.
//    Binding to a *source address* would not work for both; we never do that.
#pragma once

#include "core/log.h"
#include "core/loop.h"
#include "dns/addr.h"
#include "dns/sysconf.h"
#include "omrt/clock.h"
#include "omrt/reason.h"

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

struct dns_ctx;
struct dns_query;
struct sockaddr;

namespace dns {

enum class QType : uint8_t { A, AAAA };
const char *qtype_name(QType t); // "A", "AAAA"

struct QueryResult {
    // ok, or dns_nxdomain, dns_nodata, dns_servfail, dns_refused, dns_timeout,
    // dns_truncated, dns_bad_reply, dns_no_servers; no_device (bound device missing),
    // net_unreachable (nothing could be sent), config (bad name), internal.
    omrt::Reason reason = omrt::Reason::pending;
    AddrList addrs;        // ok: the answer, in reply order; not yet validated
    uint32_t ttl_s = 0;    // ok: the answer's TTL (smallest along a CNAME chain)
    std::string server;    // who gave the reply; for failures the servers asked
    int64_t rtt_us = -1;   // query -> reply of that server; -1 without a reply
    std::string canonical; // the CNAME target the addresses belong to, if any
    std::string message;   // detail for logs and status ("SERVFAIL from 192.0.2.53")
    unsigned sent = 0;     // datagrams sent, retransmissions included
};

class QueryBackend;

// One A or AAAA lookup, owned by the caller (by value). It may be started again after
// it finished; destroying or cancelling it while running is always safe. The done
// callback runs from the loop, never from inside QueryBackend::start(); it may start,
// cancel or destroy this or any other Query, but must not destroy the backend.
class Query {
public:
    using DoneFn = void (*)(void *ctx, Query &q) noexcept;
    Query(DoneFn done, void *ctx) : done_(done), ctx_(ctx) {}
    ~Query() { cancel(); }
    Query(const Query &) = delete;
    Query &operator=(const Query &) = delete;

    bool running() const { return backend_ != nullptr; }
    void cancel();
    const std::string &name() const { return name_; }
    QType type() const { return type_; }
    // The last finished lookup's result (reason pending while none finished yet).
    const QueryResult &result() const { return result_; }

    // For QueryBackend implementations: attach() when starting, finish() to complete
    // (finish() detaches, stores the result and calls back as its last statement).
    void attach(QueryBackend *b, std::string_view name, QType t);
    void detach() { backend_ = nullptr; } // cancelled: no callback
    void finish(QueryResult &&r);
    QueryBackend *backend() const { return backend_; }

private:
    friend class Resolver;
    // Per server (index into the resolver's list), what the debug hook saw.
    struct ServerTrack {
        omrt::MonoUs sent_us = 0; // last send; 0 = never sent
        omrt::MonoUs reply_us = 0;
        int rcode = -1; // of the last matched reply; -1 none
        bool tc = false;
    };
    void reset_track();

    DoneFn done_;
    void *ctx_;
    QueryBackend *backend_ = nullptr;
    std::string name_;
    QType type_ = QType::A;
    QueryResult result_;
    // Resolver state.
    QueryResult pending_; // a synchronous failure's result, delivered from the loop
    struct dns_query *uq_ = nullptr;
    bool deferred_ = false; // result_ of a synchronous failure waits for the loop
    uint16_t qid_ = 0;
    bool qid_known_ = false;
    unsigned sent_ = 0;
    int answered_by_ = -1;
    std::string note_; // first reply udns ignored for this query, for dns_bad_reply
    ServerTrack track_[kMaxServers];
};

// What a NameTracker (or a test) needs from a resolver.
class QueryBackend {
public:
    // Starts |q| (cancelling it first if running). Never calls back synchronously.
    virtual void start(Query &q, std::string_view name, QType type) = 0;
    // Stops |q| without calling back; no-op when it is not running here.
    virtual void cancel(Query &q) = 0;
    // For logs: the WAN ("wan1") or "system".
    virtual const std::string &label() const = 0;

protected:
    ~QueryBackend() = default;
};

struct ResolverOptions {
    std::string label = "system";
    // Explicit servers. When empty they are read from |resolv_conf| (re-read when the
    // file changes): a plain resolv.conf, or, when |resolv_iface| is set, netifd's
    // resolv.conf.auto and the block of that interface.
    std::vector<ServerAddr> servers;
    std::string resolv_conf = "/etc/resolv.conf";
    std::string resolv_iface;
    std::string device; // SO_BINDTODEVICE on the socket; empty: routed normally
    // udns retry schedule: with more servers left, 1 s per server; after the last one
    // timeout_s << try. 2 s and 2 tries: one server gives up after ~6 s (udns' own
    // defaults, 4 s and 3 tries, take 28 s).
    unsigned timeout_s = 2;
    unsigned tries = 2;

    bool operator==(const ResolverOptions &o) const;
    bool operator!=(const ResolverOptions &o) const { return !(*this == o); }
};

class Resolver final : public QueryBackend {
public:
    Resolver(core::Loop &loop, const omrt::Clock &clock, ResolverOptions opts);
    // Drops running queries without calling back (their Query objects just stop).
    ~Resolver();
    Resolver(const Resolver &) = delete;
    Resolver &operator=(const Resolver &) = delete;

    void start(Query &q, std::string_view name, QType type) override;
    void cancel(Query &q) override;
    const std::string &label() const override { return opts_.label; }

    // New servers, device or timeouts (WAN change, reload). The socket is reopened at
    // the next query; running queries are sent again through the new one.
    void reconfigure(ResolverOptions opts);
    const ResolverOptions &options() const { return opts_; }
    // The servers of the open context (or of the last load); empty before the first query.
    const std::vector<ServerAddr> &servers() const { return servers_; }
    // Forgets the resolv.conf state: the next query re-reads the file and reopens.
    void reload();

    struct Stats {
        uint64_t queries = 0; // started
        uint64_t sent = 0;    // datagrams
        uint64_t replies = 0; // matched by udns
        uint64_t ignored = 0; // replies udns dropped (garbled, wrong id/name/sender)
        uint64_t opens = 0;   // sockets opened
    };
    const Stats &stats() const { return stats_; }
    int fd() const;

private:
    bool ensure_open();
    bool open_ctx();
    void close_ctx();
    void reopen_running();
    bool read_servers(std::vector<ServerAddr> &out, std::string *err);
    bool load_servers();
    void check_resolv_file();
    void submit(Query &q);
    void fail_later(Query &q, omrt::Reason r, const char *msg);
    void unlink(Query &q);
    int server_index(const struct sockaddr *sa, unsigned salen) const;
    time_t now_s() const;
    void complete(Query &q, int status, void *result);
    QueryResult classify_failure(Query &q, int status) const;
    void on_debug(int code, const struct sockaddr *sa, unsigned salen, const uint8_t *pkt, int plen,
                  Query *q);
    void note_ignored(int code, const struct sockaddr *sa, unsigned salen, const uint8_t *pkt,
                      int plen);

    void on_readable(int events);
    void on_timer();
    void on_deferred();

    static void utm_trampoline(struct dns_ctx *ctx, int timeout, void *data) noexcept;
    static void query_trampoline(struct dns_ctx *ctx, void *result, void *data) noexcept;
    static void debug_trampoline(int code, const struct sockaddr *sa, unsigned salen,
                                 const unsigned char *pkt, int plen, const struct dns_query *q,
                                 void *data) noexcept;

    core::Loop &loop_;
    const omrt::Clock &clock_;
    ResolverOptions opts_;
    core::IoWatcher io_;
    core::Timer timer_;    // udns' timeouts
    core::Timer deferred_; // completions that must not run inside start()
    struct dns_ctx *ctx_ = nullptr;
    std::vector<ServerAddr> loaded_;  // as configured or read from the file
    std::vector<ServerAddr> servers_; // in use (unusable scopes skipped), udns' order
    std::vector<Query *> running_;    // submitted to udns
    std::vector<Query *> waiting_;    // finished synchronously, to be called back
    bool dirty_ = true;               // servers/options changed: reopen before next submit
    omrt::Reason open_reason_ = omrt::Reason::ok;
    std::string open_error_;
    // resolv.conf change detection.
    omrt::MonoUs resolv_checked_us_ = 0;
    bool resolv_checked_ = false;
    struct FileId {
        uint64_t dev = 0, ino = 0, size = 0;
        int64_t mtime_ns = 0;
        bool exists = false;
        bool operator==(const FileId &o) const
        {
            return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns &&
                   exists == o.exists;
        }
    } resolv_id_;
    Stats stats_;
    core::LogLimiter warn_limit_;
};

} // namespace dns
