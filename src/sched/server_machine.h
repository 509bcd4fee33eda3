// The server tracker's decision core: one pure state machine per VPS (a `server` section
// of /etc/config/openmptcprouter), plus pick_current(), which picks the current server
// among masters and backups. No I/O, no clock: time comes with each input, effects go out
// through ServerEffects (STYLE.md practice 9).
//
// What it keeps of omr-tracker-server (reference §5): types api / ping / apiping / none;
// `tries` attempts with `interval_tries` between them; a check round every `interval`;
// master/backup failover with the same log lines. What it changes (DESIGN.md "Server
// tracker"):
//  - a round checks every address of the server through every usable WAN at once
//    (lanes), instead of one interface after the other (≈88 s per WAN in the shell);
//  - the server is declared down when no lane has succeeded by the round's deadline,
//    `timeout` after the round started; the remaining tries go on and a late success
//    brings it back;
//  - an ICMP heartbeat (an echo every 500 ms through every WAN to the address in use,
//    each given 1 s) starts a round as soon as one whole tick goes unanswered, and that
//    round's deadline counts from when the unanswered tick was sent: the server is down
//    `timeout` after it went silent, so a dead master is replaced within timeout + 0.5 s
//    instead of at the next `interval` + `timeout`. Edge-triggered: a VPS that never
//    answers ICMP costs no round. With type `api` the heartbeat only starts rounds; the
//    API alone decides;
//  - `status` means reachability (what failover needs); an API that answers but refuses
//    the credentials keeps the server OK with reason api_auth_rejected, and so does a
//    DNS refresh that fails while the last good answer is still used (dns_* reason);
//  - the address in use is deterministic: the first answering one in `ip` entry order
//    and answer order (A before AAAA), so a dual-stack server does not hop between its
//    addresses depending on which reply came first.
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
    // ICMP heartbeat (every type but none): one echo per usable WAN every heartbeat_us,
    // each lost after heartbeat_timeout_us. 0: no heartbeat.
    int64_t heartbeat_us = 500 * 1000;
    int64_t heartbeat_timeout_us = 1 * omrt::kUsPerS;
    int64_t trigger_gap_us = 2 * omrt::kUsPerS; // rounds triggered early at most this often
    // Before the first "up" verdict names an address, answers through addresses earlier
    // in order (A before AAAA) are awaited this long.
    int64_t prefer_wait_us = 500 * 1000;

    static ServerParams from_config(const cfg::ServerTrackerOptions &o);
};

// One `ip` entry of the server, as resolved (literal entries resolve to themselves).
struct ServerEntry {
    std::string text;                // as configured: an address or a host name
    std::vector<omrt::IpAddr> addrs; // usable addresses, in answer order (may be stale)
    // The last DNS refresh: ok, or why it failed (dns_*; pending before the first
    // answer). With addrs non-empty the addresses are the last good answer, kept.
    omrt::Reason dns_reason = omrt::Reason::ok;
    std::string dns_message;
    bool stale = false; // addrs come from an earlier answer than the last refresh
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

    // Parameters are fixed for the machine's life: a reload that changes them builds a
    // new machine (the server starts over from UNKNOWN, like its status entry).
    void start(omrt::MonoUs now);
    // Addresses changed (DNS, DDNS): a round starts at once when they differ. A change of
    // the DNS state alone (a refresh failed, the answer went stale) only updates the
    // reason of an OK server.
    void set_entries(std::vector<ServerEntry> entries, omrt::MonoUs now);
    void set_wans(std::vector<WanView> wans, omrt::MonoUs now);
    void on_check_result(uint32_t id, const CheckOutcome &o, omrt::MonoUs now);
    void on_timer(omrt::MonoUs now);
    // Check now (recheck, a WAN came back, an interface probe of the server failed);
    // rate-limited to one per trigger_gap_us. A round already running goes on, unless
    // its verdict is out and |restart_decided|: then it starts over.
    void trigger(omrt::MonoUs now, const char *why, bool restart_decided = false);
    // The API refused our credentials (or accepted them again): shown as the reason of
    // an OK server, never a cause of failover.
    void set_auth(omrt::Reason r, const std::string &message, omrt::MonoUs now);

    const std::string &name() const { return name_; }
    omrt::Health status() const { return status_; }
    omrt::Reason reason() const { return reason_; }
    const std::vector<ServerEntry> &entries() const { return entries_; }
    const std::vector<LaneResult> &lanes() const { return lanes_; }
    bool round_running() const { return round_; }
    // When the running round's verdict falls if no lane answers (0: no round running).
    omrt::MonoUs round_deadline() const { return round_ ? deadline_ : 0; }
    uint64_t rounds() const { return rounds_; }
    // Why the last round started ("interval", "recheck", "no ICMP answer through any
    // WAN", ...): a static string.
    const char *round_why() const { return round_why_; }
    uint64_t triggered_rounds() const { return triggered_; }
    bool heartbeat_alive() const { return hb_alive_; }
    // The address that answered last (else the first known); entry index in |entry|.
    omrt::IpAddr current_addr(unsigned *entry) const;

private:
    struct Flight {
        uint32_t id;
        unsigned lane;
        CheckType type;
        uint32_t tick; // heartbeat tick (0: a round's check)
        unsigned attempt;
    };
    struct LaneState {
        unsigned entry;        // index of the lane's `ip` entry
        unsigned attempts;     // attempts started in this round
        omrt::MonoUs next_try; // when the next attempt starts (0: none waiting)
    };
    struct Tick {
        uint32_t seq;
        omrt::MonoUs sent;
        unsigned pending;
        bool replied;
    };
    enum class Restart : uint8_t {
        never,   // a running round goes on
        decided, // ... unless its verdict is out
        silence, // ... unless its verdict is out or its deadline is later than the silence's
        always,  // start over
    };

    void request_round(omrt::MonoUs now, const char *why, Restart r, omrt::MonoUs silence);
    void start_round(omrt::MonoUs now, const char *why, omrt::MonoUs silence);
    void abort_round();
    void launch_attempt(unsigned lane, omrt::MonoUs now);
    bool up_pending() const;
    void decide_up(omrt::MonoUs now);
    void deadline_passed(omrt::MonoUs now);
    void finish_round(omrt::MonoUs now);
    void publish(omrt::MonoUs now, bool success);
    void heartbeat(omrt::MonoUs now);
    void on_tick_result(const Flight &f, bool ok, omrt::MonoUs now);
    void schedule_wake();
    uint32_t send(CheckType t, unsigned lane, uint32_t tick, unsigned attempt, int64_t timeout_us,
                  const std::string &wan, const omrt::IpAddr &addr);
    void build_lanes();
    omrt::MonoUs deadline_for(omrt::MonoUs now, omrt::MonoUs silence) const;
    int pick_lane() const;
    bool earlier_address_pending(int lane) const;
    bool lane_ok(const LaneResult &l) const;
    bool heartbeat_on() const;
    bool wants_api() const;
    bool wants_ping() const;

    std::string name_;
    ServerParams p_;
    ServerEffects &fx_;
    std::vector<ServerEntry> entries_;
    std::vector<WanView> wans_;
    std::vector<LaneResult> lanes_;
    std::vector<LaneState> lane_st_; // one per lane
    std::vector<Flight> flights_;
    uint32_t next_id_ = 1;

    bool started_ = false;
    bool round_ = false;
    bool decided_ = false; // this round's verdict is out (success, or the deadline passed)
    omrt::MonoUs round_start_ = 0;
    omrt::MonoUs deadline_ = 0;
    omrt::MonoUs first_ok_ = 0; // first lane success of this round (0: none yet)
    omrt::MonoUs next_round_ = 0;
    omrt::MonoUs last_trigger_ = INT64_MIN / 2;
    // A trigger held back by trigger_gap_us, applied when the gap has passed.
    bool held_ = false;
    Restart held_restart_ = Restart::never;
    omrt::MonoUs held_silence_ = 0;
    const char *held_why_ = "";

    std::vector<Tick> ticks_; // heartbeat ticks in flight
    uint32_t tick_seq_ = 0;
    uint32_t tick_judged_ = 0; // newest tick whose outcome was taken into account
    omrt::MonoUs next_heartbeat_ = 0;
    bool hb_alive_ = false; // the newest judged tick got an answer
    uint64_t rounds_ = 0;
    uint64_t triggered_ = 0;
    const char *round_why_ = "";

    omrt::Health status_ = omrt::Health::Unknown;
    omrt::Reason reason_ = omrt::Reason::pending;
    omrt::Reason auth_reason_ = omrt::Reason::ok;
    std::string auth_message_;
    omrt::IpAddr last_ok_addr_;
    unsigned last_ok_entry_ = 0;
    // The last success's own account (before the credentials' and DNS notes).
    omrt::Reason base_reason_ = omrt::Reason::ok;
    std::string base_message_;
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

// Returns the current server's name for |servers| given the |previous| current one.
std::string pick_current(const std::vector<ServerRole> &servers, const std::string &previous);

} // namespace sched
