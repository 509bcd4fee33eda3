// The server tracker's driver: one ServerMachine per VPS, the checks they ask for
// (HTTPS API requests through api::ApiClient, ICMP echoes through icmp::Prober), both
// bound to each WAN's device, and the choice of the current server among masters and
// backups, with omr-tracker-server's log lines (tag OMR-Tracker-Server, reference §5.2).
//
// While a server answers its API, its credentials are confirmed (POST /token, then
// GET /status with the bearer token) after the first verdict, after each recheck and
// every 5 minutes (1 minute after a refusal); a refusal is a note on an OK server.
//
// server-post-tracking.d hooks run (one run per server and event, serialised per
// server) with exactly these variables:
//   OMR_TRACKER_EVENT          status (the server's status changed), current (it became
//                              or stopped being the current server; both servers get a
//                              run), address (the address in use changed, e.g. DDNS)
//   OMR_TRACKER_SERVER         the section name;  _SERVER_IP the address in use;
//   OMR_TRACKER_SERVER_PREV_IP the address in use before the last address change ("")
//   OMR_TRACKER_SERVER_HOST    its `ip` entry;  _SERVER_INDEX that entry's index (the
//                              shell's `count`);  _SERVER_PORT;  _SERVER_MASTER,
//                              _SERVER_BACKUP, _SERVER_CURRENT (0/1)
//   OMR_TRACKER_STATUS         OK, ERROR or "" (not checked yet); _PREV_STATUS the
//                              STATUS of this server's previous run ("" on the first)
//   OMR_TRACKER_REASON         the reason code;  _STATUS_MSG the status message
#pragma once

#include "api/client.h"
#include "api/pins.h"
#include "api/tls.h"
#include "config/config.h"
#include "core/loop.h"
#include "hooks/runner.h"
#include "icmp/prober.h"
#include "omrt/clock.h"
#include "sched/address_book.h"
#include "sched/server_machine.h"
#include "status/board.h"

#include <memory>
#include <string>
#include <vector>

namespace sched {

class ServerTracker final : private icmp::ProbeListener, private HostStateObserver {
public:
    ServerTracker(core::Loop &loop, const omrt::Clock &clock, status::Board &board,
                  hooks::HookRunner *hooks);
    ~ServerTracker();
    ServerTracker(const ServerTracker &) = delete;
    ServerTracker &operator=(const ServerTracker &) = delete;

    // Names of `ip` entries are resolved through |book| (may be null: literals only),
    // which must outlive the tracker. The tracker follows the names' DNS state itself;
    // address changes come through refresh_entries().
    void set_address_book(AddressBook *book);
    // Re-reads the addresses of every entry of every server from the address book.
    void refresh_entries();
    // The servers and their options (start and reload). Unchanged servers keep their
    // state; `enabled 0` in the server section stops the tracker.
    void configure(const cfg::Config &c);
    void start();
    // The WANs to check through (from the interface trackers).
    void set_wans(const std::vector<WanView> &wans);
    // Check now: every server (|name| empty) or one; false if unknown.
    bool recheck(const std::string &name);
    // An interface tracker's probe of a server address failed: worth a look now.
    void on_server_probe_failed(const std::string &wan, const omrt::IpAddr &addr);

    const std::string &current() const { return current_; }
    bool has(const std::string &name) const;
    const ServerMachine *machine(const std::string &name) const;

private:
    struct Server;
    struct Op;
    struct Wan;

    void on_probe_result(const icmp::ProbeResult &r) override;
    void on_host_state_changed(const std::string &host) override;
    static void on_api_result(void *ctx, const api::CheckResult &r) noexcept;
    static void on_auth_result(void *ctx, const api::CheckResult &r) noexcept;
    static void on_clienthost(void *ctx, const api::CheckResult &r) noexcept;
    void maybe_clienthost(Server &s, const ServerVerdict &v);

    void start_check(Server &s, uint32_t id, CheckType t, const std::string &wan,
                     const omrt::IpAddr &addr, int64_t timeout_us);
    void cancel_check(Server &s, uint32_t id);
    void on_verdict(Server &s, const ServerVerdict &v);
    void maybe_auth(Server &s, const ServerVerdict &v);
    // Configures |c| for lane |l| and starts a |kind| check (the server's API requests).
    void api_check(Server &s, api::ApiClient &c, const LaneResult &l, api::CheckKind kind,
                   api::ApiClient::Callback cb, void *ctx);
    void update_current(const char *why);
    void run_hooks(Server &s, const char *event);
    // The lane's API client (created on first use, never reconfigured here: a new target
    // would cancel a running check without calling back).
    api::ApiClient &client_for(Server &s, const std::string &wan, const omrt::IpAddr &addr);
    api::ApiConfig config_for(const Server &s, const std::string &wan, const omrt::IpAddr &addr,
                              int64_t timeout_us);
    void prune_clients(Server &s);
    Wan *find_wan(const std::string &name);
    icmp::Prober *prober_for(const std::string &wan, int family);
    Server *find(const std::string &name);
    std::vector<ServerEntry> entries_of(const cfg::Server &sc) const;
    size_t op_index(uint64_t op_id) const; // ops_.size(): none
    void finish_op(uint64_t op_id, const CheckOutcome &o);
    void fail_later(uint64_t op, CheckOutcome o);
    void on_fail_timer();

    core::Loop &loop_;
    const omrt::Clock &clock_;
    status::Board &board_;
    hooks::HookRunner *hooks_;
    AddressBook *book_ = nullptr;
    cfg::ServerTrackerOptions opts_;
    bool enabled_ = true;
    bool started_ = false;
    api::PinStore pins_;
    std::string pin_path_;
    std::vector<std::unique_ptr<Server>> servers_;
    std::vector<std::unique_ptr<Wan>> wans_;
    std::vector<WanView> wan_views_;
    std::vector<std::unique_ptr<Op>> ops_;
    uint64_t next_op_ = 1;
    std::string current_;
    struct Failed {
        uint64_t op;
        CheckOutcome outcome;
    };
    std::vector<Failed> failed_; // checks that could not start, delivered from the loop
    core::Timer fail_timer_;
};

} // namespace sched
