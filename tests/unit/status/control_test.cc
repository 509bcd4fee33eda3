// Loop-level tests of the control socket: the real ControlServer on a temporary path, the
// real libev loop, real client sockets, a fake ControlHandler.
#include "status/control.h"

#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "status_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <iterator>
#include <poll.h>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct FakeHandler : status::ControlHandler {
    std::set<std::string> names = {"wan1", "wan2", "vps"};
    std::vector<std::string> rechecks;
    int reloads = 0;
    std::vector<std::string> reload_errors; // empty = reload succeeds
    bool on_recheck(const std::string &name, std::string *err) override
    {
        rechecks.push_back(name);
        if (!name.empty() && !names.count(name)) {
            *err = "unknown name '" + name + "'";
            return false;
        }
        return true;
    }
    bool on_reload(std::vector<std::string> *errors) override
    {
        reloads++;
        *errors = reload_errors;
        return reload_errors.empty();
    }
};

// A client socket read without blocking; the test drives the loop while waiting.
struct Client {
    int fd = -1;
    std::string buf;
    bool eof = false;
    ~Client() { close(); }
    void close()
    {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
    bool connect_to(const std::string &path, int rcvbuf = 0)
    {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        if (rcvbuf)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        struct sockaddr_un sa = {};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path.c_str());
        return connect(fd, reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)) == 0;
    }
    void send_raw(const std::string &s)
    {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0)
                return;
            off += size_t(n);
        }
    }
    void pump()
    {
        char tmp[65536];
        for (;;) {
            ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
            if (n > 0) {
                buf.append(tmp, size_t(n));
                continue;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                eof = true;
            return;
        }
    }
    bool has_line() const { return buf.find('\n') != std::string::npos; }
    std::string pop_line()
    {
        size_t nl = buf.find('\n');
        if (nl == std::string::npos)
            return "";
        std::string l = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return l;
    }
};

core::JsonValue parse(const std::string &text)
{
    core::JsonValue v;
    core::JsonLimits lim;
    lim.max_bytes = 4 << 20;
    lim.max_elements = 1 << 20;
    std::string err;
    EXPECT_TRUE(core::json_parse(text, v, &err, lim)) << err << ": " << text.substr(0, 200);
    return v;
}

bool is_ok(const core::JsonValue &v)
{
    const core::JsonValue *ok = v.get("ok");
    return ok && ok->is_bool() && ok->as_bool();
}

std::string error_of(const core::JsonValue &v)
{
    const std::string *e = v.get_string("error");
    return e ? *e : std::string();
}

struct ControlTest : ::testing::Test {
    core::Loop loop;
    omrt::SystemClock clock;
    status::Board board{loop, clock};
    FakeHandler handler;
    status::ControlServer server{loop, clock, board, handler};
    testutil::TempDir dir;
    status::ControlOptions opt;

    void SetUp() override
    {
        core::log_init("test", core::LogSink::None, LOG_DEBUG);
        board.sync_interfaces({"wan1", "wan2"});
        board.sync_servers({"vps"});
        opt.path = dir.file("ctl.sock");
    }
    void TearDown() override { server.close(); }

    void open_server()
    {
        std::string err;
        ASSERT_TRUE(server.open(opt, &err)) << err;
    }

    // The next reply line, or "" on EOF/timeout.
    std::string read_line(Client &c, double timeout_s = 5)
    {
        testutil::run_until(
                loop,
                [&] {
                    c.pump();
                    return c.has_line() || c.eof;
                },
                timeout_s);
        return c.pop_line();
    }
    core::JsonValue ask(Client &c, const std::string &req)
    {
        c.send_raw(req + "\n");
        return parse(read_line(c));
    }
    bool wait_eof(Client &c, double timeout_s = 5)
    {
        return testutil::run_until(
                loop,
                [&] {
                    c.pump();
                    return c.eof;
                },
                timeout_s);
    }
};

} // namespace

TEST_F(ControlTest, StatusRecheckAndReload)
{
    open_server();
    Client c;
    ASSERT_TRUE(c.connect_to(opt.path));

    core::JsonValue r = ask(c, R"({"cmd":"status"})");
    ASSERT_TRUE(is_ok(r)) << error_of(r);
    const core::JsonValue *st = r.get("status");
    ASSERT_TRUE(st && st->is_object());
    ASSERT_TRUE(st->get("interfaces") && st->get("interfaces")->get("wan1"));
    ASSERT_TRUE(st->get("servers") && st->get("servers")->get("vps"));
    ASSERT_TRUE(st->get("daemon"));

    EXPECT_TRUE(is_ok(ask(c, R"({"cmd":"recheck","name":"wan1"})")));
    EXPECT_TRUE(is_ok(ask(c, R"({"cmd":"recheck"})")));
    r = ask(c, R"({"cmd":"recheck","name":"x"})");
    EXPECT_FALSE(is_ok(r));
    EXPECT_EQ(error_of(r), "unknown name 'x'");
    EXPECT_EQ(handler.rechecks, (std::vector<std::string>{"wan1", "", "x"}));

    EXPECT_TRUE(is_ok(ask(c, R"({"cmd":"reload"})")));
    handler.reload_errors = {"omr-tracker:12: interface 'wan1': option 'timeout': bad value",
                             "network:3: option 'metric': out of range"};
    r = ask(c, R"({"cmd":"reload"})");
    EXPECT_FALSE(is_ok(r));
    EXPECT_NE(error_of(r).find("2 errors"), std::string::npos) << error_of(r);
    const core::JsonValue *errs = r.get("errors");
    ASSERT_TRUE(errs && errs->is_array());
    ASSERT_EQ(errs->size(), 2u);
    EXPECT_EQ(errs->at(0).as_string(), handler.reload_errors[0]);
    EXPECT_EQ(errs->at(1).as_string(), handler.reload_errors[1]);
    EXPECT_EQ(handler.reloads, 2);

    // Pipelined requests in one write, CRLF endings and blank lines are fine.
    c.send_raw("{\"cmd\":\"recheck\",\"name\":\"wan2\"}\r\n\n{\"cmd\":\"recheck\"}\n");
    EXPECT_TRUE(is_ok(parse(read_line(c))));
    EXPECT_TRUE(is_ok(parse(read_line(c))));
    EXPECT_EQ(server.stats().accepted, 1u);
    EXPECT_EQ(server.client_count(), 1u);
}

TEST_F(ControlTest, MalformedRequestsGetAnErrorAndTheConnectionStaysUsable)
{
    open_server();
    Client c;
    ASSERT_TRUE(c.connect_to(opt.path));
    const char *bad[] = {
            "garbage",
            "{",
            "{\"cmd\":\"status\"",
            "[1,2]",
            "\"status\"",
            "42",
            "null",
            "{}",
            "{\"command\":\"status\"}",
            "{\"cmd\":5}",
            "{\"cmd\":null}",
            "{\"cmd\":[\"status\"]}",
            "{\"cmd\":\"frobnicate\"}",
            "{\"cmd\":\"recheck\",\"name\":7}",
            "{\"cmd\":\"recheck\",\"name\":{\"a\":1}}",
            "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
            "{\"cmd\":\"status\"} trailing",
            "\xff\xfe\x01binary",
    };
    for (const char *req : bad) {
        core::JsonValue r = ask(c, req);
        EXPECT_FALSE(is_ok(r)) << req;
        EXPECT_FALSE(error_of(r).empty()) << req;
        ASSERT_FALSE(c.eof) << "closed after " << req;
    }
    core::JsonValue r = ask(c, R"({"cmd":"frobnicate"})");
    EXPECT_EQ(error_of(r), "unknown command 'frobnicate' (expected status, recheck, reload or "
                           "watch)");
    r = ask(c, R"({"cmd":5})");
    EXPECT_EQ(error_of(r), "\"cmd\" must be a string");
    EXPECT_TRUE(is_ok(ask(c, R"({"cmd":"status"})")));
    EXPECT_EQ(server.stats().bad_requests, std::size(bad) + 2);
    EXPECT_TRUE(handler.rechecks.empty());
}

TEST_F(ControlTest, RandomRequestsGetOneReplyEachAndNeverHurtTheServer)
{
    open_server();
    Client c;
    ASSERT_TRUE(c.connect_to(opt.path));
    // Lines built from JSON fragments and raw bytes, from a fixed seed.
    static const char *const frags[] = {"{",        "}",       "[",    "]",          "\"",
                                        ":",        ",",       "cmd",  "\"cmd\"",    "status",
                                        "watch",    "recheck", "name", "\"reload\"", "1e999",
                                        "-0",       "null",    "true", "\\u0000",    "\\",
                                        "\xc3\x28", "\x01",    "    ", "\"\xff\"",   "0.5"};
    unsigned seed = 12345;
    auto rnd = [&](unsigned n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) % n;
    };
    std::string batch;
    int lines = 0;
    for (int i = 0; i < 300; i++) {
        std::string line;
        unsigned n = 1 + rnd(12);
        for (unsigned k = 0; k < n; k++)
            line += frags[rnd(std::size(frags))];
        if (core::trim(line).empty())
            continue;
        batch += line + "\n";
        lines++;
    }
    c.send_raw(batch);
    int replies = 0;
    while (replies < lines) {
        std::string l = read_line(c);
        if (l.empty())
            break;
        core::JsonValue r = parse(l);
        EXPECT_TRUE(r.get("ok") || r.get("event")) << l;
        replies += r.get("ok") != nullptr;
    }
    EXPECT_EQ(replies, lines);
    EXPECT_FALSE(c.eof);
    // Still serving, this client and others.
    Client d;
    ASSERT_TRUE(d.connect_to(opt.path));
    EXPECT_TRUE(is_ok(ask(d, R"({"cmd":"status"})")));
}

TEST_F(ControlTest, OverlongLineIsRefusedAndTheClientClosed)
{
    open_server();
    Client a, b;
    ASSERT_TRUE(a.connect_to(opt.path));
    ASSERT_TRUE(b.connect_to(opt.path));
    a.send_raw(std::string(opt.max_line + 100, 'x')); // no newline at all
    core::JsonValue r = parse(read_line(a));
    EXPECT_FALSE(is_ok(r));
    EXPECT_NE(error_of(r).find("too long"), std::string::npos) << error_of(r);
    EXPECT_TRUE(wait_eof(a));

    std::string big = R"({"cmd":"recheck","name":")" + std::string(20000, 'n') + "\"}\n";
    b.send_raw(big);
    r = parse(read_line(b));
    EXPECT_NE(error_of(r).find("too long"), std::string::npos) << error_of(r);
    EXPECT_TRUE(wait_eof(b));
    EXPECT_TRUE(handler.rechecks.empty());
    EXPECT_TRUE(testutil::run_until(loop, [&] { return server.client_count() == 0; }));

    // A request of exactly max_line bytes is still accepted.
    Client c;
    ASSERT_TRUE(c.connect_to(opt.path));
    std::string req = R"({"cmd":"recheck","name":"wan1","pad":")";
    req += std::string(opt.max_line - req.size() - 2, 'p') + "\"}";
    ASSERT_EQ(req.size(), opt.max_line);
    EXPECT_TRUE(is_ok(ask(c, req)));
}

TEST_F(ControlTest, LastRequestWithoutNewlineBeforeEofIsAnswered)
{
    open_server();
    Client c;
    ASSERT_TRUE(c.connect_to(opt.path));
    c.send_raw(R"({"cmd":"status"})");
    shutdown(c.fd, SHUT_WR);
    EXPECT_TRUE(is_ok(parse(read_line(c))));
    EXPECT_TRUE(wait_eof(c));
}

TEST_F(ControlTest, WatchGetsOneEventPerIterationOfChanges)
{
    open_server();
    Client w, other;
    ASSERT_TRUE(w.connect_to(opt.path));
    ASSERT_TRUE(other.connect_to(opt.path));
    EXPECT_TRUE(is_ok(ask(other, R"({"cmd":"status"})")));
    core::JsonValue r = ask(w, R"({"cmd":"watch"})");
    ASSERT_TRUE(is_ok(r));
    ASSERT_TRUE(r.get("status") && r.get("status")->get("interfaces"));

    // Three changes in one iteration: one event, carrying the last state.
    board.set_iface_verdict("wan1", omrt::Health::Ok, omrt::Reason::ok, "one");
    board.set_iface_verdict("wan1", omrt::Health::Error, omrt::Reason::link_down, "two");
    board.set_server_verdict("vps", omrt::Health::Ok, omrt::Reason::ok, "three");
    core::JsonValue ev = parse(read_line(w));
    ASSERT_TRUE(ev.get_string("event"));
    EXPECT_EQ(*ev.get_string("event"), "status");
    const core::JsonValue *st = ev.get("status");
    ASSERT_TRUE(st && st->get("interfaces"));
    const core::JsonValue *w1 = st->get("interfaces")->get("wan1");
    ASSERT_TRUE(w1);
    EXPECT_EQ(*w1->get_string("status"), "ERROR");
    EXPECT_EQ(*w1->get_string("reason"), "link_down");
    EXPECT_EQ(*w1->get_string("message"), "two");
    EXPECT_EQ(*st->get("servers")->get("vps")->get_string("message"), "three");
    // The next line is the reply to this request, not a second event.
    r = ask(w, R"({"cmd":"status"})");
    EXPECT_TRUE(is_ok(r));
    EXPECT_FALSE(r.get("event"));

    // Metrics-only changes are not events.
    board.iface("wan1")->latency_ms = 12;
    board.changed(false);
    board.set_iface_verdict("wan2", omrt::Health::Ok, omrt::Reason::ok, "four");
    ev = parse(read_line(w));
    EXPECT_EQ(*ev.get("status")->get("interfaces")->get("wan2")->get_string("message"), "four");
    EXPECT_FALSE(w.has_line());

    // A client that did not ask to watch gets nothing.
    other.pump();
    EXPECT_TRUE(other.buf.empty());
    EXPECT_FALSE(other.eof);
}

TEST_F(ControlTest, ClientThatNeverReadsIsDroppedAndTheLoopStaysResponsive)
{
    // A large status document, so the events pile up quickly.
    std::vector<std::string> names;
    for (int i = 0; i < 60; i++)
        names.push_back("wan" + std::to_string(i));
    board.sync_interfaces(names);
    for (auto &n : names)
        board.set_iface_verdict(n, omrt::Health::Ok, omrt::Reason::ok, std::string(200, 'm'));
    open_server();

    Client slow, good;
    ASSERT_TRUE(slow.connect_to(opt.path, 4096));
    ASSERT_TRUE(good.connect_to(opt.path));
    slow.send_raw("{\"cmd\":\"watch\"}\n"); // and never reads again

    // A significant change at every iteration (every 2 ms), each one an event.
    struct Flipper {
        status::Board *board;
        int n = 0;
        void flip()
        {
            n++;
            // A state change each time (a message alone goes out at the measurement rate).
            board->set_iface_verdict("wan0", n % 2 ? omrt::Health::Error : omrt::Health::Ok,
                                     n % 2 ? omrt::Reason::target_timeout : omrt::Reason::ok,
                                     "change " + std::to_string(n));
        }
    } flipper{&board};
    core::Timer flip(loop, core::member<Flipper, &Flipper::flip>, &flipper);
    flip.start(0.002, 0.002);

    // Meanwhile the other client keeps asking; every answer must come back promptly.
    double worst_s = 0;
    int answered = 0;
    bool waiting = false;
    omrt::MonoUs sent_us = 0;
    bool dropped = testutil::run_until(
            loop,
            [&] {
                if (!waiting) {
                    good.send_raw("{\"cmd\":\"status\"}\n");
                    sent_us = clock.mono_us();
                    waiting = true;
                }
                good.pump();
                if (good.has_line()) {
                    EXPECT_TRUE(is_ok(parse(good.pop_line())));
                    worst_s = std::max(worst_s, double(clock.mono_us() - sent_us) / 1e6);
                    answered++;
                    waiting = false;
                }
                return server.stats().dropped == 1;
            },
            20);
    flip.stop();
    ASSERT_TRUE(dropped) << "slow client never dropped after " << flipper.n << " events";
    std::printf("slow watcher dropped after %d events; %d status replies meanwhile, worst "
                "%.1f ms\n",
                flipper.n, answered, worst_s * 1000);
    EXPECT_GT(flipper.n, 10);
    EXPECT_GT(answered, 0);
    EXPECT_LT(worst_s, 0.5);
    EXPECT_TRUE(testutil::run_until(loop, [&] { return server.client_count() == 1; }));
    // The slow client finds its connection closed once it reads what was sent.
    EXPECT_TRUE(wait_eof(slow));
    EXPECT_TRUE(is_ok(ask(good, R"({"cmd":"status"})")));
}

TEST_F(ControlTest, HalfSentRequestAndIdleClientsTimeOutButQuietWatchersStay)
{
    opt.idle_timeout_s = 0.2;
    open_server();
    Client watcher, half, idle;
    ASSERT_TRUE(watcher.connect_to(opt.path));
    EXPECT_TRUE(is_ok(ask(watcher, R"({"cmd":"watch"})")));
    ASSERT_TRUE(half.connect_to(opt.path));
    ASSERT_TRUE(idle.connect_to(opt.path));
    omrt::MonoUs t0 = clock.mono_us();
    half.send_raw("{\"cmd\":\"sta");

    core::JsonValue r = parse(read_line(half));
    double waited_s = double(clock.mono_us() - t0) / 1e6;
    EXPECT_FALSE(is_ok(r));
    EXPECT_NE(error_of(r).find("timeout"), std::string::npos) << error_of(r);
    EXPECT_GE(waited_s, 0.19);
    EXPECT_LT(waited_s, 2.0);
    EXPECT_TRUE(wait_eof(half));
    EXPECT_TRUE(wait_eof(idle));
    EXPECT_TRUE(idle.buf.empty());
    EXPECT_EQ(server.stats().timed_out, 2u);

    // Well past the timeout, the quiet watcher is still there and still gets events.
    testutil::run_for(loop, 0.3);
    watcher.pump();
    EXPECT_FALSE(watcher.eof);
    EXPECT_EQ(server.client_count(), 1u);
    board.set_iface_verdict("wan1", omrt::Health::Ok, omrt::Reason::ok, "ok");
    EXPECT_TRUE(parse(read_line(watcher)).get("event"));
}

TEST_F(ControlTest, SocketIsPrivateStaleOnesAreReplacedLiveOnesAndFilesAreNot)
{
    // A stale socket left by a crashed daemon: bound, never listened, closed.
    {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = {};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.path.c_str());
        ASSERT_EQ(bind(s, reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)), 0);
        close(s);
    }
    mode_t old = umask(0);
    open_server();
    umask(old);
    struct stat st;
    ASSERT_EQ(lstat(opt.path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);

    // A second instance must not steal the socket of a running one.
    {
        status::Board board2{loop, clock};
        FakeHandler h2;
        status::ControlServer second{loop, clock, board2, h2};
        std::string err;
        EXPECT_FALSE(second.open(opt, &err));
        EXPECT_NE(err.find("in use"), std::string::npos) << err;
    }
    Client c;
    ASSERT_TRUE(c.connect_to(opt.path));
    EXPECT_TRUE(is_ok(ask(c, R"({"cmd":"status"})")));

    server.close();
    EXPECT_NE(lstat(opt.path.c_str(), &st), 0); // unlinked
    EXPECT_TRUE(wait_eof(c));
    server.close(); // idempotent

    // Not a socket: refused, left alone.
    int fd = open(opt.path.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
    std::string err;
    EXPECT_FALSE(server.open(opt, &err));
    EXPECT_NE(err.find("not a socket"), std::string::npos) << err;
    ASSERT_EQ(lstat(opt.path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    unlink(opt.path.c_str());

    status::ControlOptions longp = opt;
    longp.path = "/tmp/" + std::string(200, 'l');
    EXPECT_FALSE(server.open(longp, &err));
    EXPECT_NE(err.find("longer than"), std::string::npos) << err;
    EXPECT_FALSE(server.is_open());
}

TEST_F(ControlTest, TooManyClientsAreRefused)
{
    opt.max_clients = 2;
    open_server();
    Client a, b, c;
    ASSERT_TRUE(a.connect_to(opt.path));
    ASSERT_TRUE(b.connect_to(opt.path));
    EXPECT_TRUE(is_ok(ask(a, R"({"cmd":"status"})")));
    EXPECT_TRUE(is_ok(ask(b, R"({"cmd":"status"})")));
    ASSERT_TRUE(c.connect_to(opt.path));
    core::JsonValue r = parse(read_line(c));
    EXPECT_NE(error_of(r).find("too many clients"), std::string::npos);
    EXPECT_TRUE(wait_eof(c));
    EXPECT_EQ(server.stats().refused, 1u);
    a.close();
    EXPECT_TRUE(testutil::run_until(loop, [&] { return server.client_count() == 1; }));
    Client d;
    ASSERT_TRUE(d.connect_to(opt.path));
    EXPECT_TRUE(is_ok(ask(d, R"({"cmd":"status"})")));
}

namespace {

// Connects as uid/gid 65534 (nobody/nogroup) from a forked child and returns the reply
// line the daemon sent (or "connect: <error>").
std::string ask_as_nobody(core::Loop &loop, const std::string &path)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return "pipe failed";
    pid_t pid = fork();
    if (pid == 0) {
        ::close(p[0]);
        std::string out;
        if (setgroups(0, nullptr) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
            out = "setuid failed";
        } else {
            Client c;
            if (!c.connect_to(path)) {
                out = std::string("connect: ") + std::strerror(errno);
            } else {
                c.send_raw("{\"cmd\":\"status\"}\n");
                struct pollfd pf = {c.fd, POLLIN, 0};
                for (int i = 0; i < 50 && !c.has_line() && !c.eof; i++) {
                    poll(&pf, 1, 100);
                    c.pump();
                }
                out = c.has_line() ? c.pop_line() : "no reply";
            }
        }
        (void)!write(p[1], out.data(), out.size());
        _exit(0);
    }
    ::close(p[1]);
    std::string got;
    bool done = false;
    core::ChildWatcher cw(
            loop, [](void *, pid_t, int) noexcept {}, nullptr);
    cw.start(pid);
    testutil::run_until(loop, [&] {
        char buf[65536];
        for (;;) {
            struct pollfd pf = {p[0], POLLIN, 0};
            if (poll(&pf, 1, 0) <= 0)
                return false;
            ssize_t n = read(p[0], buf, sizeof(buf));
            if (n <= 0) {
                done = true;
                return true;
            }
            got.append(buf, size_t(n));
        }
    });
    ::close(p[0]);
    (void)done;
    return got;
}

} // namespace

TEST_F(ControlTest, PeerWithAnotherUidIsRefused)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to run a client as another uid";
    ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0); // let nobody reach the socket
    open_server();
    // The 0600 mode already keeps other users out; loosen it to test the second line of
    // defence, the SO_PEERCRED check.
    ASSERT_EQ(chmod(opt.path.c_str(), 0666), 0);
    std::string reply = ask_as_nobody(loop, opt.path);
    core::JsonValue r = parse(reply);
    EXPECT_FALSE(is_ok(r));
    EXPECT_NE(error_of(r).find("permission denied"), std::string::npos) << reply;
    EXPECT_EQ(server.stats().refused, 1u);
    EXPECT_EQ(server.stats().accepted, 0u);

    // With the mode left alone, the kernel refuses the connection itself.
    ASSERT_EQ(chmod(opt.path.c_str(), 0600), 0);
    reply = ask_as_nobody(loop, opt.path);
    EXPECT_NE(reply.find("connect: Permission denied"), std::string::npos) << reply;
}

TEST_F(ControlTest, AllowedGroupGetsAGroupSocketAndIsServed)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to chown the socket and run a client as another uid";
    opt.allowed_gid = 65534;
    ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
    open_server();
    struct stat st;
    ASSERT_EQ(lstat(opt.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    EXPECT_EQ(st.st_gid, 65534u);
    std::string reply = ask_as_nobody(loop, opt.path);
    EXPECT_TRUE(is_ok(parse(reply))) << reply;
    EXPECT_EQ(server.stats().accepted, 1u);
}
