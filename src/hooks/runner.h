// Post-tracking hook runner (issue 4 "Post-tracking hooks", issue 6 server hooks,
// reference §4; STYLE.md §12). One HookRunner per hook directory
// (/usr/share/omr/post-tracking.d, server-post-tracking.d, ...).
//
// request(key, env, kind) asks for one "run" for |key| (an interface or server name):
// every regular executable file of the directory, listed when the run starts, in
// strcmp order, one after the other, each in its own process. Runs are serialised per
// key and concurrent across keys, with a global cap on hook processes. request() never
// blocks and never starts anything itself: the work happens in later loop iterations.
//
// Each hook is executed as [interpreter, "-c", <constant script>, <hook path>, <libs>...]
// (reference §4.1, without ever building a command string from data): the script
// sources the OpenWrt helper libraries that exist, defines `_log`, then sources the
// hook, so `exit` ends only that hook, the shebang is ignored as before, and the hook
// sees exactly PATH plus the variables of |env|. stdin is /dev/null; stdout and stderr
// (one pipe) and `_log` (a second pipe on fd 3) are read by the loop and logged line by
// line under the tag "<tag_prefix><hook file name>", like `logger -t` did.
//
// Lifetime: the runner must outlive nothing it hands out; listener callbacks may call
// request()/drop_queued() but must not destroy the runner.
#pragma once

#include "core/fd.h"
#include "core/log.h"
#include "core/loop.h"
#include "hooks/env.h"
#include "hooks/queue.h"

#include <omrt/clock.h>

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hooks {

struct HookOptions {
    std::string dir = "/usr/share/omr/post-tracking.d";
    // Names this runner in the daemon's own messages ("wan1: post-tracking hook ...").
    std::string name = "post-tracking";
    // Syslog tag of a hook's lines: prefix + hook file name (reference §4.1, §8.1 #12).
    std::string tag_prefix = "post-tracking-";
    // Empty: /bin/bash if it is executable (stock hooks were sourced by bash), else /bin/sh.
    std::string interpreter;
    // Sourced before each hook when they exist (reference §4.1); configurable for tests.
    std::vector<std::string> libraries = {"/lib/functions.sh", "/lib/functions/network.sh",
                                          "/usr/lib/unbound/iptools.sh"};
    // 002-error legitimately sleeps the modem's `delay` (120 s and more) and 022-speedtest
    // runs six speed tests: 300 s bounds a wedged hook without killing those.
    int64_t timeout_ms = 300 * 1000;
    // SIGTERM -> SIGKILL, like procd's term_timeout.
    int64_t kill_grace_ms = 5000;
    // After a hook exits, output its background children still write is read this long,
    // then the pipes are closed (later writes fail with EPIPE).
    int64_t output_linger_ms = 1000;
    // The destructor waits at most this long for SIGKILLed hooks to be reaped.
    int64_t shutdown_wait_ms = 200;
    unsigned max_concurrent = 4;         // hook processes alive at once, all keys together
    unsigned max_queued_transitions = 8; // per key, plus one pending periodic run
    unsigned max_lines_per_hook = 200;   // per channel (output, _log) and hook process
    unsigned max_line_bytes = 900;       // longer lines are cut
    unsigned max_hooks = 256;            // directory entries considered per run
    int output_level = LOG_INFO;         // stdout/stderr lines (discarded before: A.15)
    int log_level = LOG_NOTICE;          // `_log` lines: logger's default user.notice
};

// How one hook process ended.
struct HookResult {
    int wait_status = 0; // waitpid() status word
    bool exited = false; // WIFEXITED
    int exit_code = 0;
    int signal = 0;         // WTERMSIG when killed by a signal
    bool timed_out = false; // the runner sent SIGTERM because of the timeout
    bool killed = false;    // the runner sent SIGKILL
    bool stopped = false;   // terminated by stop()
    int64_t elapsed_us = 0; // spawn to exit, monotonic
    bool ok() const { return exited && exit_code == 0; }
};

class HookListener {
public:
    // Right after fork() returned in the parent; |at| is the monotonic time then.
    virtual void on_hook_started(const std::string &key, const std::string &hook, pid_t pid,
                                 omrt::MonoUs at) = 0;
    // When the hook process was reaped (its output may still be being read).
    virtual void on_hook_finished(const std::string &key, const std::string &hook, pid_t pid,
                                  const HookResult &result)
    {
        (void)key;
        (void)hook;
        (void)pid;
        (void)result;
    }
    // The last hook of a run was reaped (or the run had no hook).
    virtual void on_run_finished(const std::string &key) = 0;

protected:
    ~HookListener() = default;
};

struct HookCounters {
    uint64_t requests = 0;
    uint64_t coalesced = 0; // periodic requests merged into a pending one or superseded
    uint64_t dropped = 0;   // transition requests dropped because the queue was full
    uint64_t runs_started = 0;
    uint64_t runs_completed = 0;
    uint64_t hooks_started = 0;
    uint64_t hooks_failed = 0;    // non-zero exit or killed by a signal (timeouts included)
    uint64_t hooks_timed_out = 0; // SIGTERM sent at the timeout
    uint64_t hooks_killed = 0;    // SIGKILL sent (grace expired, or shutdown)
    uint64_t spawn_errors = 0;
    uint64_t lines_logged = 0;
    uint64_t lines_suppressed = 0;
    uint64_t bytes_read = 0;
};

class HookRunner {
public:
    HookRunner(core::Loop &loop, const omrt::Clock &clock, HookOptions opts,
               HookListener *listener = nullptr);
    // SIGKILLs every hook still running (and the process groups of timed-out hooks)
    // and reaps them, waiting at most options().shutdown_wait_ms.
    ~HookRunner();
    HookRunner(const HookRunner &) = delete;
    HookRunner &operator=(const HookRunner &) = delete;

    // Queues a run for |key| (rules in queue.h). Ignored after stop().
    void request(const std::string &key, HookEnv env, RunKind kind);
    // Forgets the pending runs of |key| (interface removed on reload); a running hook
    // and the rest of its run go on.
    void drop_queued(const std::string &key);
    // Shutdown, step 1: drops every queued run, starts no new hook, sends SIGTERM to
    // the process group of every running hook (SIGKILL follows after kill_grace_ms if
    // the loop still runs). Returns at once; running() tells when they are gone.
    void stop();
    // Applies to hooks started from now on (SIGHUP reload). A relative dir is taken
    // relative to the daemon's cwd now (hooks themselves run in "/").
    void set_options(HookOptions opts);

    const HookOptions &options() const { return opts_; }
    const std::string &interpreter() const { return interpreter_; }
    const HookCounters &counters() const { return counters_; }
    // Hook processes not yet reaped.
    unsigned running() const { return running_; }
    // A run of |key| is in progress or queued.
    bool busy(const std::string &key) const;
    // Nothing running, nothing queued, no output still being read.
    bool idle() const;

private:
    struct KeyState;
    class Child;

    void kick();
    void pump();
    void advance(KeyState &ks);
    void start_next_hook(KeyState &ks);
    bool spawn(KeyState &ks, const std::string &hook);
    void drain(Child &c, bool log_channel, int max_reads);
    void child_exited(Child &c);
    void child_timer(Child &c);
    void child_done(Child &c);
    void list_hooks(std::vector<std::string> &out);
    void resolve_interpreter();
    void log_exit(Child &c, KeyState &ks);

    core::Loop &loop_;
    const omrt::Clock &clock_;
    HookOptions opts_;
    HookListener *listener_;
    std::string interpreter_;
    core::UniqueFd devnull_;
    int max_fd_ = 1024;
    bool stopping_ = false;
    unsigned running_ = 0;
    HookCounters counters_;
    core::LogLimiter dir_limiter_;
    core::LogLimiter spawn_limiter_;
    std::map<std::string, std::unique_ptr<KeyState>> keys_;
    std::deque<KeyState *> ready_; // keys waiting for a process slot, FIFO
    std::list<std::unique_ptr<Child>> children_;
    char read_buf_[16384];
    core::Timer kick_; // zero-delay: request() never does the work itself
};

} // namespace hooks
