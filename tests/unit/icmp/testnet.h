// Test scaffolding for the live ICMP tests: private network namespaces, a result collector,
// and a bounded loop runner.
#pragma once

#include "core/loop.h"
#include "icmp/prober.h"

#include <functional>
#include <string>
#include <vector>

namespace testnet {

bool is_root();

// Moves this (single-threaded) test process into a fresh network namespace with lo up,
// and back into the original one on destruction. Sockets opened meanwhile stay in the new
// namespace, which the kernel frees with its last socket: nothing to clean up by name,
// even if the test crashes. Needs CAP_SYS_ADMIN.
class ScopedNetns {
public:
    ScopedNetns() = default;
    ~ScopedNetns();
    ScopedNetns(const ScopedNetns &) = delete;
    ScopedNetns &operator=(const ScopedNetns &) = delete;

    bool enter(std::string *err);
    // Writes a sysctl of the current namespace, e.g. "net/ipv4/ping_group_range".
    static bool sysctl(const char *name, const char *value);
    static std::string read_sysctl(const char *name);

private:
    int orig_ = -1;
};

// Collects results; breaks the loop once |want| results arrived.
struct Collector : icmp::ProbeListener {
    core::Loop *loop = nullptr;
    size_t want = 0;
    bool inside_send = false;           // set by tests around Prober::send()
    bool delivered_inside_send = false; // must stay false (STYLE.md §5)
    std::vector<icmp::ProbeResult> results;
    std::function<void(const icmp::ProbeResult &)> then;

    void on_probe_result(const icmp::ProbeResult &r) override
    {
        if (inside_send)
            delivered_inside_send = true;
        results.push_back(r);
        if (then)
            then(r);
        if (loop && want && results.size() >= want)
            loop->break_loop();
    }
};

// Runs the loop until |pred| holds (checked every millisecond) or |timeout_s| passed.
bool run_until(core::Loop &loop, const std::function<bool()> &pred, double timeout_s);
// Runs the loop until the collector has |n| results or |timeout_s| passed.
bool run_for_results(core::Loop &loop, Collector &c, size_t n, double timeout_s);

omrt::IpAddr addr(const char *text); // a literal; invalid if it is not one

} // namespace testnet
