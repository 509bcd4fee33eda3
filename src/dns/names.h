// The name tracker: keeps the addresses of each watched (name, resolver, family) fresh
// and says when they change.
//
// Per name it keeps the last good answer (all A, then all AAAA addresses, per the family
// setting) and plans the next refresh:
//   - at expiry: the answer's TTL clamped to [ttl_floor_s, ttl_ceiling_s], on the
//     monotonic clock. Steady state is therefore one query per record type per
//     max(TTL, floor) (or per ceiling), however often the name is used;
//   - at once on refresh()/refresh_backend()/refresh_all() ("server check failed",
//     "WAN changed", `recheck`), but never sooner than min_refresh_interval_s after the
//     previous query of that name;
//   - after a failure, with exponential back-off from the floor to retry_max_s.
// A and AAAA are asked together and their round completes together, so one DDNS
// update gives one change notification; with different TTLs the smaller one sets the
// pace for both.
//
// Answers are validated (addr.h unusable_reason): an answer with an unusable address is
// rejected as a whole with dns_bad_address. On any failure the last good answer is kept
// and marked stale (serve_stale, default on) together with the failure's reason.
// Literal addresses never touch DNS; names found in the hosts file (/etc/hosts) are
// answered from it, like the system resolver does; neither is validated (the operator
// wrote them).
//
// Callbacks (NameListener) come only from the loop: never from inside watch(),
// refresh() or any other call.
#pragma once

#include "core/log.h"
#include "core/loop.h"
#include "dns/addr.h"
#include "dns/resolver.h"
#include "dns/sysconf.h"
#include "omrt/clock.h"
#include "omrt/reason.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace core {
class JsonWriter;
}

namespace dns {

enum class Family : uint8_t { ipv4, ipv6, both };
const char *family_name(Family f); // "ipv4", "ipv6", "ipv4ipv6"

enum class Source : uint8_t { none, dns, hosts, literal };
const char *source_name(Source s);

// A human phrase for a DNS reason code in log lines: "timeout", "NXDOMAIN", ...
const char *reason_words(omrt::Reason r);

struct NameOptions {
    // TTL clamp. Floor 5 s: a TTL of 0 or 1 s (some DDNS providers, captive portals)
    // must not turn into a query per check; 5 s still follows a DDNS change within
    // TTL + 1 s for every TTL >= 5 s. Ceiling 1 h: a 1-day TTL on a VPS name must not
    // hide a move for a day; forced refreshes (server check failed) cover moves sooner.
    unsigned ttl_floor_s = 5;
    unsigned ttl_ceiling_s = 3600;
    // Forced refreshes of one name are at least this far apart.
    unsigned min_refresh_interval_s = 2;
    // Failure back-off: floor, 2*floor, ... up to this, plus up to retry_jitter_pct.
    unsigned retry_max_s = 60;
    unsigned retry_jitter_pct = 10;
    // Keep using the last good answer while refreshes fail (status shows it stale).
    bool serve_stale = true;
    // Names answered without DNS; empty: none.
    std::string hosts_path = "/etc/hosts";

    bool operator==(const NameOptions &o) const;
};

using NameId = uint32_t; // 0 is never a valid id

// What status output shows about one name. Times are monotonic (omrt::Clock).
struct NameStatus {
    std::string owner;   // who watches it, for logs: "vps"
    std::string name;    // "vps.example.net" (or the literal address)
    std::string context; // the resolver's label: "wan1", "system"
    Family family = Family::ipv4;
    Source source = Source::none;
    AddrList addrs;                 // in use: A then AAAA (may be stale)
    std::string server;             // who gave the last answer (or the servers that failed)
    std::string canonical;          // CNAME target, if the answer came through one
    int64_t rtt_us = -1;            // of the last answer
    uint32_t record_ttl_s = 0;      // TTL as received
    uint32_t ttl_s = 0;             // clamped TTL in use
    omrt::MonoUs refreshed_us = 0;  // last successful answer; 0 never
    omrt::MonoUs expires_us = 0;    // refreshed_us + ttl_s
    omrt::MonoUs next_query_us = 0; // next planned refresh; 0 none
    bool stale = false;             // addrs are kept from an earlier answer
    bool resolving = false;         // queries in flight
    // Of the last refresh: ok, or why it (or one of its A/AAAA halves) failed.
    omrt::Reason reason = omrt::Reason::pending;
    std::string message;                        // detail of |reason|
    omrt::Reason last_error = omrt::Reason::ok; // the most recent failure, kept
    std::string last_error_message;
    omrt::MonoUs last_error_us = 0;
    unsigned failures = 0; // consecutive failed refreshes
    uint64_t queries_a = 0, queries_aaaa = 0, changes = 0;

    // Seconds until the answer expires (0 when expired or never answered).
    int64_t ttl_left_s(omrt::MonoUs now) const;
};

class NameListener {
public:
    // The address set of |id| changed: the first answer (|old_addrs| empty), a DDNS
    // update, or the answer dropped (serve_stale off). Once per change. |st| is valid
    // until the listener unwatches |id|. The listener may call any NameTracker method
    // (unwatch included) but must not destroy the tracker.
    virtual void on_name_changed(NameId id, const NameStatus &st, const AddrList &old_addrs) = 0;
    // After each finished refresh (answer or failure), after on_name_changed.
    virtual void on_name_refreshed(NameId, const NameStatus &) {}

protected:
    ~NameListener() = default;
};

class NameTracker {
public:
    NameTracker(core::Loop &loop, const omrt::Clock &clock, NameListener &listener,
                NameOptions opts = NameOptions());
    ~NameTracker();
    NameTracker(const NameTracker &) = delete;
    NameTracker &operator=(const NameTracker &) = delete;

    // Starts keeping |host| (a name or a literal address) resolved through |backend|,
    // which must outlive the watch. |owner| names the watcher in logs. The first
    // resolution starts from the loop. Watching the same (host, backend, family) again
    // returns the same id (counted). 0 with |err| for an invalid name.
    NameId watch(std::string_view owner, std::string_view host, QueryBackend &backend,
                 Family family, std::string *err);
    void unwatch(NameId id);

    // Re-resolve soon (rate-limited, see NameOptions); |why| goes to the debug log.
    void refresh(NameId id, const char *why);
    void refresh_backend(const QueryBackend &backend, const char *why);
    void refresh_all(const char *why);

    void set_options(NameOptions opts);
    const NameOptions &options() const { return opts_; }

    const NameStatus *status(NameId id) const;
    std::vector<NameId> ids() const;
    // One name as a JSON object (wall times converted here, at the edge).
    void write_json(core::JsonWriter &w, NameId id) const;

    // Starts what is due now. The timer calls it; tests with a FakeClock call it directly.
    void poll();
    // When poll() has work next (INT64_MAX: nothing planned).
    omrt::MonoUs next_due_us() const;

private:
    struct Entry;
    Entry *find(NameId id) const;
    void start_round(Entry &e, omrt::MonoUs now);
    void finish_round(Entry &e);
    void finish_local(Entry &e, Source src, AddrList addrs, omrt::MonoUs now);
    void publish(Entry &e, AddrList addrs, omrt::MonoUs now); // last call: may notify
    void log_outcome(Entry &e, const AddrList &old_addrs, bool changed);
    void refresh_entry(Entry &e, omrt::MonoUs now, const char *why);
    void refresh_hosts(omrt::MonoUs now);
    unsigned backoff_s(unsigned failures);
    void arm_timer();
    void on_timer();
    static void on_query_done(void *ctx, Query &q) noexcept;

    core::Loop &loop_;
    const omrt::Clock &clock_;
    NameListener &listener_;
    NameOptions opts_;
    core::Timer timer_;
    std::vector<std::unique_ptr<Entry>> entries_;
    NameId next_id_ = 1;
    HostsTable hosts_;
    omrt::MonoUs hosts_checked_us_ = 0;
    bool hosts_checked_ = false;
    int64_t hosts_mtime_ns_ = -1;
    uint64_t hosts_size_ = 0, hosts_ino_ = 0;
    uint32_t rng_;
};

} // namespace dns
