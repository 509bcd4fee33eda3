// HookRunner with real processes, real pipes and the real libev loop, in a temporary
// directory. Each test is bounded by deadlines: a bug shows as a failure, not a hang.
#include "hooks/runner.h"

#include "core/log.h"
#include "core/loop.h"
#include "core/procstat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <ftw.h>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using hooks::HookEnv;
using hooks::HookOptions;
using hooks::HookResult;
using hooks::HookRunner;
using hooks::RunKind;

struct Event {
    enum Type { Started, Finished, RunDone } type;
    std::string key;
    std::string hook;
    pid_t pid;
    omrt::MonoUs t;
    HookResult result;
};

struct Recorder final : hooks::HookListener {
    core::Loop *loop = nullptr;
    const omrt::Clock *clock = nullptr;
    std::vector<Event> events;
    unsigned concurrent = 0;
    unsigned max_concurrent = 0;
    // Chained runs (overhead measurement): each finished run requests the next.
    HookRunner *chain = nullptr;
    int chain_left = 0;

    void on_hook_started(const std::string &key, const std::string &hook, pid_t pid,
                         omrt::MonoUs at) override
    {
        events.push_back({Event::Started, key, hook, pid, at, {}});
        max_concurrent = std::max(max_concurrent, ++concurrent);
        loop->break_loop();
    }
    void on_hook_finished(const std::string &key, const std::string &hook, pid_t pid,
                          const HookResult &r) override
    {
        events.push_back({Event::Finished, key, hook, pid, clock->mono_us(), r});
        concurrent--;
        loop->break_loop();
    }
    void on_run_finished(const std::string &key) override
    {
        events.push_back({Event::RunDone, key, "", 0, clock->mono_us(), {}});
        if (chain && chain_left > 0) {
            chain_left--;
            chain->request(key, HookEnv(), RunKind::Transition);
        }
        loop->break_loop();
    }

    size_t count(Event::Type t, const std::string &key = "") const
    {
        return size_t(std::count_if(events.begin(), events.end(), [&](const Event &e) {
            return e.type == t && (key.empty() || e.key == key);
        }));
    }
    std::vector<const Event *> of(Event::Type t, const std::string &key = "") const
    {
        std::vector<const Event *> v;
        for (auto &e : events)
            if (e.type == t && (key.empty() || e.key == key))
                v.push_back(&e);
        return v;
    }
    const Event *finished(const std::string &hook) const
    {
        for (auto &e : events)
            if (e.type == Event::Finished && e.hook == hook)
                return &e;
        return nullptr;
    }
};

// The system clocks, defined here: omrt::SystemClock's typeinfo lives in the -fno-rtti
// core library, which UBSan's vptr check (OMRT_SANITIZE) cannot link against.
struct TestClock final : omrt::Clock {
    omrt::MonoUs mono_us() const override
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return omrt::MonoUs(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
    }
    omrt::WallUs wall_us() const override
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return omrt::WallUs(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
    }
};

int rm_entry(const char *path, const struct stat *, int, struct FTW *)
{
    return remove(path);
}

std::string read_file(const std::string &path)
{
    std::string s;
    FILE *f = fopen(path.c_str(), "rb");
    if (!f)
        return s;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        s.append(buf, n);
    fclose(f);
    return s;
}

std::vector<std::string> split(const std::string &s, char sep)
{
    std::vector<std::string> out;
    size_t start = 0;
    while (start < s.size()) {
        size_t end = s.find(sep, start);
        if (end == std::string::npos)
            end = s.size();
        out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// Alive = exists and is not a zombie (an orphan waits for init to reap it).
bool pid_alive(pid_t pid)
{
    std::string st = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t p = st.rfind(')');
    if (st.empty() || p == std::string::npos || p + 2 >= st.size())
        return false;
    char state = st[p + 2];
    return state != 'Z' && state != 'X';
}

double since_s(const omrt::Clock &c, omrt::MonoUs t0)
{
    return double(c.mono_us() - t0) / 1e6;
}

class RunnerTest : public ::testing::Test {
protected:
    core::Loop loop;
    TestClock clock;
    Recorder rec;
    HookOptions opts;
    std::string tmp, dir, out, libdir, log_path;
    int saved_stderr = -1;
    bool deadline_hit = false;
    unsigned ticks = 0;
    uint64_t max_rss_kb = 0;
    omrt::MonoUs last_tick_us = 0;
    int64_t max_tick_gap_us = 0;

    core::Timer poll{loop,
                     [](void *ctx) noexcept { static_cast<RunnerTest *>(ctx)->loop.break_loop(); },
                     this};
    core::Timer deadline{loop,
                         [](void *ctx) noexcept {
                             auto *t = static_cast<RunnerTest *>(ctx);
                             t->deadline_hit = true;
                             t->loop.break_loop();
                         },
                         this};
    // Proves the loop is never blocked: a 10 ms timer that also samples RSS.
    core::Timer ticker{loop,
                       [](void *ctx) noexcept {
                           auto *t = static_cast<RunnerTest *>(ctx);
                           omrt::MonoUs now = t->clock.mono_us();
                           if (t->ticks++ > 0)
                               t->max_tick_gap_us =
                                       std::max(t->max_tick_gap_us, now - t->last_tick_us);
                           t->last_tick_us = now;
                           t->max_rss_kb = std::max(t->max_rss_kb, core::read_proc_self().rss_kb);
                       },
                       this};

    void SetUp() override
    {
        char t[] = "/tmp/omrt-hooks-XXXXXX";
        ASSERT_NE(mkdtemp(t), nullptr);
        tmp = t;
        dir = tmp + "/post-tracking.d";
        out = tmp + "/out";
        libdir = tmp + "/lib";
        for (auto &d : {dir, out, libdir})
            ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
        // Capture the daemon log: LogSink::Stderr, fd 2 redirected to a file.
        log_path = tmp + "/daemon.log";
        int lf = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_GE(lf, 0);
        fflush(stderr);
        saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 10);
        dup2(lf, 2);
        close(lf);
        core::log_init("test", core::LogSink::Stderr, LOG_DEBUG);
        // A crashing hook must not leave core files around.
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_CORE, &rl);

        opts.dir = dir;
        opts.libraries = {libdir + "/functions.sh", libdir + "/network.sh",
                          libdir + "/missing-iptools.sh"};
        opts.timeout_ms = 20000;
        opts.kill_grace_ms = 1000;
        opts.output_linger_ms = 500;
        rec.loop = &loop;
        rec.clock = &clock;
    }

    void TearDown() override
    {
        fflush(stderr);
        if (saved_stderr >= 0) {
            dup2(saved_stderr, 2);
            close(saved_stderr);
        }
        if (HasFailure())
            fprintf(stderr, "---- daemon log ----\n%s--------------------\n", log().c_str());
        nftw(tmp.c_str(), rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }

    std::unique_ptr<HookRunner> make_runner()
    {
        return std::make_unique<HookRunner>(loop, clock, opts, &rec);
    }

    void write_file(const std::string &path, const std::string &body, mode_t mode)
    {
        FILE *f = fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr) << path;
        fputs(body.c_str(), f);
        fclose(f);
        ASSERT_EQ(chmod(path.c_str(), mode), 0);
    }
    void hook(const std::string &name, const std::string &body, mode_t mode = 0755)
    {
        write_file(dir + "/" + name, "#!/bin/sh\n" + body + "\n", mode);
    }

    HookEnv env(const std::string &key)
    {
        HookEnv e;
        e.set("OUT", out);
        e.set("OMR_TRACKER_INTERFACE", key);
        return e;
    }

    // Runs the loop until |pred| holds or |timeout_s| passes; true if it holds.
    bool run_until(const std::function<bool()> &pred, double timeout_s)
    {
        deadline_hit = false;
        deadline.start(timeout_s);
        poll.start(0.01, 0.01);
        while (!pred() && !deadline_hit)
            loop.run();
        poll.stop();
        deadline.stop();
        return pred();
    }

    std::string log()
    {
        fflush(stderr);
        return read_file(log_path);
    }
    std::string outfile(const std::string &name) { return read_file(out + "/" + name); }
};

// ---------------------------------------------------------------------------

TEST_F(RunnerTest, HookSeesExactlyTheGivenVariablesVerbatim)
{
    setenv("OMRT_TEST_MARKER", "must-not-leak", 1);
    hook("010-env", "cat /proc/$$/environ > \"$OUT/environ\"\n"
                    "env -0 > \"$OUT/env0\"\n"
                    "printf '%s' \"$V_CMD\" > \"$OUT/v_cmd\"\n"
                    "printf '%s' \"$V_NL\" > \"$OUT/v_nl\"\n"
                    "printf '%s' \"$0\" > \"$OUT/argv0\"\n"
                    "printf '%s' \"$#\" > \"$OUT/argc\"");
    auto r = make_runner();
    HookEnv e = env("wan1");
    std::map<std::string, std::string> vals = {
            {"V_SPACES", "  two  spaces\tand tab "},
            {"V_QUOTES", "it's \"quoted\" \\ back\\slash"},
            {"V_NL", "line1\nline2\n"},
            {"V_CMD", "$(touch " + out + "/pwned1)"},
            {"V_BACKTICK", "`touch " + out + "/pwned2`"},
            {"V_EXPAND", "$HOME ${PATH} $OUT * ?"},
            {"V_SHELL", "; touch " + out + "/pwned3 && echo x | cat &"},
            {"V_BYTES", "\x01\x7f\xc3\xa9\xff"},
            {"V_EMPTY", ""},
            {"V_FUNC", "() { touch " + out + "/pwned4; }"},
    };
    for (auto &kv : vals)
        ASSERT_TRUE(e.set(kv.first, kv.second));
    r->request("wan1", e, RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1; }, 10));
    ASSERT_NE(rec.finished("010-env"), nullptr);
    EXPECT_TRUE(rec.finished("010-env")->result.ok());

    // What execve() gave the interpreter: PATH + exactly the given variables.
    std::vector<std::string> want = e.entries();
    want.push_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    std::sort(want.begin(), want.end());
    std::vector<std::string> got = split(outfile("environ"), '\0');
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);

    // What programs run by the hook get: the same, plus what the shell itself adds.
    for (const std::string &entry : split(outfile("env0"), '\0')) {
        std::string name = entry.substr(0, entry.find('='));
        bool given = std::find(want.begin(), want.end(), entry) != want.end();
        bool shell_own = name == "PWD" || name == "SHLVL" || name == "_" || name == "OLDPWD";
        EXPECT_TRUE(given || shell_own) << "unexpected: " << entry;
        EXPECT_NE(name, "OMRT_TEST_MARKER");
    }
    EXPECT_EQ(outfile("env0").find("must-not-leak"), std::string::npos);
    EXPECT_EQ(outfile("v_cmd"), vals["V_CMD"]);
    EXPECT_EQ(outfile("v_nl"), vals["V_NL"]);
    EXPECT_EQ(outfile("argv0"), dir + "/010-env");
    EXPECT_EQ(outfile("argc"), "0"); // the library list is not left in "$@"
    for (const char *p : {"pwned1", "pwned2", "pwned3", "pwned4"})
        EXPECT_NE(access((out + "/" + p).c_str(), F_OK), 0) << p << " was created";
    unsetenv("OMRT_TEST_MARKER");
}

TEST_F(RunnerTest, LexicalOrderExecutablesOnlyExitEndsOnlyThatHook)
{
    std::string rec_line = "echo \"${0##*/}\" >> \"$OUT/order\"";
    for (const char *n : {"a-first", "10-b", "9-c", "Z-upper", "c-after"})
        hook(n, rec_line);
    // The shebang is ignored: hooks are sourced, as before.
    write_file(dir + "/a-second", "#!/bin/false\n" + rec_line + "\n", 0755);
    hook("b-exit3", rec_line + "\nexit 3\necho never >> \"$OUT/order\"");
    hook("d-notexec", rec_line, 0644);
    hook(".hidden", rec_line);
    ASSERT_EQ(mkdir((dir + "/e-dir").c_str(), 0755), 0);
    ASSERT_EQ(symlink("a-first", (dir + "/f-link").c_str()), 0);
    ASSERT_EQ(symlink("nowhere", (dir + "/g-dangling").c_str()), 0);

    auto r = make_runner();
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1; }, 10));
    EXPECT_EQ(outfile("order"),
              "10-b\n9-c\nZ-upper\na-first\na-second\nb-exit3\nc-after\nf-link\n");
    const Event *e3 = rec.finished("b-exit3");
    ASSERT_NE(e3, nullptr);
    EXPECT_TRUE(e3->result.exited);
    EXPECT_EQ(e3->result.exit_code, 3);
    EXPECT_EQ(r->counters().hooks_failed, 1u);
    EXPECT_EQ(r->counters().hooks_started, 8u);
    EXPECT_NE(log().find("b-exit3: wan1["), std::string::npos);
    EXPECT_NE(log().find("exited with status 3"), std::string::npos);
}

TEST_F(RunnerTest, LibrariesAreSourcedAndLogLinesCarryTheHookTag)
{
    write_file(libdir + "/functions.sh", "config_load() { echo \"loaded:$1\"; }\n", 0644);
    write_file(libdir + "/network.sh", "network_get_device() { eval \"$1=dev-$2\"; }\n", 0644);
    hook("040-out", "echo plain stdout\necho plain stderr >&2");
    hook("050-src", "config_load network > \"$OUT/cl\"\n"
                    "network_get_device d \"$OMR_TRACKER_INTERFACE\"; echo \"$d\" > \"$OUT/nd\"\n"
                    "_log \"hello from $OMR_TRACKER_INTERFACE\"\n"
                    "exec >/dev/null 2>&1\n"
                    "_log still logged after exec to null\n"
                    "echo invisible-output");
    auto r = make_runner();
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1 && r->idle(); }, 10));
    EXPECT_EQ(outfile("cl"), "loaded:network\n");
    EXPECT_EQ(outfile("nd"), "dev-wan1\n");
    std::string l = log();
    pid_t out_pid = rec.finished("040-out")->pid;
    EXPECT_NE(l.find("info post-tracking-040-out: wan1[" + std::to_string(out_pid) +
                     "]: plain stdout\n"),
              std::string::npos);
    EXPECT_NE(
            l.find("post-tracking-040-out: wan1[" + std::to_string(out_pid) + "]: plain stderr\n"),
            std::string::npos);
    // `_log` lines: notice, verbatim, as `logger -t post-tracking-<name>` wrote them.
    EXPECT_NE(l.find("notice post-tracking-050-src: hello from wan1\n"), std::string::npos);
    EXPECT_NE(l.find("post-tracking-050-src: still logged after exec to null\n"),
              std::string::npos);
    EXPECT_EQ(l.find("invisible-output"), std::string::npos);
    EXPECT_GE(r->counters().lines_logged, 4u);
}

TEST_F(RunnerTest, RequestNeverRunsAnythingItself)
{
    hook("010", "true");
    auto r = make_runner();
    r->request("wan1", env("wan1"), RunKind::Periodic);
    EXPECT_EQ(r->counters().hooks_started, 0u);
    EXPECT_TRUE(rec.events.empty());
    EXPECT_TRUE(r->busy("wan1"));
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1; }, 10));
    EXPECT_EQ(r->counters().hooks_started, 1u);
}

TEST_F(RunnerTest, DirectoryIsListedAtRunTime)
{
    auto r = make_runner();
    // No hook at all (and, first, no directory): the run still completes.
    opts.dir = tmp + "/absent";
    r->set_options(opts);
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1; }, 10));
    opts.dir = dir;
    r->set_options(opts);
    hook("010-a", "echo a >> \"$OUT/seen\"");
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 2; }, 10));
    hook("020-b", "echo b >> \"$OUT/seen\"");
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 3; }, 10));
    EXPECT_EQ(outfile("seen"), "a\na\nb\n");
    EXPECT_EQ(r->counters().runs_completed, 3u);
}

TEST_F(RunnerTest, SerialisedPerKeyConcurrentAcrossKeys)
{
    hook("010-sleep", "sleep 0.3");
    auto r = make_runner();
    r->request("wan1", env("wan1"), RunKind::Transition);
    r->request("wan1", env("wan1"), RunKind::Transition);
    r->request("wan2", env("wan2"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 3; }, 10));
    auto s1 = rec.of(Event::Started, "wan1");
    auto f1 = rec.of(Event::Finished, "wan1");
    auto s2 = rec.of(Event::Started, "wan2");
    auto f2 = rec.of(Event::Finished, "wan2");
    ASSERT_EQ(s1.size(), 2u);
    ASSERT_EQ(f1.size(), 2u);
    ASSERT_EQ(s2.size(), 1u);
    // wan1's second run starts only after its first hook exited...
    EXPECT_GE(s1[1]->t, f1[0]->t);
    // ...while wan2 ran at the same time as wan1's first run.
    EXPECT_LT(s2[0]->t, f1[0]->t);
    EXPECT_LT(s1[0]->t, f2[0]->t);
    EXPECT_EQ(rec.max_concurrent, 2u);
}

TEST_F(RunnerTest, PeriodicRequestsCoalesceWhileARunIsActive)
{
    hook("010-seq", "echo \"$SEQ\" >> \"$OUT/seq\"; sleep 0.2");
    auto r = make_runner();
    auto req = [&](const char *seq, RunKind k) {
        HookEnv e = env("wan1");
        e.set("SEQ", seq);
        r->request("wan1", e, k);
    };
    req("p1", RunKind::Periodic);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::Started) == 1; }, 10));
    req("p2", RunKind::Periodic);   // pending
    req("t3", RunKind::Transition); // supersedes p2
    req("p4", RunKind::Periodic);   // pending after t3
    req("p5", RunKind::Periodic);   // replaces p4
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 3; }, 10));
    ASSERT_TRUE(run_until([&] { return r->idle(); }, 5));
    EXPECT_EQ(outfile("seq"), "p1\nt3\np5\n");
    EXPECT_EQ(r->counters().coalesced, 2u);
    EXPECT_EQ(r->counters().runs_completed, 3u);
}

TEST_F(RunnerTest, TransitionQueueIsBoundedDroppingTheOldest)
{
    opts.max_queued_transitions = 2;
    hook("010-seq", "echo \"$SEQ\" >> \"$OUT/seq\"; sleep 0.2");
    auto r = make_runner();
    auto req = [&](const char *seq) {
        HookEnv e = env("wan1");
        e.set("SEQ", seq);
        r->request("wan1", e, RunKind::Transition);
    };
    req("t1");
    ASSERT_TRUE(run_until([&] { return rec.count(Event::Started) == 1; }, 10));
    req("t2");
    req("t3");
    req("t4"); // queue full (t2, t3): t2 goes
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 3; }, 10));
    EXPECT_EQ(outfile("seq"), "t1\nt3\nt4\n");
    EXPECT_EQ(r->counters().dropped, 1u);
    EXPECT_NE(log().find("dropped the oldest"), std::string::npos);
}

TEST_F(RunnerTest, GlobalCapOnConcurrentHooks)
{
    opts.max_concurrent = 2;
    hook("010-sleep", "sleep 0.2");
    hook("020-sleep", "sleep 0.1");
    auto r = make_runner();
    for (int i = 0; i < 5; i++)
        r->request("wan" + std::to_string(i), env("wan"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 5; }, 20));
    EXPECT_EQ(rec.max_concurrent, 2u);
    EXPECT_EQ(rec.count(Event::Started), 10u);
    // Each key's two hooks still ran in order.
    for (int i = 0; i < 5; i++) {
        auto s = rec.of(Event::Started, "wan" + std::to_string(i));
        ASSERT_EQ(s.size(), 2u);
        EXPECT_EQ(s[0]->hook, "010-sleep");
        EXPECT_EQ(s[1]->hook, "020-sleep");
    }
}

TEST_F(RunnerTest, HangingHookIsKilledWithItsChildrenWhileTheLoopRuns)
{
    opts.timeout_ms = 300;
    opts.kill_grace_ms = 300;
    hook("010-hang", "sleep 1000 & echo $! > \"$OUT/sleep.pid\"; wait");
    hook("020-after", "echo ran > \"$OUT/after\"");
    auto r = make_runner();
    ticker.start(0.01, 0.01);
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::Started) == 1; }, 10));
    unsigned ticks0 = ticks;
    ASSERT_TRUE(run_until([&] { return rec.finished("010-hang") != nullptr; }, 10));
    unsigned hang_ticks = ticks - ticks0;
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1; }, 10));
    ticker.stop();

    const HookResult &res = rec.finished("010-hang")->result;
    EXPECT_TRUE(res.timed_out);
    EXPECT_FALSE(res.killed); // SIGTERM was enough
    EXPECT_EQ(res.signal, SIGTERM);
    EXPECT_GE(res.elapsed_us, 290000); // libev counts from its iteration time, just before fork
    EXPECT_LT(res.elapsed_us, 2000000);
    // The loop kept running: ~30 ticks of 10 ms during the 0.3 s hang, none held up.
    EXPECT_GE(hang_ticks, 15u);
    EXPECT_LT(max_tick_gap_us, 100000);
    // The hook's own child went with it.
    pid_t sleep_pid = pid_t(atoi(outfile("sleep.pid").c_str()));
    ASSERT_GT(sleep_pid, 0);
    EXPECT_TRUE(run_until([&] { return !pid_alive(sleep_pid); }, 2)) << "sleep survived";
    EXPECT_EQ(outfile("after"), "ran\n");
    EXPECT_EQ(r->counters().hooks_timed_out, 1u);
    EXPECT_NE(log().find("010-hang: wan1[" + std::to_string(rec.finished("010-hang")->pid) +
                         "]: timed out after"),
              std::string::npos);
}

TEST_F(RunnerTest, HookIgnoringSigtermIsKilledAfterTheGrace)
{
    opts.timeout_ms = 200;
    opts.kill_grace_ms = 200;
    hook("010-stubborn", "trap '' TERM\nsleep 1000 & echo $! > \"$OUT/sleep.pid\"; wait; wait");
    auto r = make_runner();
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1; }, 10));
    const HookResult &res = rec.finished("010-stubborn")->result;
    EXPECT_TRUE(res.timed_out);
    EXPECT_TRUE(res.killed);
    EXPECT_EQ(res.signal, SIGKILL);
    EXPECT_GE(res.elapsed_us, 390000);
    pid_t sleep_pid = pid_t(atoi(outfile("sleep.pid").c_str()));
    ASSERT_GT(sleep_pid, 0);
    EXPECT_TRUE(run_until([&] { return !pid_alive(sleep_pid); }, 2)) << "sleep survived";
    EXPECT_EQ(r->counters().hooks_killed, 1u);
}

TEST_F(RunnerTest, CrashingHookIsLoggedAndTheNextOneRuns)
{
    hook("010-crash", "echo before\nkill -SEGV $$\necho after");
    hook("020-next", "echo ran > \"$OUT/next\"");
    auto r = make_runner();
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1 && r->idle(); }, 10));
    const HookResult &res = rec.finished("010-crash")->result;
    EXPECT_FALSE(res.exited);
    EXPECT_EQ(res.signal, SIGSEGV);
    EXPECT_FALSE(res.timed_out);
    EXPECT_EQ(outfile("next"), "ran\n");
    std::string l = log();
    EXPECT_NE(l.find("post-tracking-010-crash: wan1[" +
                     std::to_string(rec.finished("010-crash")->pid) + "]: killed by signal 11"),
              std::string::npos);
    EXPECT_NE(l.find("]: before\n"), std::string::npos);
    EXPECT_EQ(l.find("]: after\n"), std::string::npos);
}

TEST_F(RunnerTest, HookPrintingFiftyMegabytesStaysBounded)
{
    opts.max_lines_per_hook = 50;
    hook("010-flood", "head -c 1000000 /dev/zero | tr '\\0' x; echo\n"
                      "yes '0123456789 abcdefghij 0123456789 abcdefghij' | head -c 52428800\n"
                      "_log flood done");
    auto r = make_runner();
    uint64_t rss0 = core::read_proc_self().rss_kb;
    max_rss_kb = rss0;
    ticker.start(0.01, 0.01);
    omrt::MonoUs t0 = clock.mono_us();
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1 && r->idle(); }, 60));
    double secs = since_s(clock, t0);
    ticker.stop();

    EXPECT_TRUE(rec.finished("010-flood")->result.ok()); // never blocked on a full pipe
    const auto &c = r->counters();
    EXPECT_GE(c.bytes_read, 52428800u + 1000000u);
    EXPECT_EQ(c.lines_logged, 51u); // 50 output lines + the `_log` line (own budget)
    EXPECT_GE(c.lines_suppressed, 52428800u / 46 - 100);
    EXPECT_LT(max_rss_kb - rss0, 4096u) << "RSS grew from " << rss0 << " to " << max_rss_kb;
    // Loop responsive throughout: no 10 ms tick held up (allow for a slow machine).
    EXPECT_LT(max_tick_gap_us, 100000);
    std::string l = log();
    EXPECT_NE(l.find(std::string(opts.max_line_bytes, 'x') + "\xe2\x80\xa6\n"), std::string::npos);
    EXPECT_NE(l.find("more lines suppressed"), std::string::npos);
    EXPECT_NE(l.find("post-tracking-010-flood: flood done\n"), std::string::npos);
    printf("50 MiB of hook output: %.2f s, RSS %llu -> max %llu kB, %llu lines suppressed, "
           "largest gap between 10 ms ticks %.1f ms\n",
           secs, (unsigned long long)rss0, (unsigned long long)max_rss_kb,
           (unsigned long long)c.lines_suppressed, double(max_tick_gap_us) / 1e3);
}

TEST_F(RunnerTest, NoInheritedFdsAndDefaultSignals)
{
    // A careless library's fds, without O_CLOEXEC, a low and a high one.
    int leak = open("/dev/null", O_RDONLY);
    ASSERT_GE(leak, 0);
    ASSERT_EQ(dup2(leak, 77), 77);
    // The daemon ignores SIGPIPE; libev may block signals: the hook must see neither.
    signal(SIGPIPE, SIG_IGN);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);

    hook("010-fds",
         "ls /proc/$$/fd > \"$OUT/fds\"\n"
         "readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2 /proc/$$/fd/3 > \"$OUT/links\"\n"
         "grep -E '^Sig(Blk|Ign)' /proc/self/status > \"$OUT/sig\"\n"
         "readlink /proc/$$/cwd > \"$OUT/cwd\"\n"
         "ps -o pid=,pgid=,sid= -p $$ > \"$OUT/ids\" 2>/dev/null || "
         "  cut -d' ' -f1,5,6 /proc/$$/stat > \"$OUT/ids\"");
    auto r = make_runner();
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1; }, 10));
    sigprocmask(SIG_SETMASK, &old, nullptr);
    signal(SIGPIPE, SIG_DFL);
    close(leak);
    close(77);

    EXPECT_EQ(outfile("fds"), "0\n1\n2\n3\n");
    auto links = split(outfile("links"), '\n');
    ASSERT_EQ(links.size(), 4u);
    EXPECT_EQ(links[0], "/dev/null");
    EXPECT_EQ(links[1].substr(0, 6), "pipe:[");
    EXPECT_EQ(links[1], links[2]); // stdout and stderr: one pipe, in order
    EXPECT_EQ(links[3].substr(0, 6), "pipe:[");
    EXPECT_NE(links[3], links[1]); // `_log` has its own
    EXPECT_EQ(outfile("sig"), "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    EXPECT_EQ(outfile("cwd"), "/\n");
    // Own session and process group: pgid == sid == pid.
    std::vector<std::string> ids;
    for (auto &w : split(outfile("ids"), ' '))
        if (!w.empty())
            ids.push_back(w.substr(0, w.find('\n')));
    ASSERT_EQ(ids.size(), 3u) << outfile("ids");
    EXPECT_EQ(ids[0], std::to_string(rec.finished("010-fds")->pid));
    EXPECT_EQ(ids[1], ids[0]);
    EXPECT_EQ(ids[2], ids[0]);
}

TEST_F(RunnerTest, StopEndsEveryHookGroupWithinTheBound)
{
    opts.kill_grace_ms = 300;
    opts.shutdown_wait_ms = 200;
    hook("010-hang", "[ \"$IGNORE_TERM\" = 1 ] && trap '' TERM\n"
                     "sleep 1000 & echo $! >> \"$OUT/sleep.pids\"; wait; wait");
    auto r = make_runner();
    for (int i = 0; i < 3; i++) {
        HookEnv e = env("wan" + std::to_string(i));
        e.set("IGNORE_TERM", i == 2 ? "1" : "0");
        r->request("wan" + std::to_string(i), e, RunKind::Transition);
    }
    ASSERT_TRUE(run_until(
            [&] {
                return rec.count(Event::Started) == 3 &&
                       split(outfile("sleep.pids"), '\n').size() == 3;
            },
            10));
    r->request("wan0", env("wan0"), RunKind::Transition); // queued: must never start
    omrt::MonoUs t0 = clock.mono_us();
    r->stop();
    r->request("wan1", env("wan1"), RunKind::Transition); // after stop: ignored
    // The daemon would run its loop briefly, then destroy the runner.
    run_until([&] { return r->running() == 0; }, 0.2);
    EXPECT_EQ(r->running(), 1u); // the one ignoring SIGTERM
    r.reset();
    double secs = since_s(clock, t0);
    EXPECT_LT(secs, 1.0);
    EXPECT_EQ(rec.count(Event::Started), 3u);
    for (auto *s : rec.of(Event::Started)) {
        errno = 0;
        EXPECT_EQ(waitpid(s->pid, nullptr, WNOHANG), -1) << "hook " << s->pid << " not reaped";
        EXPECT_EQ(errno, ECHILD);
    }
    for (auto &p : split(outfile("sleep.pids"), '\n')) {
        pid_t pid = pid_t(atoi(p.c_str()));
        ASSERT_GT(pid, 0);
        EXPECT_TRUE(run_until([&] { return !pid_alive(pid); }, 1)) << "sleep " << pid;
    }
    printf("stop() to all hook groups gone and runner destroyed: %.3f s\n", secs);
}

TEST_F(RunnerTest, OutputOfBackgroundChildrenLingersBriefly)
{
    opts.output_linger_ms = 400;
    hook("010-bg", "(sleep 0.1; echo late line) &\n"
                   "sleep 30 & echo $! > \"$OUT/holder.pid\"\n"
                   "echo early");
    hook("020-next", "echo second");
    auto r = make_runner();
    r->request("wan1", env("wan1"), RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1; }, 10));
    // The run moved on as soon as the hook exited, not when its pipes closed.
    EXPECT_LT(rec.of(Event::Started)[1]->t - rec.finished("010-bg")->t, 200000);
    EXPECT_FALSE(r->idle()); // still reading what the background children write
    omrt::MonoUs t0 = clock.mono_us();
    ASSERT_TRUE(run_until([&] { return r->idle(); }, 5));
    EXPECT_LT(since_s(clock, t0), 1.0);
    std::string l = log();
    EXPECT_NE(l.find("]: early\n"), std::string::npos);
    EXPECT_NE(l.find("]: late line\n"), std::string::npos);
    pid_t holder = pid_t(atoi(outfile("holder.pid").c_str()));
    ASSERT_GT(holder, 0);
    kill(holder, SIGKILL);
}

TEST_F(RunnerTest, RepeatedFailureIsLoggedOnceAtInfo)
{
    hook("010-false", "[ -n \"$NOT_SET\" ] && echo never");
    auto r = make_runner();
    for (int i = 1; i <= 3; i++) {
        r->request("wan1", env("wan1"), RunKind::Periodic);
        ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == size_t(i); }, 10));
    }
    std::string l = log();
    size_t infos = 0, pos = 0;
    while ((pos = l.find("info post-tracking-010-false", pos)) != std::string::npos) {
        infos++;
        pos++;
    }
    EXPECT_EQ(infos, 1u);
    EXPECT_EQ(r->counters().hooks_failed, 3u);
}

TEST_F(RunnerTest, ServerHookDirectoryUsesItsOwnNames)
{
    opts.name = "server-post-tracking";
    hook("030-leds", "_log \"server $OMR_TRACKER_SERVER_NAME is $OMR_TRACKER_STATUS\"");
    auto r = make_runner();
    HookEnv e;
    e.set("OMR_TRACKER_SERVER_NAME", "vps");
    e.set("OMR_TRACKER_STATUS", "ERROR");
    r->request("vps", e, RunKind::Transition);
    ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == 1 && r->idle(); }, 10));
    EXPECT_NE(log().find("post-tracking-030-leds: server vps is ERROR\n"), std::string::npos);
}

// Per-hook cost of fork + exec + the interpreter, for the DESIGN note and issue 4.
TEST_F(RunnerTest, OverheadOfEmptyHooks)
{
    hook("010-empty", ":");
    const int kRuns = 200;
    for (const char *interp : {"/bin/bash", "/bin/sh"}) {
        if (access(interp, X_OK) != 0)
            continue;
        opts.interpreter = interp;
        rec.events.clear();
        auto r = make_runner();
        rec.chain = r.get();
        rec.chain_left = kRuns - 1;
        struct rusage self0, kids0, self1, kids1;
        getrusage(RUSAGE_SELF, &self0);
        getrusage(RUSAGE_CHILDREN, &kids0);
        omrt::MonoUs t0 = clock.mono_us();
        r->request("wan1", HookEnv(), RunKind::Transition);
        ASSERT_TRUE(run_until([&] { return rec.count(Event::RunDone) == size_t(kRuns); }, 60));
        double wall = since_s(clock, t0);
        getrusage(RUSAGE_SELF, &self1);
        getrusage(RUSAGE_CHILDREN, &kids1);
        rec.chain = nullptr;
        auto cpu = [](const struct rusage &a, const struct rusage &b) {
            return double(b.ru_utime.tv_sec - a.ru_utime.tv_sec + b.ru_stime.tv_sec -
                          a.ru_stime.tv_sec) +
                   double(b.ru_utime.tv_usec - a.ru_utime.tv_usec + b.ru_stime.tv_usec -
                          a.ru_stime.tv_usec) /
                           1e6;
        };
        double ms = 1e3 / kRuns;
        // Request (made in on_run_finished) to fork() returned, i.e. the runner's latency.
        auto starts = rec.of(Event::Started);
        auto dones = rec.of(Event::RunDone);
        double lat_us = 0;
        for (size_t i = 1; i < starts.size(); i++)
            lat_us += double(starts[i]->t - dones[i - 1]->t);
        lat_us /= double(starts.size() - 1);
        printf("%s: %d empty hooks, per hook: wall %.3f ms, daemon CPU %.3f ms, hook CPU %.3f "
               "ms; request to fork returned %.0f us\n",
               interp, kRuns, wall * ms, cpu(self0, self1) * ms, cpu(kids0, kids1) * ms, lat_us);
        EXPECT_EQ(r->counters().hooks_started, uint64_t(kRuns));
        EXPECT_EQ(r->counters().hooks_failed, 0u);
        EXPECT_LT(wall / kRuns, 0.1); // sanity only; the figures are the output
    }
}

} // namespace
