// The composition root's state: configuration, signals, the status board and the control
// socket, and (as they land) the trackers. main() builds one Daemon on the stack; module
// objects are members in dependency order, so destruction runs in reverse (STYLE.md §2).
#pragma once

#include "config/config.h"
#include "core/loop.h"
#include "hooks/runner.h"
#include "netlink/monitor.h"
#include "omrt/clock.h"
#include "sched/iface_tracker.h"
#include "sched/server_tracker.h"
#include "status/board.h"
#include "status/control.h"

#include <memory>
#include <string>
#include <vector>

namespace daemon_ {

struct Options {
    std::string config_dir = "/etc/config";
    bool log_stderr = false;     // -f
    int log_level = -1;          // -l; -1: from the configuration (default info)
    std::string socket_override; // -s
    std::string status_override; // -o
    std::string user;            // -u (else daemon.user)
};

class Daemon final : public status::ControlHandler,
                     private hooks::HookListener,
                     private sched::IfaceObserver,
                     private sched::AddressListener,
                     private status::BoardExtension {
public:
    Daemon(core::Loop &loop, const omrt::Clock &clock, const Options &opts);
    ~Daemon();
    Daemon(const Daemon &) = delete;
    Daemon &operator=(const Daemon &) = delete;

    // Loads and validates the configuration and opens the control socket. On failure
    // every problem has been logged and the process should exit non-zero.
    bool start();

    // status::ControlHandler
    bool on_recheck(const std::string &name, std::string *err) override;
    bool on_reload(std::vector<std::string> *errors) override;

private:
    // hooks::HookListener
    void on_hook_started(const std::string &key, const std::string &hook, pid_t pid,
                         omrt::MonoUs at) override;
    void on_run_finished(const std::string &key) override;
    // sched::IfaceObserver
    void on_iface_verdict(const std::string &iface, const sched::Verdict &v) override;
    void on_iface_link_changed(const std::string &iface) override;
    // sched::AddressListener
    void on_addresses_changed(const std::string &host, const std::vector<omrt::IpAddr> &old_addrs,
                              const std::vector<omrt::IpAddr> &new_addrs) override;
    // status::BoardExtension
    void write_server_extra(core::JsonWriter &w, const status::ServerState &s) override;
    void update_wans();

    // Builds, updates and removes interface trackers to match |next|.
    void sync_trackers(const cfg::Config &next, const std::vector<std::string> &changed);
    void feed_targets(sched::IfaceTracker &t, const cfg::Config &c);
    sched::IfaceTracker *find_tracker(const std::string &name);
    void shutdown();
    void on_stop_timer();

    // Validates the files first; an invalid set leaves the running configuration alone.
    bool reload(std::vector<std::string> *errors);
    void apply(cfg::Config &&next, bool first);
    std::string effective_socket_path(const cfg::Config &c) const;
    std::string effective_status_file(const cfg::Config &c) const;

    void open_control(const std::string &path);
    void on_reopen();
    void on_signal(int signum);
    void on_lag_tick();

    core::Loop &loop_;
    const omrt::Clock &clock_;
    Options opts_;
    cfg::Config config_;
    bool have_config_ = false;

    status::Board board_;
    sched::TargetRegistry registry_;
    nl::Monitor netlink_;
    bool netlink_ok_ = false;
    std::unique_ptr<hooks::HookRunner> hooks_;
    std::unique_ptr<sched::AddressBook> book_;
    sched::TrackerServices services_;
    std::vector<std::unique_ptr<sched::IfaceTracker>> trackers_;
    std::unique_ptr<hooks::HookRunner> server_hooks_;
    std::unique_ptr<sched::ServerTracker> servers_;
    std::vector<sched::WanView> wan_views_;
    bool stopping_ = false;
    core::Timer stop_timer_;
    std::unique_ptr<status::ControlServer> control_;
    std::string control_path_;
    std::string pending_socket_path_;
    core::Timer reopen_;

    core::SignalWatcher sigterm_;
    core::SignalWatcher sigint_;
    core::SignalWatcher sighup_;
    core::SignalWatcher sigusr1_;

    // Loop lag: how late a periodic timer fires, worst over the last minute.
    core::Timer lag_timer_;
    omrt::MonoUs lag_expected_us_ = 0;
    double lag_window_ms_[30] = {};
    unsigned lag_slot_ = 0;
};

// Prints the effective configuration of |dir| to stdout and every problem to stderr;
// returns the process exit code (0 valid, 1 invalid). No loop, no sockets.
int check_config(const std::string &dir);

} // namespace daemon_
