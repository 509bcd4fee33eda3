#include "hooks/runner.h"

#include "hooks/lines.h"
#include "hooks/spawn.h"

#include "core/vec.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <dirent.h>
#include <utility>

namespace hooks {

namespace {

// The same for every hook: data only ever reaches it through the environment and the
// argument vector, never through this text. $0 is the hook's path (bash prefixes its
// error messages with it), "$@" the helper libraries. `_log` writes to its own fd so a
// hook's `>/dev/null 2>&1` does not silence it, as with `logger`.
const char kScript[] = "for _omrt_lib do [ -r \"$_omrt_lib\" ] && . \"$_omrt_lib\"; done; "
                       "unset _omrt_lib; set --; "
                       "_log() { printf '%s\\n' \"$*\" >&3; }; "
                       ". \"$0\"";

const char kDefaultPath[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

// A read callback reads at most this many chunks before yielding to the loop, so a
// hook printing without pause cannot starve probing (libev calls again next iteration).
constexpr int kReadsPerWakeup = 8;
// Reads right after the exit, for what the hook wrote before it died.
constexpr int kReadsAtExit = 64;

bool regular_executable(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

double seconds(int64_t us)
{
    return double(us) / 1e6;
}

} // namespace

struct HookRunner::KeyState {
    KeyState(const std::string &k, unsigned max_transitions) : key(k), queue(max_transitions) {}
    std::string key;
    KeyQueue queue;
    bool active = false; // a run is in progress
    Request current;
    std::vector<std::string> hooks; // listed when the run started
    size_t next = 0;                // next hook of |hooks| to start
    Child *child = nullptr;         // its running hook process
    bool in_ready = false;          // waiting in ready_ for a process slot
    // Last wait status per hook, so a hook that fails the same way every cycle (a
    // shell script's last test being false is common) is logged once, not every run.
    std::vector<std::pair<std::string, int>> last_status;
    core::LogLimiter drop_limiter;
};

class HookRunner::Child {
public:
    struct Channel {
        Channel(core::Loop &loop, core::IoWatcher::Callback cb, Child *c, int fd_, bool log_,
                const HookOptions &o)
            : fd(fd_), io(loop, cb, c), lines(o.max_line_bytes, o.max_lines_per_hook), is_log(log_)
        {}
        core::UniqueFd fd; // declared before io: the watcher stops before the fd closes
        core::IoWatcher io;
        LineSplitter lines;
        bool is_log;
    };

    Child(HookRunner &r, KeyState &k, const std::string &h, int out_fd, int log_fd)
        : runner(r), ks(&k), hook(h), tag(r.opts_.tag_prefix + h),
          out(r.loop_, core::member_int<Child, &Child::on_out>, this, out_fd, false, r.opts_),
          log(r.loop_, core::member_int<Child, &Child::on_log>, this, log_fd, true, r.opts_),
          cw(r.loop_, on_exit_cb, this), timer(r.loop_, core::member<Child, &Child::on_timer>, this)
    {}

    void on_out(int) { runner.drain(*this, false, kReadsPerWakeup); }
    void on_log(int) { runner.drain(*this, true, kReadsPerWakeup); }
    void on_timer() { runner.child_timer(*this); }
    static void on_exit_cb(void *ctx, pid_t, int status) noexcept
    {
        auto *c = static_cast<Child *>(ctx);
        c->wait_status = status;
        c->runner.child_exited(*c);
    }

    // The hook's whole process group; the pid itself while setsid() may not have run.
    bool signal_group(int sig)
    {
        if (killpg(pid, sig) == 0)
            return true;
        return errno == ESRCH && !exited && kill(pid, sig) == 0;
    }
    bool channels_open() const { return out.fd.valid() || log.fd.valid(); }

    HookRunner &runner;
    KeyState *ks; // key states live as long as the runner
    std::string hook;
    std::string tag;
    pid_t pid = -1;
    omrt::MonoUs started_us = 0;
    int64_t elapsed_us = 0;
    int wait_status = 0;
    bool exited = false;
    bool term_sent = false;
    bool kill_sent = false;
    bool timed_out = false;
    bool stopped = false;
    bool done = false; // exited and output closed: erased at the next pump()
    Channel out;
    Channel log;
    core::ChildWatcher cw;
    core::Timer timer; // timeout, then grace, then output linger
};

// ---------------------------------------------------------------------------

HookRunner::HookRunner(core::Loop &loop, const omrt::Clock &clock, HookOptions opts,
                       HookListener *listener)
    : loop_(loop), clock_(clock), opts_(std::move(opts)), listener_(listener),
      kick_(loop, core::member<HookRunner, &HookRunner::pump>, this)
{
    resolve_interpreter();
    devnull_.reset(fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC)));
    if (!devnull_) {
        // No /dev/null (broken chroot): a pipe whose write end is closed reads as EOF too.
        int p[2];
        if (pipe2(p, O_CLOEXEC) == 0) {
            close(p[1]);
            devnull_.reset(fd_above_stdio(p[0]));
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        max_fd_ = int(std::min<rlim_t>(rl.rlim_cur, 65536));
}

HookRunner::~HookRunner()
{
    stopping_ = true;
    kick_.stop();
    bool waiting = false;
    for (auto &c : children_) {
        c->timer.stop();
        c->cw.stop();
        if (!c->exited) {
            if (c->signal_group(SIGKILL))
                counters_.hooks_killed++;
            LOGN("%s: %s hook %s (pid %d) killed at shutdown", c->ks->key.c_str(),
                 opts_.name.c_str(), c->hook.c_str(), int(c->pid));
            waiting = true;
        } else if (c->term_sent && !c->kill_sent) {
            killpg(c->pid, SIGKILL); // what is left of a timed-out hook's group
        }
    }
    // Reap without holding up the daemon's exit (procd: SIGKILL after term_timeout; we
    // aim at well under 1 s). SIGKILL is immediate unless a process is in D state.
    for (int64_t waited_ms = 0; waiting && waited_ms <= opts_.shutdown_wait_ms; waited_ms++) {
        waiting = false;
        for (auto &c : children_) {
            if (c->exited)
                continue;
            int st;
            pid_t r = waitpid(c->pid, &st, WNOHANG);
            if (r == c->pid || (r < 0 && errno == ECHILD))
                c->exited = true;
            else
                waiting = true;
        }
        if (waiting) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, nullptr);
        }
    }
    for (auto &c : children_)
        if (!c->exited)
            LOGW("%s: %s hook %s (pid %d) not reaped at shutdown", c->ks->key.c_str(),
                 opts_.name.c_str(), c->hook.c_str(), int(c->pid));
    children_.clear();
}

void HookRunner::resolve_interpreter()
{
    // Hooks run with cwd "/": a relative directory would name another place there.
    if (!opts_.dir.empty() && opts_.dir[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd)))
            opts_.dir = std::string(cwd) + "/" + opts_.dir;
    }
    if (!opts_.interpreter.empty())
        interpreter_ = opts_.interpreter;
    else
        interpreter_ = access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
    if (access(interpreter_.c_str(), X_OK) != 0)
        LOGE("%s hooks: interpreter %s is not executable: %m", opts_.name.c_str(),
             interpreter_.c_str());
}

void HookRunner::set_options(HookOptions opts)
{
    opts_ = std::move(opts);
    resolve_interpreter();
    for (auto &kv : keys_)
        kv.second->queue.set_max_transitions(opts_.max_queued_transitions);
    kick();
}

// ---------------------------------------------------------------------------

void HookRunner::request(const std::string &key, HookEnv env, RunKind kind)
{
    if (stopping_)
        return;
    counters_.requests++;
    auto &slot = keys_[key];
    if (!slot)
        slot = std::make_unique<KeyState>(key, opts_.max_queued_transitions);
    KeyState &ks = *slot;
    Request r;
    r.env = std::move(env);
    r.kind = kind;
    r.queued_us = clock_.mono_us();
    PushOutcome o = ks.queue.push(std::move(r));
    if (o.coalesced || o.superseded_periodic)
        counters_.coalesced++;
    if (o.dropped_transition) {
        counters_.dropped++;
        unsigned more = 0;
        if (ks.drop_limiter.allow(clock_.mono_us(), &more))
            LOGW("%s: %s hooks are behind, %u transition runs waiting: dropped the oldest "
                 "(%u more drops since last said)",
                 key.c_str(), opts_.name.c_str(), opts_.max_queued_transitions, more);
    }
    kick();
}

void HookRunner::drop_queued(const std::string &key)
{
    auto it = keys_.find(key);
    if (it != keys_.end())
        it->second->queue.clear();
}

void HookRunner::stop()
{
    if (stopping_)
        return;
    stopping_ = true;
    kick_.stop();
    for (auto &kv : keys_) {
        kv.second->queue.clear();
        kv.second->in_ready = false;
    }
    ready_.clear();
    for (auto &c : children_) {
        if (c->exited || c->term_sent)
            continue;
        LOGN("%s: stopping %s hook %s (pid %d): SIGTERM to its process group", c->ks->key.c_str(),
             opts_.name.c_str(), c->hook.c_str(), int(c->pid));
        c->signal_group(SIGTERM);
        c->term_sent = true;
        c->stopped = true;
        c->timer.start(double(opts_.kill_grace_ms) / 1e3);
    }
}

bool HookRunner::busy(const std::string &key) const
{
    auto it = keys_.find(key);
    return it != keys_.end() && (it->second->active || !it->second->queue.empty());
}

bool HookRunner::idle() const
{
    if (running_ > 0)
        return false;
    for (auto &c : children_)
        if (!c->done)
            return false;
    for (auto &kv : keys_)
        if (kv.second->active || !kv.second->queue.empty())
            return false;
    return true;
}

// ---------------------------------------------------------------------------

void HookRunner::kick()
{
    if (!stopping_ && !kick_.active())
        kick_.start(0.0);
}

void HookRunner::pump()
{
    children_.remove_if([](const std::unique_ptr<Child> &c) { return c->done; });
    if (stopping_)
        return;
    for (auto &kv : keys_)
        advance(*kv.second);
    unsigned cap = opts_.max_concurrent ? opts_.max_concurrent : 1;
    while (running_ < cap && !ready_.empty() && !stopping_) {
        KeyState *ks = ready_.front();
        ready_.pop_front();
        ks->in_ready = false;
        start_next_hook(*ks);
    }
}

// Moves |ks| forward as far as it can go without a process slot: starts its next queued
// run, finishes a run whose hooks are all done, or queues it for a slot.
void HookRunner::advance(KeyState &ks)
{
    while (!stopping_ && !ks.child && !ks.in_ready) {
        if (!ks.active) {
            if (ks.queue.empty())
                return;
            ks.current = ks.queue.pop();
            ks.active = true;
            ks.next = 0;
            list_hooks(ks.hooks);
            counters_.runs_started++;
            LOGD("%s: %s run (%s) with %zu hooks, queued %.3f s ago", ks.key.c_str(),
                 opts_.name.c_str(), run_kind_name(ks.current.kind), ks.hooks.size(),
                 seconds(clock_.mono_us() - ks.current.queued_us));
        }
        if (ks.next < ks.hooks.size()) {
            ks.in_ready = true;
            ready_.push_back(&ks);
            return;
        }
        ks.active = false;
        counters_.runs_completed++;
        if (listener_)
            listener_->on_run_finished(ks.key); // may call request(): only queues
    }
}

void HookRunner::start_next_hook(KeyState &ks)
{
    while (ks.next < ks.hooks.size()) {
        const std::string hook = ks.hooks[ks.next++];
        if (spawn(ks, hook))
            return;
    }
    advance(ks); // nothing could start: finish the run (and maybe begin the next)
}

void HookRunner::list_hooks(std::vector<std::string> &out)
{
    out.clear();
    DIR *d = opendir(opts_.dir.c_str());
    if (!d) {
        int err = errno;
        unsigned more = 0;
        if (err != ENOENT && dir_limiter_.allow(clock_.mono_us(), &more))
            LOGW("%s hooks: cannot list %s: %s", opts_.name.c_str(), opts_.dir.c_str(),
                 strerror(err));
        return;
    }
    bool too_many = false;
    while (struct dirent *e = readdir(d)) {
        // The shell's glob skipped dot files; "." and ".." go with them.
        if (e->d_name[0] == '.')
            continue;
        if (out.size() >= opts_.max_hooks) {
            too_many = true;
            break;
        }
        if (regular_executable(opts_.dir + "/" + e->d_name))
            out.emplace_back(e->d_name);
    }
    closedir(d);
    if (too_many && dir_limiter_.allow(clock_.mono_us()))
        LOGW("%s hooks: more than %u entries in %s, the rest are ignored", opts_.name.c_str(),
             opts_.max_hooks, opts_.dir.c_str());
    // Byte order, like the shell's glob in the C locale; at most max_hooks names, usually
    // a handful.
    core::sort_small(out,
                     [](const std::string &a, const std::string &b) { return a.compare(b) < 0; });
}

bool HookRunner::spawn(KeyState &ks, const std::string &hook)
{
    std::string path = opts_.dir + "/" + hook;
    if (!regular_executable(path)) {
        LOGD("%s: %s hook %s is gone or no longer executable", ks.key.c_str(), opts_.name.c_str(),
             hook.c_str());
        return false;
    }
    auto fail = [&](const char *what) {
        int err = errno;
        counters_.spawn_errors++;
        unsigned more = 0;
        if (spawn_limiter_.allow(clock_.mono_us(), &more))
            LOGE("%s: cannot start %s hook %s: %s: %s (%u more failures since last said)",
                 ks.key.c_str(), opts_.name.c_str(), hook.c_str(), what, strerror(err), more);
        return false;
    };
    int out[2], lg[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return fail("pipe");
    core::UniqueFd out_r(fd_above_stdio(out[0])), out_w(fd_above_stdio(out[1]));
    if (pipe2(lg, O_CLOEXEC) < 0)
        return fail("pipe");
    core::UniqueFd log_r(fd_above_stdio(lg[0])), log_w(fd_above_stdio(lg[1]));
    if (!out_r || !out_w || !log_r || !log_w || !devnull_)
        return fail("fcntl");
    // Only our read ends are non-blocking: the hook's stdout must block as usual.
    if (fcntl(out_r.get(), F_SETFL, O_NONBLOCK) < 0 || fcntl(log_r.get(), F_SETFL, O_NONBLOCK) < 0)
        return fail("fcntl");

    // Everything the child needs, before fork().
    std::vector<char *> argv;
    argv.reserve(5 + opts_.libraries.size());
    argv.push_back(const_cast<char *>(interpreter_.c_str()));
    argv.push_back(const_cast<char *>("-c"));
    argv.push_back(const_cast<char *>(kScript));
    argv.push_back(const_cast<char *>(path.c_str()));
    for (const std::string &lib : opts_.libraries)
        argv.push_back(const_cast<char *>(lib.c_str()));
    argv.push_back(nullptr);
    const HookEnv &env = ks.current.env;
    std::vector<char *> envp;
    envp.reserve(env.size() + 2);
    if (!env.get("PATH"))
        envp.push_back(const_cast<char *>(kDefaultPath));
    for (const std::string &e : env.entries())
        envp.push_back(const_cast<char *>(e.c_str()));
    envp.push_back(nullptr);

    SpawnSpec spec;
    spec.path = interpreter_.c_str();
    spec.argv = argv.data();
    spec.envp = envp.data();
    spec.stdin_fd = devnull_.get();
    spec.out_fd = out_w.get();
    spec.log_fd = log_w.get();
    spec.max_fd = max_fd_;
    pid_t pid = spawn_hook(spec);
    if (pid < 0)
        return fail("fork");
    omrt::MonoUs now = clock_.mono_us();
    out_w.reset();
    log_w.reset();

    auto child = std::make_unique<Child>(*this, ks, hook, out_r.release(), log_r.release());
    Child &c = *child;
    c.pid = pid;
    c.started_us = now;
    c.cw.start(pid); // before the loop runs again, so the exit cannot be missed
    c.out.io.set(c.out.fd.get(), EV_READ);
    c.out.io.start();
    c.log.io.set(c.log.fd.get(), EV_READ);
    c.log.io.start();
    c.timer.start(double(opts_.timeout_ms) / 1e3);
    children_.push_back(std::move(child));
    ks.child = &c;
    running_++;
    counters_.hooks_started++;
    LOGD("%s: %s hook %s started (pid %d, %s run)", ks.key.c_str(), opts_.name.c_str(),
         hook.c_str(), int(pid), run_kind_name(ks.current.kind));
    if (listener_)
        listener_->on_hook_started(ks.key, hook, pid, now);
    return true;
}

// ---------------------------------------------------------------------------

namespace {

struct EmitCtx {
    const std::string *key;
    const std::string *tag;
    pid_t pid;
    int level;
    bool is_log;
    uint64_t *logged;
};

void emit_line(void *ctx, const char *line, size_t len, bool truncated) noexcept
{
    auto *e = static_cast<EmitCtx *>(ctx);
    (*e->logged)++;
    if (!core::log_enabled(e->level))
        return;
    const char *mark = truncated ? "\xe2\x80\xa6" : ""; // "…"
    if (e->is_log) // `_log` lines verbatim, as `logger -t` wrote them (Appendix B texts)
        core::log_write_tag(e->level, e->tag->c_str(), "%.*s%s", int(len), line, mark);
    else
        core::log_write_tag(e->level, e->tag->c_str(), "%s[%d]: %.*s%s", e->key->c_str(),
                            int(e->pid), int(len), line, mark);
}

} // namespace

void HookRunner::drain(Child &c, bool log_channel, int max_reads)
{
    Child::Channel &ch = log_channel ? c.log : c.out;
    EmitCtx ctx{&c.ks->key, &c.tag,
                c.pid,      ch.is_log ? opts_.log_level : opts_.output_level,
                ch.is_log,  &counters_.lines_logged};
    for (int i = 0; ch.fd.valid() && i < max_reads; i++) {
        ssize_t n = read(ch.fd.get(), read_buf_, sizeof(read_buf_));
        if (n > 0) {
            counters_.bytes_read += uint64_t(n);
            ch.lines.feed(read_buf_, size_t(n), emit_line, &ctx);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        // EOF (every writer closed it) or a read error: this channel is finished.
        ch.lines.finish(emit_line, &ctx);
        ch.io.stop();
        ch.fd.reset();
        if (c.exited && !c.channels_open())
            child_done(c);
        return;
    }
}

void HookRunner::child_exited(Child &c)
{
    c.exited = true;
    c.elapsed_us = clock_.mono_us() - c.started_us;
    running_--;
    KeyState &ks = *c.ks;
    if (ks.child == &c)
        ks.child = nullptr;
    log_exit(c, ks);

    // What the hook wrote before exiting is in the pipes now.
    drain(c, false, kReadsAtExit);
    drain(c, true, kReadsAtExit);
    if (!c.done) {
        if (!(c.term_sent && !c.kill_sent)) // else the grace timer SIGKILLs the rest
            c.timer.stop();
        if (!c.channels_open())
            child_done(c);
        else if (!c.timer.active())
            c.timer.start(double(opts_.output_linger_ms) / 1e3);
    }
    kick();
}

void HookRunner::log_exit(Child &c, KeyState &ks)
{
    HookResult r;
    int st = c.wait_status;
    r.wait_status = st;
    r.exited = WIFEXITED(st);
    r.exit_code = r.exited ? WEXITSTATUS(st) : 0;
    r.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    r.timed_out = c.timed_out;
    r.killed = c.kill_sent;
    r.stopped = c.stopped;
    r.elapsed_us = c.elapsed_us;

    int prev = -1;
    bool found = false;
    for (auto &ls : ks.last_status)
        if (ls.first == c.hook) {
            prev = ls.second;
            ls.second = st;
            found = true;
        }
    if (!found)
        ks.last_status.emplace_back(c.hook, st);

    const char *key = ks.key.c_str();
    const char *tag = c.tag.c_str();
    double secs = seconds(c.elapsed_us);
    if (!r.ok())
        counters_.hooks_failed++;
    if (r.ok()) {
        core::log_write_tag(LOG_DEBUG, tag, "%s[%d]: finished in %.3f s", key, int(c.pid), secs);
    } else if (r.exited) {
        // A shell script's status is its last command's: often a false test. Say it when
        // it changes, not every cycle.
        int level = (prev != st) ? LOG_INFO : LOG_DEBUG;
        core::log_write_tag(level, tag, "%s[%d]: exited with status %d after %.3f s", key,
                            int(c.pid), r.exit_code, secs);
    } else if (r.signal) {
        const char *why = c.timed_out ? " (timeout)" : c.stopped ? " (shutdown)" : "";
        core::log_write_tag(c.stopped ? LOG_NOTICE : LOG_WARNING, tag,
                            "%s[%d]: killed by signal %d (%s)%s%s after %.3f s", key, int(c.pid),
                            r.signal, strsignal(r.signal), WCOREDUMP(st) ? ", core dumped" : "",
                            why, secs);
    }
    if (listener_)
        listener_->on_hook_finished(ks.key, c.hook, c.pid, r);
}

void HookRunner::child_timer(Child &c)
{
    const char *key = c.ks->key.c_str();
    const char *tag = c.tag.c_str();
    double secs = seconds(clock_.mono_us() - c.started_us);
    if (!c.exited) {
        if (!c.term_sent) {
            c.timed_out = true;
            c.term_sent = true;
            counters_.hooks_timed_out++;
            core::log_write_tag(LOG_WARNING, tag,
                                "%s[%d]: timed out after %.1f s (limit %.1f s), sending SIGTERM "
                                "to its process group",
                                key, int(c.pid), secs, double(opts_.timeout_ms) / 1e3);
            c.signal_group(SIGTERM);
            c.timer.start(double(opts_.kill_grace_ms) / 1e3);
        } else if (!c.kill_sent) {
            c.kill_sent = true;
            counters_.hooks_killed++;
            core::log_write_tag(LOG_WARNING, tag,
                                "%s[%d]: still running %.1f s after SIGTERM (%.1f s in all), "
                                "sending SIGKILL to its process group",
                                key, int(c.pid), double(opts_.kill_grace_ms) / 1e3, secs);
            c.signal_group(SIGKILL);
        }
        return;
    }
    if (c.term_sent && !c.kill_sent) {
        // The hook itself died from SIGTERM; processes of its group that ignored it go now.
        c.kill_sent = true;
        if (killpg(c.pid, SIGKILL) == 0) {
            counters_.hooks_killed++;
            core::log_write_tag(LOG_WARNING, tag,
                                "%s[%d]: SIGKILL to what was left of its process group", key,
                                int(c.pid));
        }
        if (c.channels_open())
            c.timer.start(double(opts_.output_linger_ms) / 1e3);
        else
            child_done(c);
        return;
    }
    // Output linger is over: background processes of the hook keep their pipe ends,
    // and get EPIPE from now on.
    drain(c, false, kReadsPerWakeup);
    drain(c, true, kReadsPerWakeup);
    if (!c.done)
        child_done(c);
}

void HookRunner::child_done(Child &c)
{
    if (c.done)
        return;
    EmitCtx ctx{&c.ks->key, &c.tag, c.pid, 0, false, &counters_.lines_logged};
    for (Child::Channel *ch : {&c.out, &c.log}) {
        if (ch->fd.valid()) {
            ctx.level = ch->is_log ? opts_.log_level : opts_.output_level;
            ctx.is_log = ch->is_log;
            ch->lines.finish(emit_line, &ctx);
        }
        ch->io.stop();
        ch->fd.reset();
    }
    c.timer.stop();
    uint64_t suppressed = c.out.lines.suppressed() + c.log.lines.suppressed();
    counters_.lines_suppressed += suppressed;
    if (suppressed)
        core::log_write_tag(
                LOG_NOTICE, c.tag.c_str(),
                "%s[%d]: \xe2\x80\xa6 %llu more lines suppressed (%llu bytes of output)",
                c.ks->key.c_str(), int(c.pid), static_cast<unsigned long long>(suppressed),
                static_cast<unsigned long long>(c.out.lines.bytes() + c.log.lines.bytes()));
    c.done = true;
    kick(); // pump() erases it: never destroyed inside its own callbacks
}

} // namespace hooks
