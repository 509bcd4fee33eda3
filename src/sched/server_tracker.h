// The server tracker's driver: one ServerMachine per VPS, the checks they ask for
// (HTTPS API requests through api::ApiClient, ICMP echoes through icmp::Prober), both
// bound to each WAN's device, and the choice of the current server among masters and
// backups, with omr-tracker-server's log lines (tag OMR-Tracker-Server, reference §5.2)
// and the server-post-tracking.d hooks on every change.
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

class ServerTracker final : private icmp::ProbeListener {
public:
    ServerTracker(core::Loop &loop, const omrt::Clock &clock, status::Board &board,
                  hooks::HookRunner *hooks);
    ~ServerTracker();
    ServerTracker(const ServerTracker &) = delete;
    ServerTracker &operator=(const ServerTracker &) = delete;

    // Names of `ip` entries are resolved through |book| (may be null: literals only).
    void set_address_book(AddressBook *book) { book_ = book; }
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
    static void on_api_result(void *ctx, const api::CheckResult &r) noexcept;
    static void on_auth_result(void *ctx, const api::CheckResult &r) noexcept;

    void start_check(Server &s, uint32_t id, CheckType t, const std::string &wan,
                     const omrt::IpAddr &addr, int64_t timeout_us);
    void cancel_check(Server &s, uint32_t id);
    void on_verdict(Server &s, const ServerVerdict &v);
    void maybe_auth(Server &s, const ServerVerdict &v);
    void update_current(const char *why);
    void run_hooks(Server &s, const char *event);
    api::ApiClient &client_for(Server &s, const std::string &wan, const omrt::IpAddr &addr);
    Wan *find_wan(const std::string &name);
    icmp::Prober *prober_for(const std::string &wan, int family);
    Server *find(const std::string &name);
    std::vector<ServerEntry> entries_of(const cfg::Server &sc) const;
    void finish_op(uint64_t op_id, const CheckOutcome &o);
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
