// The netlink monitor: the daemon's only rtnetlink reader (STYLE.md §1, §10).
//
// Two non-blocking, close-on-exec sockets:
//  - the event socket, subscribed to RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
//    RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE and RTNLGRP_IPV6_ROUTE;
//  - the request socket, for the full dumps (links, then addresses, then routes, one
//    after the other), at start(), on request_dump() (reload) and after a loss.
// Both are read from the loop with bounded work per wakeup; a dump never blocks it.
// Only messages from the kernel (sender port 0) are accepted; replies on the request
// socket must also carry our port id and the sequence number of the dump in progress.
//
// Losses: ENOBUFS on the event socket (the kernel dropped notifications) doubles the
// receive buffer (up to max_rcvbuf_bytes) and starts a full re-dump (or one more after
// the one in progress); a dump whose messages carry NLM_F_DUMP_INTR (the kernel's tables
// changed under it) is restarted; a dump that fails or stalls is retried after a delay,
// on a fresh request socket.
// Before each dump request the event socket is drained to EAGAIN (the one unbounded
// read): what is queued there is older than the dump, and must not count as fresher
// than it (see DeviceTable's mark and sweep).
//
// Records go into a DeviceTable; its coalesced changes are published to the listeners
// of each device name from a timer: at the next loop iteration after the first change,
// and then at most once per publish_interval_us while changes keep coming. A flapping
// link thus costs at most one event per device per interval, each with the final state
// and the transitions that happened in between (Down|Up for a blip). Nothing is
// published before the first dump completes; that publication carries kSynced for every
// registered name, and so does the one after each later complete dump.
#pragma once

#include "core/log.h"
#include "core/loop.h"
#include "netlink/table.h"
#include "omrt/clock.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

struct mnl_socket;

namespace nl {

struct MonitorOptions {
    int rcvbuf_bytes = 256 * 1024;          // event socket's receive buffer at start
    int max_rcvbuf_bytes = 4 * 1024 * 1024; // growth limit after ENOBUFS
    unsigned max_reads_per_wakeup = 64;     // datagrams read per callback, per socket
    int64_t publish_interval_us = 10 * omrt::kUsPerMs;
    int64_t dump_timeout_us = 5 * omrt::kUsPerS; // no progress for this long: retry
    int64_t dump_retry_us = 1 * omrt::kUsPerS;   // after a failed dump request
};

struct MonitorStats {
    uint64_t datagrams = 0;
    uint64_t messages = 0;
    uint64_t malformed = 0;
    uint64_t foreign = 0; // datagrams not from the kernel, or not for our dump
    uint64_t enobufs = 0;
    uint64_t truncated = 0; // MSG_TRUNC or a framing error: treated as a loss
    uint64_t dumps_started = 0;
    uint64_t dumps_completed = 0; // full link+address+route sequences
    uint64_t dump_restarts = 0;   // NLM_F_DUMP_INTR
    uint64_t dump_failures = 0;   // error replies, send failures, stalls
    uint64_t publications = 0;
    uint64_t events = 0;  // LinkChange delivered to listeners
    int rcvbuf_bytes = 0; // what the kernel reports for the event socket now
};

class Monitor {
public:
    Monitor(core::Loop &loop, const omrt::Clock &clock, const MonitorOptions &opts = {});
    ~Monitor();
    Monitor(const Monitor &) = delete;
    Monitor &operator=(const Monitor &) = delete;

    // Opens and subscribes the sockets, starts the initial dump. On failure returns
    // false with |err| set and leaves the monitor stopped.
    [[nodiscard]] bool start(std::string *err);
    // Closes everything; no callback afterwards. Idempotent.
    void stop();
    bool running() const { return ev_sock_ != nullptr; }

    // A full re-dump (reload). Changes it reveals are published as usual. If a dump is
    // in progress, a new one starts when it ends.
    void request_dump();
    // A complete dump has been applied (the table reflects the kernel).
    bool synced() const { return synced_; }
    // A dump sequence is in progress (or waiting to be retried).
    bool dumping() const { return phase_ != Phase::Idle; }

    // |listener| receives the changes of the device called |name| from now on (it is
    // not told the current state: query find()/state(), or wait for the kSynced of the
    // first dump). The same listener may watch several names. Safe to call from a
    // callback.
    void add_listener(std::string_view name, LinkListener *listener);
    void remove_listener(std::string_view name, LinkListener *listener);
    // Every registration of |listener|. Call before destroying it.
    void remove_listener(LinkListener *listener);

    // The device called |name| now, or nullptr. Valid until the loop runs again.
    const DeviceState *find(std::string_view name) const { return table_.find(name); }
    // A copy; present == false if there is no such device (or no dump yet).
    DeviceState state(std::string_view name) const { return table_.state(name); }
    const DeviceTable &table() const { return table_; }
    const MonitorStats &stats() const;

private:
    enum class Phase : uint8_t { Idle, Links, Addrs, Routes };
    struct Registration {
        std::string name;
        LinkListener *listener; // nullptr: removed during a dispatch
    };
    struct EventSink;
    struct DumpSink;

    // Removes the registrations of |listener| (for |name| only, unless nullptr).
    void remove_matching(const std::string_view *name, LinkListener *listener);
    void note_malformed(const MsgInfo &info, const char *why, const char *what);
    void on_event_readable(int events);
    void read_events(unsigned limit);
    void on_dump_readable(int events);
    void on_publish_timer();
    void on_dump_timer();

    ssize_t receive(mnl_socket *sock, bool *foreign);
    bool open_request_socket(std::string *err);
    void handle_event_loss(const char *what);
    void grow_rcvbuf();
    void start_dump_sequence();
    void send_dump_request();
    void dump_failed(const char *why, int error);
    void dump_phase_done();
    void schedule_publish();
    void publish();

    const omrt::Clock &clock_;
    MonitorOptions opts_;
    DeviceTable table_;

    mnl_socket *ev_sock_ = nullptr;
    mnl_socket *req_sock_ = nullptr;
    uint32_t req_portid_ = 0;
    core::IoWatcher ev_io_;
    core::IoWatcher req_io_;
    core::Timer publish_timer_;
    core::Timer dump_timer_; // watchdog of the dump in progress, or retry delay

    Phase phase_ = Phase::Idle;
    uint32_t seq_ = 0;
    bool dump_intr_ = false;
    bool dump_again_ = false;
    bool awaiting_reply_ = false; // a dump request is outstanding
    bool draining_ = false;       // read_events() before a dump request
    unsigned phase_restarts_ = 0; // NLM_F_DUMP_INTR restarts of the current phase
    bool synced_ = false;
    bool announce_sync_ = false; // the next publication carries kSynced
    unsigned dump_counts_[3] = {0, 0, 0};
    unsigned consecutive_failures_ = 0;
    int rcvbuf_bytes_ = 0;

    std::vector<Registration> listeners_;
    unsigned dispatch_depth_ = 0;
    omrt::MonoUs last_publish_us_ = INT64_MIN / 2;
    std::vector<LinkChange> changes_; // reused by publish()

    // Netlink datagrams: a dump chunk is at most 32 KiB unless a single message is
    // larger (the kernel then truncates and we re-dump).
    std::unique_ptr<uint64_t[]> buf_;
    static constexpr size_t kBufBytes = 32768;

    core::LogLimiter loss_log_;
    core::LogLimiter malformed_log_;
    mutable MonitorStats stats_;
};

} // namespace nl
