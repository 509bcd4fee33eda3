// omr-trackerctl against a real ControlServer: the binary is run as a child process while
// the test drives the server's loop.
#include "status/control.h"

#include "core/json.h"
#include "core/log.h"
#include "status_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OMRT_CTL_PATH
#error "OMRT_CTL_PATH must name the omr-trackerctl binary"
#endif

namespace {

struct Handler : status::ControlHandler {
    std::vector<std::string> reload_errors;
    std::string last_recheck = "(none)";
    bool on_recheck(const std::string &name, std::string *err) override
    {
        last_recheck = name;
        if (name == "nope") {
            *err = "unknown name 'nope'";
            return false;
        }
        return true;
    }
    bool on_reload(std::vector<std::string> *errors) override
    {
        *errors = reload_errors;
        return errors->empty();
    }
};

// A running omr-trackerctl: its output is collected while the loop runs.
struct Ctl {
    pid_t pid = -1;
    int out = -1, err = -1;
    std::string out_text, err_text;
    bool exited = false;
    int status = -1;
    core::ChildWatcher child;

    explicit Ctl(core::Loop &loop) : child(loop, on_exit, this) {}
    ~Ctl()
    {
        if (!exited && pid > 0)
            kill(pid, SIGKILL);
        if (out >= 0)
            close(out);
        if (err >= 0)
            close(err);
    }
    static void on_exit(void *ctx, pid_t, int st) noexcept
    {
        auto *c = static_cast<Ctl *>(ctx);
        c->exited = true;
        c->status = st;
    }

    void start(const std::vector<std::string> &args, const std::string &socket_env)
    {
        int po[2], pe[2];
        ASSERT_EQ(pipe2(po, O_CLOEXEC), 0);
        ASSERT_EQ(pipe2(pe, O_CLOEXEC), 0);
        std::vector<char *> argv;
        argv.push_back(const_cast<char *>(OMRT_CTL_PATH));
        for (const std::string &a : args)
            argv.push_back(const_cast<char *>(a.c_str()));
        argv.push_back(nullptr);
        pid = fork();
        if (pid == 0) {
            dup2(po[1], 1);
            dup2(pe[1], 2);
            if (socket_env.empty())
                unsetenv("OMR_TRACKERD_SOCKET");
            else
                setenv("OMR_TRACKERD_SOCKET", socket_env.c_str(), 1);
            execv(argv[0], argv.data());
            _exit(127);
        }
        child.start(pid);
        close(po[1]);
        close(pe[1]);
        out = po[0];
        err = pe[0];
        fcntl(out, F_SETFL, O_NONBLOCK);
        fcntl(err, F_SETFL, O_NONBLOCK);
    }

    void pump()
    {
        char buf[65536];
        for (int *fd : {&out, &err}) {
            ssize_t n;
            while (*fd >= 0 && (n = read(*fd, buf, sizeof(buf))) > 0)
                (fd == &out ? out_text : err_text).append(buf, size_t(n));
        }
    }
    int lines() const { return int(std::count(out_text.begin(), out_text.end(), '\n')); }
    int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

struct CtlTest : ::testing::Test {
    core::Loop loop;
    omrt::SystemClock clock;
    status::Board board{loop, clock};
    Handler handler;
    status::ControlServer server{loop, clock, board, handler};
    testutil::TempDir dir;

    void SetUp() override
    {
        core::log_init("test", core::LogSink::None, LOG_DEBUG);
        board.sync_interfaces({"wan1", "wan2"});
        board.sync_servers({"vps"});
        board.iface("wan1")->device = "eth1";
        board.iface("wan1")->latency_ms = 12.5;
        board.iface("wan1")->loss_pct = 0;
        // The last history slots: all lost, idle, then 3, 6 and 12 ms.
        omrt::MonoUs step_us = status::kHistoryStepS * omrt::kUsPerS;
        status::LatencyHistory &h = board.iface("wan1")->history;
        h.record(clock.mono_us() - 4 * step_us, NAN);
        h.record(clock.mono_us() - 2 * step_us, 3);
        h.record(clock.mono_us() - 1 * step_us, 6);
        h.record(clock.mono_us(), 12);
        board.server("vps")->addresses = {"198.51.100.10"};
        board.server("vps")->current = true;
        status::ControlOptions opt;
        opt.path = dir.file("ctl.sock");
        std::string err;
        ASSERT_TRUE(server.open(opt, &err)) << err;
    }

    // Runs omr-trackerctl to its end (the loop serving it meanwhile).
    void run(Ctl &c, const std::vector<std::string> &args, double timeout_s = 10)
    {
        c.start(args, server.path());
        ASSERT_TRUE(testutil::run_until(
                loop,
                [&] {
                    c.pump();
                    return c.exited;
                },
                timeout_s));
        c.pump();
    }
};

} // namespace

TEST_F(CtlTest, StatusJsonIsTheBoardDocument)
{
    Ctl c(loop);
    run(c, {"status", "--json"});
    EXPECT_EQ(c.exit_code(), 0) << c.err_text;
    core::JsonValue v;
    core::JsonLimits lim;
    lim.max_elements = 100000;
    std::string err;
    ASSERT_TRUE(core::json_parse(c.out_text, v, &err, lim)) << err << c.out_text;
    ASSERT_TRUE(v.get("interfaces") && v.get("interfaces")->get("wan1"));
    EXPECT_EQ(*v.get("interfaces")->get("wan1")->get_string("device"), "eth1");
    EXPECT_EQ(v.get("interfaces")->get("wan1")->get("latency_ms")->as_number(), 12.5);
    EXPECT_TRUE(v.get("servers")->get("vps")->get("current")->as_bool());
    EXPECT_EQ(c.lines(), 1);
}

TEST_F(CtlTest, StatusTableShowsEveryEntryAndTheDaemon)
{
    Ctl c(loop);
    run(c, {"-s", server.path(), "status"});
    EXPECT_EQ(c.exit_code(), 0) << c.err_text;
    const std::string &o = c.out_text;
    EXPECT_NE(o.find("INTERFACE"), std::string::npos) << o;
    EXPECT_NE(o.find("wan1"), std::string::npos) << o;
    EXPECT_NE(o.find("wan2"), std::string::npos) << o;
    EXPECT_NE(o.find("12.5 ms"), std::string::npos) << o;
    EXPECT_NE(o.find("UNKNOWN"), std::string::npos) << o;
    EXPECT_NE(o.find("pending"), std::string::npos) << o;
    // Lost, idle, 3, 6, 12 ms: scaled to the row's 12 ms.
    EXPECT_NE(o.find("× ▂▄█"), std::string::npos) << o;
    EXPECT_NE(o.find("* vps"), std::string::npos) << o;
    EXPECT_NE(o.find("198.51.100.10"), std::string::npos) << o;
    EXPECT_NE(o.find("daemon: pid"), std::string::npos) << o;
    EXPECT_EQ(o.find("\033["), std::string::npos) << "colour on a pipe";
}

TEST_F(CtlTest, RecheckAndReloadReportFailures)
{
    Ctl ok(loop);
    run(ok, {"recheck", "wan1"});
    EXPECT_EQ(ok.exit_code(), 0) << ok.err_text;
    EXPECT_EQ(handler.last_recheck, "wan1");

    Ctl all(loop);
    run(all, {"recheck"});
    EXPECT_EQ(all.exit_code(), 0) << all.err_text;
    EXPECT_EQ(handler.last_recheck, "");

    Ctl bad(loop);
    run(bad, {"recheck", "nope"});
    EXPECT_EQ(bad.exit_code(), 1);
    EXPECT_NE(bad.err_text.find("unknown name 'nope'"), std::string::npos) << bad.err_text;

    Ctl good_reload(loop);
    run(good_reload, {"reload"});
    EXPECT_EQ(good_reload.exit_code(), 0) << good_reload.err_text;

    handler.reload_errors = {"omr-tracker:7: option 'timeout': bad value 'x'",
                             "network:2: unknown proto"};
    Ctl bad_reload(loop);
    run(bad_reload, {"reload"});
    EXPECT_EQ(bad_reload.exit_code(), 1);
    EXPECT_NE(bad_reload.err_text.find("2 errors"), std::string::npos) << bad_reload.err_text;
    EXPECT_NE(bad_reload.err_text.find("omr-tracker:7: option 'timeout': bad value 'x'"),
              std::string::npos)
            << bad_reload.err_text;
    EXPECT_NE(bad_reload.err_text.find("network:2: unknown proto"), std::string::npos);
}

TEST_F(CtlTest, WaitReturnsWhenTheStatusIsReached)
{
    struct Later {
        status::Board *b;
        void fire() { b->set_iface_verdict("wan1", omrt::Health::Ok, omrt::Reason::ok, "ok"); }
    } later{&board};
    core::Timer t(loop, core::member<Later, &Later::fire>, &later);
    t.start(0.2);
    Ctl c(loop);
    run(c, {"wait", "wan1", "ok", "--reason", "ok", "--timeout", "5"});
    EXPECT_EQ(c.exit_code(), 0) << c.err_text;
    long ms = std::atol(c.out_text.c_str());
    EXPECT_GE(ms, 150) << c.out_text;
    EXPECT_LT(ms, 5000) << c.out_text;

    // Already there: returns at once. Servers are names too.
    board.set_server_verdict("vps", omrt::Health::Error, omrt::Reason::tcp_refused, "refused");
    Ctl now(loop);
    run(now, {"wait", "vps", "ERROR", "--timeout", "5"});
    EXPECT_EQ(now.exit_code(), 0) << now.err_text;
}

TEST_F(CtlTest, WaitTimesOutWithExitOne)
{
    Ctl c(loop);
    run(c, {"wait", "wan2", "OK", "--timeout", "0.3"});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_NE(c.err_text.find("timeout after 0.3 s: wan2 is UNKNOWN (pending), not OK"),
              std::string::npos)
            << c.err_text;
    EXPECT_TRUE(c.out_text.empty());
}

TEST_F(CtlTest, WatchPrintsALinePerChangeAndEndsWithTheDaemon)
{
    Ctl c(loop);
    c.start({"watch"}, server.path());
    ASSERT_TRUE(testutil::run_until(loop, [&] {
        c.pump();
        return c.lines() >= 1;
    }));
    board.set_iface_verdict("wan1", omrt::Health::Error, omrt::Reason::link_down, "down");
    ASSERT_TRUE(testutil::run_until(loop, [&] {
        c.pump();
        return c.lines() >= 2;
    }));
    EXPECT_NE(c.out_text.find("\"link_down\""), std::string::npos);
    server.close();
    ASSERT_TRUE(testutil::run_until(loop, [&] {
        c.pump();
        return c.exited;
    }));
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_NE(c.err_text.find("closed the connection"), std::string::npos) << c.err_text;
}

TEST_F(CtlTest, UsageErrorsAndMissingDaemon)
{
    for (std::vector<std::string> args : {std::vector<std::string>{},
                                          {"frob"},
                                          {"status", "--yaml"},
                                          {"wait", "wan1"},
                                          {"wait", "wan1", "GREEN"},
                                          {"wait", "wan1", "OK", "--reason", "nonsense"},
                                          {"wait", "wan1", "OK", "--timeout", "-1"},
                                          {"reload", "now"},
                                          {"-t", "0", "status"},
                                          {"recheck", "a", "b"}}) {
        Ctl c(loop);
        run(c, args);
        EXPECT_EQ(c.exit_code(), 2) << (args.empty() ? "" : args[0]) << ": " << c.err_text;
        EXPECT_FALSE(c.err_text.empty());
    }
    Ctl help(loop);
    run(help, {"-h"});
    EXPECT_EQ(help.exit_code(), 0);
    EXPECT_NE(help.out_text.find("usage: omr-trackerctl"), std::string::npos);

    std::string missing = dir.file("nothing.sock");
    Ctl c(loop);
    run(c, {"-s", missing, "status"});
    EXPECT_EQ(c.exit_code(), 1);
    EXPECT_NE(c.err_text.find("cannot connect to " + missing +
                              ": No such file or directory (is omr-trackerd running?)"),
              std::string::npos)
            << c.err_text;
}
