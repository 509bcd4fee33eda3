// The status board: what the daemon knows about each interface and server, in one place,
// published three ways — the control socket (on demand and to watchers), the status file
// (atomically rewritten when something changes) and, later, metrics.
//
// Trackers own their decisions; the board only records results and decides when to
// publish. Wall-clock time appears only here, at the edge (STYLE.md §7): `since` is
// stamped with the wall time of the change when it is recorded.
#pragma once

#include "core/log.h"
#include "core/loop.h"
#include "omrt/clock.h"
#include "omrt/reason.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace core {
class JsonWriter;
}

namespace status {

constexpr double kNoValue = NAN; // latency/loss not measured: JSON null

// Recent latency, one slot per kHistoryStepS seconds, for the CLI sparkline.
constexpr unsigned kHistoryStepS = 20;
constexpr unsigned kHistorySlots = 30; // 10 minutes

struct LatencyHistory {
    // Per slot: the worst latency seen in that slot, NaN if no reply at all (all lost),
    // and whether any probe was made in it (an idle slot prints as a gap).
    float worst_ms[kHistorySlots];
    bool probed[kHistorySlots] = {};
    bool lost[kHistorySlots] = {};
    omrt::MonoUs slot_start_us = 0; // start of the newest slot
    unsigned newest = 0;
    bool started = false; // slot_start_us is set (the first record or write)
    LatencyHistory();
    // |latency_ms| NaN = a probe that got no reply.
    void record(omrt::MonoUs now, double latency_ms);
    // Oldest first; advances empty slots up to |now|. Each slot is the worst latency in
    // ms (a number), null when probes were made but none was answered, or -1 when no
    // probe was made at all (idle: the interface was not probed then).
    void write_json(core::JsonWriter &w, omrt::MonoUs now);
    // Moves the newest slot to the one holding |now|, clearing the slots in between.
    // Slots are aligned to multiples of kHistoryStepS of the monotonic clock, so the
    // columns of all interfaces line up.
    void advance(omrt::MonoUs now);
};

struct IfaceState {
    std::string name;
    std::string device;
    omrt::Health status = omrt::Health::Unknown;
    omrt::Reason reason = omrt::Reason::pending;
    std::string message = "not checked yet";
    double latency_ms = kNoValue;
    double loss_pct = kNoValue;
    double jitter_ms = kNoValue;
    omrt::WallUs since_us = 0; // wall time of the last status change (or of creation)
    uint64_t transitions = 0;
    LatencyHistory history;
    // Probes sent through this interface and what became of them (all families, all
    // methods), since the daemon started.
    uint64_t probes_sent = 0;
    uint64_t probes_replies = 0;
    uint64_t probes_timeouts = 0;
    uint64_t probes_errors = 0; // ICMP errors, send errors
    // ICMP messages received on this interface's sockets that answered none of our
    // probes (icmp::Counters): another id or an unmatched sequence/source, a second answer
    // to one probe, an answer after the probe's timeout, a packet failing validation.
    uint64_t ignored_foreign = 0;
    uint64_t ignored_duplicate = 0;
    uint64_t ignored_late = 0;
    uint64_t ignored_malformed = 0;
};

// One (WAN, address) check of a server: which WAN can reach the VPS (reference §7 #3110).
struct ServerWan {
    std::string wan;
    std::string addr;
    bool ok = false;
    omrt::Reason reason = omrt::Reason::pending;
    std::string message;
    double rtt_ms = kNoValue;
    std::string public_ip; // GET /clienthost through this WAN, when known
};

struct ServerState {
    std::string name;                   // UCI section of openmptcprouter
    std::string host;                   // the configured `ip` entries, space separated
    std::vector<std::string> addresses; // resolved, in use
    omrt::Health status = omrt::Health::Unknown;
    omrt::Reason reason = omrt::Reason::pending;
    std::string message = "not checked yet";
    bool current = false;
    bool master = false;
    bool backup = false;
    omrt::WallUs since_us = 0;
    uint64_t transitions = 0;
    std::string in_use;          // the address that answered last ("" unknown)
    std::vector<ServerWan> wans; // the last round's lanes
    uint64_t checks = 0;         // rounds made
    uint64_t api_checks = 0;     // API requests (health, token, status, clienthost)
    uint64_t failovers = 0;      // times it became current after another one
};

// Adds module-specific fields to a server's JSON object (the DNS diagnosis).
class BoardExtension {
public:
    virtual void write_server_extra(core::JsonWriter &w, const ServerState &s) = 0;

protected:
    ~BoardExtension() = default;
};

// Receives each significant change (watch clients of the control socket).
class BoardListener {
public:
    virtual void on_board_changed() = 0;

protected:
    ~BoardListener() = default;
};

class Board {
public:
    Board(core::Loop &loop, const omrt::Clock &clock);
    ~Board();
    Board(const Board &) = delete;
    Board &operator=(const Board &) = delete;

    // Status file; empty path = none. Writes are coalesced: a significant change is
    // written at the end of the loop iteration that made it, a metrics-only change at
    // most every |metrics_interval_s|.
    void set_status_file(const std::string &path, double metrics_interval_s = 5.0);

    // Reconciles the entries with the configured names (reload): entries whose name
    // stays keep their state; new ones start UNKNOWN/pending; others are dropped.
    void sync_interfaces(const std::vector<std::string> &names);
    void sync_servers(const std::vector<std::string> &names);

    // Pointers stay valid until the next sync_*().
    IfaceState *iface(const std::string &name);
    ServerState *server(const std::string &name);
    const std::vector<IfaceState> &ifaces() const { return ifaces_; }
    const std::vector<ServerState> &servers() const { return servers_; }

    // Records a verdict. A change of status stamps `since`, counts a transition and is
    // significant, and so is a change of reason; a new message alone is published at the
    // measurement rate (messages carry measurements that change every cycle).
    void set_iface_verdict(const std::string &name, omrt::Health h, omrt::Reason r,
                           const std::string &message);
    void set_server_verdict(const std::string &name, omrt::Health h, omrt::Reason r,
                            const std::string &message);
    // Any other field changed through iface()/server(): tells the board to publish.
    void changed(bool significant);
    // Writes a pending change now (shutdown), instead of at the end of the iteration.
    void flush_now();

    // The whole status document (the JSON contract of DESIGN.md "Status").
    std::string to_json();
    void write_json(core::JsonWriter &w);

    // Listeners are called once per loop iteration that made significant changes, after
    // the status file was written. A listener may remove itself (or another one) while
    // being called; it must not destroy the Board.
    void set_extension(BoardExtension *e) { ext_ = e; }
    void add_listener(BoardListener *l);
    void remove_listener(BoardListener *l);

    // Daemon self-measurements reported in "daemon".
    void set_loop_lag_ms(double lag_ms) { loop_lag_ms_ = lag_ms; }
    omrt::MonoUs started_us() const { return started_us_; }
    uint64_t status_writes() const { return writes_; }
    uint64_t status_write_failures() const { return write_failures_; }
    // Empty after a successful write; else why the last write failed (path and errno).
    const std::string &last_write_error() const { return write_error_; }

private:
    void publish_now();
    void write_status_file();
    void notify();
    static void on_flush(void *ctx) noexcept;

    core::Loop &loop_;
    const omrt::Clock &clock_;
    std::vector<IfaceState> ifaces_;
    std::vector<ServerState> servers_;
    std::vector<BoardListener *> listeners_;
    BoardExtension *ext_ = nullptr;
    std::string status_file_;
    double metrics_interval_s_ = 5.0;
    bool dirty_ = false;
    bool significant_ = false;
    bool flush_soon_ = false; // flush_ runs with 0 delay (end of this iteration)
    bool notifying_ = false;
    omrt::MonoUs last_write_us_ = 0;
    core::Timer flush_;
    omrt::MonoUs started_us_;
    double loop_lag_ms_ = 0;
    uint64_t writes_ = 0;
    uint64_t write_failures_ = 0;
    std::string write_error_;
    core::LogLimiter write_log_limit_;
};

} // namespace status
