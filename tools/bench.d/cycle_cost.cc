// omrt-bench-cycle: the cost of interface-tracker cycles, for tools/bench (section 6).
//
// The real modules of one tracked interface, wired as the daemon wires them: the UCI
// configuration (config), the netlink monitor, the status board and one IfaceTracker with
// its ICMP probers. The only difference from the daemon: each verdict asks for the next
// cycle at once (IfaceTracker::recheck from a 0 s timer) instead of after `interval`, so
// the cycles run back to back. No hooks, no status file, no control socket, no DNS (the
// servers' `ip` entries must be literal addresses).
//
//   omrt-bench-cycle -C DIR -i IFACE [-w WARMUP] [-n CYCLES]
//
// Prints one JSON line: the cycles counted, the echoes sent per cycle and the CPU time
// per cycle (getrusage of this process over the counted cycles). Under
// `valgrind --tool=callgrind` the counters are zeroed at the WARMUP-th verdict and dumped
// at the (WARMUP+CYCLES)-th: the dump holds exactly CYCLES cycles, from the end of one
// verdict to the end of the CYCLES-th next (timer wake-up, echoes sent, replies read and
// matched, window statistics, verdict, status board update, libev and libc included).
#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "netlink/monitor.h"
#include "omrt/clock.h"
#include "omrt/ipaddr.h"
#include "sched/iface_tracker.h"
#include "status/board.h"

#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>
#include <vector>

namespace {

double cpu_us()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

class Driver final : public sched::IfaceObserver {
public:
    Driver(core::Loop &loop, unsigned warmup, unsigned cycles)
        : loop_(loop), warmup_(warmup), cycles_(cycles),
          next_(loop, core::member<Driver, &Driver::on_next>, this),
          watchdog_(loop, core::member<Driver, &Driver::on_watchdog>, this)
    {
        watchdog_.start(120.0);
    }

    void set_tracker(sched::IfaceTracker *t) { tracker_ = t; }
    bool done() const { return verdicts_ >= warmup_ + cycles_; }
    bool all_ok() const { return !failed_; }
    double cpu_per_cycle_us() const { return (cpu_end_ - cpu_start_) / cycles_; }
    uint64_t sent_in_region() const { return sent_end_ - sent_start_; }

    void on_iface_verdict(const std::string &, const sched::Verdict &v) override
    {
        if (done())
            return;
        verdicts_++;
        if (v.status != omrt::Health::Ok)
            failed_ = true;
        if (verdicts_ == warmup_) {
            sent_start_ = sent();
            cpu_start_ = cpu_us();
            CALLGRIND_ZERO_STATS;
        } else if (verdicts_ == warmup_ + cycles_) {
            CALLGRIND_DUMP_STATS_AT("omrt-bench-cycle");
            cpu_end_ = cpu_us();
            sent_end_ = sent();
            loop_.break_loop();
            return;
        }
        // The next cycle at once, from the loop (never from inside the verdict).
        next_.start(0.0);
    }
    void on_iface_link_changed(const std::string &) override {}

private:
    uint64_t sent() const
    {
        return tracker_ ? tracker_->prober(0).counters().sent + tracker_->prober(1).counters().sent
                        : 0;
    }
    void on_next()
    {
        if (tracker_)
            tracker_->recheck();
    }
    void on_watchdog()
    {
        std::fprintf(stderr, "omrt-bench-cycle: no result within 120 s (%u verdicts)\n", verdicts_);
        failed_ = true;
        loop_.break_loop();
    }

    core::Loop &loop_;
    unsigned warmup_, cycles_;
    unsigned verdicts_ = 0;
    bool failed_ = false;
    double cpu_start_ = 0, cpu_end_ = 0;
    uint64_t sent_start_ = 0, sent_end_ = 0;
    sched::IfaceTracker *tracker_ = nullptr;
    core::Timer next_;
    core::Timer watchdog_;
};

int usage()
{
    std::fprintf(stderr, "usage: omrt-bench-cycle -C DIR -i IFACE [-w WARMUP] [-n CYCLES]\n");
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    std::string dir, iface;
    unsigned warmup = 3, cycles = 10;
    for (int c; (c = getopt(argc, argv, "C:i:w:n:")) != -1;) {
        switch (c) {
        case 'C':
            dir = optarg;
            break;
        case 'i':
            iface = optarg;
            break;
        case 'w':
            warmup = unsigned(std::strtoul(optarg, nullptr, 10));
            break;
        case 'n':
            cycles = unsigned(std::strtoul(optarg, nullptr, 10));
            break;
        default:
            return usage();
        }
    }
    if (dir.empty() || iface.empty() || warmup < 1 || cycles < 1)
        return usage();
    core::log_init("omrt-bench-cycle", core::LogSink::Stderr, LOG_WARNING);

    cfg::Config conf;
    std::vector<cfg::Diag> errors;
    if (!cfg::load_config(dir, conf, errors)) {
        for (const cfg::Diag &d : errors)
            std::fprintf(stderr, "%s\n", d.format().c_str());
        return 1;
    }
    const cfg::Interface *ifc = conf.find_interface(iface);
    if (!ifc) {
        std::fprintf(stderr, "omrt-bench-cycle: %s is not a tracked interface of %s\n",
                     iface.c_str(), dir.c_str());
        return 1;
    }

    omrt::SystemClock clock;
    core::Loop loop;
    status::Board board(loop, clock);
    board.sync_interfaces({iface});
    nl::Monitor netlink(loop, clock);
    std::string err;
    if (!netlink.start(&err)) {
        std::fprintf(stderr, "omrt-bench-cycle: netlink: %s\n", err.c_str());
        return 1;
    }
    sched::TargetRegistry registry;
    Driver driver(loop, warmup, cycles);
    sched::TrackerServices svc{loop, clock, board, nullptr, &netlink, &registry, &driver};
    sched::IfaceContext ctx;
    ctx.ipv6_disabled = conf.settings.disable_ipv6;
    sched::IfaceTracker tracker(svc, *ifc, ctx);
    driver.set_tracker(&tracker);

    // The targets, as the daemon feeds them (Daemon::feed_targets), literal addresses only.
    std::vector<sched::Target> servers[2], hosts[2];
    for (const cfg::Server &s : conf.servers)
        for (const std::string &h : s.hosts) {
            omrt::IpAddr a;
            if (!omrt::IpAddr::parse(h, a)) {
                std::fprintf(stderr, "omrt-bench-cycle: server %s: '%s' is not an address\n",
                             s.name.c_str(), h.c_str());
                return 1;
            }
            servers[a.is_v4() ? sched::kV4 : sched::kV6].push_back(sched::Target{a, s.name});
        }
    for (unsigned f = 0; f < 2; f++)
        for (const std::string &h : f == sched::kV4 ? ifc->opts.hosts : ifc->opts.hosts6) {
            omrt::IpAddr a;
            if (omrt::IpAddr::parse(h, a) && a.is_v4() == (f == sched::kV4))
                hosts[f].push_back(sched::Target{a, h});
        }
    for (unsigned f = 0; f < 2; f++) {
        tracker.set_servers(f, std::move(servers[f]));
        tracker.set_hosts(f, std::move(hosts[f]));
    }
    tracker.start();
    loop.run();
    netlink.stop();

    if (!driver.done() || !driver.all_ok()) {
        std::fprintf(stderr, "omrt-bench-cycle: %s did not stay OK through the cycles\n",
                     iface.c_str());
        return 1;
    }
    std::printf("{\"cycles\": %u, \"echoes_per_cycle\": %.2f, \"cpu_us_per_cycle\": %.2f}\n",
                cycles, double(driver.sent_in_region()) / cycles, driver.cpu_per_cycle_us());
    return 0;
}
