// The server tracker's decision core: one pure state machine per VPS (a `server` section
// of /etc/config/openmptcprouter), plus ServerSet, which picks the current server among
// masters and backups. No I/O, no clock: time comes with each input, effects go out
// through ServerEffects (STYLE.md practice 9).
//
// What it keeps of omr-tracker-server (reference §5): types api / ping / apiping / none;
// `tries` attempts with `interval_tries` between them; a check round every `interval`;
// master/backup failover with the same log lines. What it changes (DESIGN.md §8):
//  - a round checks every address of the server through every usable WAN at once
//    (lanes), instead of one interface after the other (≈88 s per WAN in the shell);
//  - the server is declared down `timeout` after the round started when no lane has
//    succeeded by then; the remaining tries go on and a late success brings it back;
//  - for ping and apiping, a 1 s ICMP heartbeat through every WAN triggers a round as soon
//    as no WAN gets an answer, so a dead master is noticed within about a second, not at
//    the next `interval`;
//  - `status` means reachability (what failover needs); an API that answers but refuses
//    the credentials keeps the server OK with reason api_auth_rejected.
#pragma once

#include "config/config.h"
#include "omrt/clock.h"
#include "omrt/ipaddr.h"
#include "omrt/reason.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sched {

struct ServerParams {
    cfg::ServerCheck type = cfg::ServerCheck::apiping;
    unsigned tries = 4;
    int64_t timeout_us = 5 * omrt::kUsPerS;
    int64_t interval_us = 10 * omrt::kUsPerS;
    int64_t interval_tries_us = 2 * omrt::kUsPerS;
    int64_t heartbeat_us = 1 * omrt::kUsPerS;   // 0: no heartbeat
    int64_t trigger_gap_us = 2 * omrt::kUsPerS; // rounds triggered early at most this often

    static ServerParams from_config(const cfg::ServerTrackerOptions &o);
};

// One `ip` entry of the server, as resolved (literal entries resolve to themselves).
struct ServerEntry {
    std::string text;                           // as configured: an address or a host name
    std::vector<omrt::IpAddr> addrs;            // usable addresses, in answer order
    omrt::Reason dns_reason = omrt::Reason::ok; // why addrs is empty (dns_*), else ok
    std::string dns_message;
};

// A WAN the checks can go through.
struct WanView {
    std::string name; // UCI interface, e.g. "wan1"
    std::string device;
    bool usable = false;
    omrt::IpAddr src[2]; // source address per family (invalid: family not available)
};

enum class CheckType : uint8_t { api, ping };

struct CheckOutcome {
    bool ok = false;
    omrt::Reason reason = omrt::Reason::internal;
    std::string message;
    int64_t rtt_us = -1;
};

// The result of one (WAN, address) lane, kept for the status ("which WAN cannot reach
// the VPS", reference §7 #3110).
struct LaneResult {
    std::string wan;
    omrt::IpAddr addr;
    bool api_ok = false;
    bool ping_ok = false;
    bool api_tried = false;
    bool ping_tried = false;
    omrt::Reason reason = omrt::Reason::pending;
    std::string message;
    int64_t rtt_us = -1;
};

struct ServerVerdict {
    omrt::Health status = omrt::Health::Unknown;
    omrt::Health prev = omrt::Health::Unknown;
    omrt::Reason reason = omrt::Reason::pending;
    bool transition = false;
    std::string message;
    omrt::IpAddr addr;  // the address in use (answered), else the first known
    unsigned entry = 0; // index of its `ip` entry (the shell's `count`)
    std::vector<LaneResult> lanes;
};

class ServerEffects {
public:
    virtual void start_check(uint32_t id, CheckType t, const std::string &wan,
                             const omrt::IpAddr &addr, int64_t timeout_us) = 0;
    virtual void cancel_check(uint32_t id) = 0;
    virtual void wake_at(omrt::MonoUs t) = 0;
    virtual void on_server_verdict(const ServerVerdict &v) = 0;

protected:
    ~ServerEffects() = default;
};

class ServerMachine {
public:
    ServerMachine(std::string name, const ServerParams &p, ServerEffects &fx);
    ServerMachine(const ServerMachine &) = delete;
    ServerMachine &operator=(const ServerMachine &) = delete;

    void start(omrt::MonoUs now);
    void set_params(const ServerParams &p, omrt::MonoUs now);
    // Addresses changed (DNS, DDNS): a round starts at once when they differ.
    void set_entries(std::vector<ServerEntry> entries, omrt::MonoUs now);
    void set_wans(std::vector<WanView> wans, omrt::MonoUs now);
    void on_check_result(uint32_t id, const CheckOutcome &o, omrt::MonoUs now);
    void on_timer(omrt::MonoUs now);
    // Check now (recheck, a WAN came back); rate-limited to one per trigger_gap_us.
    void trigger(omrt::MonoUs now, const char *why);
    // The API refused our credentials (or accepted them again): shown as the reason of
    // an OK server, never a cause of failover.
    void set_auth(omrt::Reason r, const std::string &message, omrt::MonoUs now);

    const std::string &name() const { return name_; }
    omrt::Health status() const { return status_; }
    const std::vector<ServerEntry> &entries() const { return entries_; }
    const std::vector<LaneResult> &lanes() const { return lanes_; }
    bool round_running() const { return round_; }
    uint64_t rounds() const { return rounds_; }
    uint64_t triggered_rounds() const { return triggered_; }
    // The address that answered last (else the first known); entry index in |entry|.
    omrt::IpAddr current_addr(unsigned *entry) const;

private:
    struct Flight {
        uint32_t id;
        unsigned lane;
        CheckType type;
        bool heartbeat;
        unsigned attempt;
    };

    void start_round(omrt::MonoUs now, const char *why);
    void launch_attempt(unsigned lane, omrt::MonoUs now);
    void round_deadline(omrt::MonoUs now);
    void finish_round(omrt::MonoUs now);
    void publish(omrt::MonoUs now, bool success);
    void heartbeat(omrt::MonoUs now);
    void schedule_wake();
    uint32_t send(CheckType t, unsigned lane, bool heartbeat, unsigned attempt, int64_t timeout_us);
    void build_lanes();
    bool lane_ok(const LaneResult &l) const;
    bool wants_api() const;
    bool wants_ping() const;

    std::string name_;
    ServerParams p_;
    ServerEffects &fx_;
    std::vector<ServerEntry> entries_;
    std::vector<WanView> wans_;
    std::vector<LaneResult> lanes_;
    std::vector<unsigned> lane_entry_; // entry index of each lane
    std::vector<unsigned> attempts_;   // attempts started per lane in this round
    std::vector<omrt::MonoUs> next_try_;
    std::vector<Flight> flights_;
    uint32_t next_id_ = 1;

    bool started_ = false;
    bool round_ = false;
    bool decided_ = false; // this round already published its verdict
    omrt::MonoUs round_start_ = 0;
    omrt::MonoUs next_round_ = 0;
    omrt::MonoUs last_trigger_ = INT64_MIN / 2;
    omrt::MonoUs next_heartbeat_ = 0;
    unsigned hb_sent_ = 0;    // echoes of the current heartbeat tick
    unsigned hb_replies_ = 0; // answers to them
    unsigned hb_pending_ = 0;
    bool hb_alive_ = false; // the last complete tick got an answer
    uint64_t rounds_ = 0;
    uint64_t triggered_ = 0;

    omrt::Health status_ = omrt::Health::Unknown;
    omrt::Reason reason_ = omrt::Reason::pending;
    omrt::Reason auth_reason_ = omrt::Reason::ok;
    std::string auth_message_;
    omrt::IpAddr last_ok_addr_;
    unsigned last_ok_entry_ = 0;
};

// Which server is current: the first master that is OK, else the first backup that is
// OK, else the previous current one (nothing better to switch to). Pure.
struct ServerRole {
    std::string name;
    bool master = false;
    bool backup = false;
    omrt::Health status = omrt::Health::Unknown;
    omrt::IpAddr addr;
};

struct CurrentChange {
    std::string from; // "" at start
    std::string to;   // "" when there is no server at all
};

// Returns the current server's name for |servers| given the |previous| current one.
std::string pick_current(const std::vector<ServerRole> &servers, const std::string &previous);

} // namespace sched
