#include "status/board.h"

#include "core/files.h"
#include "core/json.h"
#include "core/log.h"
#include "omrt/version.h"
#include "status_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using omrt::Health;
using omrt::Reason;

core::JsonValue parse(const std::string &text)
{
    core::JsonValue v;
    core::JsonLimits lim;
    lim.max_bytes = 1 << 20;
    lim.max_elements = 100000;
    std::string err;
    EXPECT_TRUE(core::json_parse(text, v, &err, lim)) << err << "\n" << text;
    return v;
}

const core::JsonValue &member(const core::JsonValue &o, const char *k)
{
    static const core::JsonValue missing;
    const core::JsonValue *v = o.get(k);
    EXPECT_TRUE(v != nullptr) << "missing member " << k;
    return v ? *v : missing;
}

double num(const core::JsonValue &o, const char *k)
{
    const core::JsonValue &v = member(o, k);
    EXPECT_TRUE(v.is_number()) << k << " is not a number";
    return v.as_number();
}

std::string str(const core::JsonValue &o, const char *k)
{
    const core::JsonValue &v = member(o, k);
    EXPECT_TRUE(v.is_string()) << k << " is not a string";
    return v.as_string();
}

bool boolean(const core::JsonValue &o, const char *k)
{
    const core::JsonValue &v = member(o, k);
    EXPECT_TRUE(v.is_bool()) << k << " is not a bool";
    return v.as_bool();
}

// Counts notifications; optionally breaks the loop or removes listeners when called.
struct CountingListener : status::BoardListener {
    status::Board *board = nullptr;
    core::Loop *loop = nullptr;
    int calls = 0;
    BoardListener *remove_on_call = nullptr;
    void on_board_changed() override
    {
        calls++;
        if (remove_on_call)
            board->remove_listener(remove_on_call);
        if (loop)
            loop->break_loop();
    }
};

struct BoardTest : ::testing::Test {
    core::Loop loop;
    omrt::FakeClock clock;
    status::Board board{loop, clock};
    void SetUp() override { core::log_init("test", core::LogSink::None, LOG_DEBUG); }
    core::JsonValue doc() { return parse(board.to_json()); }
};

} // namespace

TEST_F(BoardTest, JsonCarriesEveryContractField)
{
    board.sync_interfaces({"wan1", "wan2"});
    board.sync_servers({"vps"});
    status::IfaceState *w = board.iface("wan1");
    ASSERT_NE(w, nullptr);
    w->device = "eth1";
    w->latency_ms = 12.3;
    w->loss_pct = 0;
    w->jitter_ms = 1.5;
    w->probes_sent = 40;
    w->probes_replies = 37;
    w->probes_timeouts = 2;
    w->probes_errors = 1;
    w->ignored_foreign = 5;
    w->ignored_duplicate = 4;
    w->ignored_late = 3;
    w->ignored_malformed = 2;
    w->history.record(clock.mono_us(), 12.3);
    clock.advance_ms(1500);
    board.set_iface_verdict("wan1", Health::Ok, Reason::ok, "answers");
    status::ServerState *s = board.server("vps");
    ASSERT_NE(s, nullptr);
    s->host = "198.51.100.10 vps.example.net";
    s->addresses = {"198.51.100.10", "2001:db8::10"};
    s->current = true;
    s->master = true;
    board.set_server_verdict("vps", Health::Error, Reason::api_auth_rejected, "bad key");
    board.set_loop_lag_ms(0.25);
    clock.advance_ms(5000);

    core::JsonValue d = doc();
    ASSERT_TRUE(d.is_object());
    const core::JsonValue &ifs = member(d, "interfaces");
    ASSERT_TRUE(ifs.is_object());
    ASSERT_EQ(ifs.size(), 2u);
    EXPECT_EQ(ifs.key_at(0), "wan1"); // config order
    EXPECT_EQ(ifs.key_at(1), "wan2");

    const core::JsonValue &w1 = ifs.at(0);
    EXPECT_EQ(str(w1, "status"), "OK");
    EXPECT_EQ(str(w1, "reason"), "ok");
    EXPECT_EQ(str(w1, "message"), "answers");
    EXPECT_EQ(str(w1, "device"), "eth1");
    EXPECT_DOUBLE_EQ(num(w1, "latency_ms"), 12.3);
    EXPECT_DOUBLE_EQ(num(w1, "loss_pct"), 0);
    EXPECT_DOUBLE_EQ(num(w1, "jitter_ms"), 1.5);
    // since: the wall time of the change, whole seconds.
    EXPECT_EQ(num(w1, "since"), double((clock.wall_us() - 5000000) / 1000000));
    EXPECT_EQ(num(w1, "transitions"), 1);
    EXPECT_EQ(num(w1, "history_step_s"), status::kHistoryStepS);
    const core::JsonValue &h = member(w1, "latency_history_ms");
    ASSERT_TRUE(h.is_array());
    ASSERT_EQ(h.size(), status::kHistorySlots);
    ASSERT_TRUE(h.at(status::kHistorySlots - 1).is_number());
    EXPECT_NEAR(h.at(status::kHistorySlots - 1).as_number(), 12.3, 0.05);

    const core::JsonValue &p = member(w1, "probes");
    EXPECT_EQ(num(p, "sent"), 40);
    EXPECT_EQ(num(p, "replies"), 37);
    EXPECT_EQ(num(p, "timeouts"), 2);
    EXPECT_EQ(num(p, "errors"), 1);
    const core::JsonValue &ig = member(p, "ignored");
    EXPECT_EQ(num(ig, "foreign"), 5);
    EXPECT_EQ(num(ig, "duplicate"), 4);
    EXPECT_EQ(num(ig, "late"), 3);
    EXPECT_EQ(num(ig, "malformed"), 2);

    const core::JsonValue &w2 = ifs.at(1);
    EXPECT_EQ(str(w2, "status"), "UNKNOWN");
    EXPECT_EQ(str(w2, "reason"), "pending");
    EXPECT_TRUE(member(w2, "latency_ms").is_null()); // not measured
    EXPECT_TRUE(member(w2, "loss_pct").is_null());
    EXPECT_TRUE(member(w2, "jitter_ms").is_null());
    EXPECT_EQ(num(w2, "transitions"), 0);

    const core::JsonValue &srvs = member(d, "servers");
    ASSERT_TRUE(srvs.is_object());
    ASSERT_EQ(srvs.size(), 1u);
    EXPECT_EQ(srvs.key_at(0), "vps");
    const core::JsonValue &v = srvs.at(0);
    EXPECT_EQ(str(v, "status"), "ERROR");
    EXPECT_EQ(str(v, "reason"), "api_auth_rejected");
    EXPECT_EQ(str(v, "message"), "bad key");
    EXPECT_EQ(str(v, "name"), "198.51.100.10 vps.example.net");
    const core::JsonValue &a = member(v, "addresses");
    ASSERT_TRUE(a.is_array());
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a.at(0).as_string(), "198.51.100.10");
    EXPECT_EQ(a.at(1).as_string(), "2001:db8::10");
    EXPECT_TRUE(boolean(v, "current"));
    EXPECT_TRUE(boolean(v, "master"));
    EXPECT_FALSE(boolean(v, "backup"));
    EXPECT_EQ(num(v, "since"), double((clock.wall_us() - 5000000) / 1000000));
    EXPECT_EQ(num(v, "transitions"), 1);

    const core::JsonValue &dm = member(d, "daemon");
    EXPECT_EQ(num(dm, "pid"), double(getpid()));
    EXPECT_EQ(str(dm, "version"), OMRT_VERSION);
    EXPECT_EQ(num(dm, "uptime_s"), 6.0); // 1.5 s + 5 s, whole seconds
    EXPECT_GE(num(dm, "cpu_ms"), 0.0);
    EXPECT_GT(num(dm, "rss_kb"), 0.0);
    // glibc (mallinfo2) or the sanitizer allocator here: a number, and this test holds
    // more than a kilobyte of heap (the board itself).
    EXPECT_GT(num(dm, "heap_bytes"), 1024.0);
    EXPECT_DOUBLE_EQ(num(dm, "loop_lag_ms"), 0.25);
    EXPECT_GT(num(dm, "open_fds"), 0.0);
    EXPECT_EQ(num(dm, "status_writes"), 0);
    EXPECT_TRUE(member(dm, "status_write_error").is_null());
}

TEST_F(BoardTest, SinceIsStampedOnStatusChangesOnly)
{
    board.sync_interfaces({"wan1"});
    omrt::WallUs created = clock.wall_us();
    EXPECT_EQ(board.iface("wan1")->since_us, created);

    clock.advance_ms(10000);
    board.set_iface_verdict("wan1", Health::Ok, Reason::ok, "ok");
    omrt::WallUs t1 = clock.wall_us();
    EXPECT_EQ(board.iface("wan1")->since_us, t1);
    EXPECT_EQ(board.iface("wan1")->transitions, 1u);

    // Same status, other message: recorded, but neither a transition nor a new `since`.
    clock.advance_ms(10000);
    board.set_iface_verdict("wan1", Health::Ok, Reason::ok, "ok via 2nd target");
    EXPECT_EQ(board.iface("wan1")->since_us, t1);
    EXPECT_EQ(board.iface("wan1")->transitions, 1u);
    EXPECT_EQ(board.iface("wan1")->message, "ok via 2nd target");

    // An NTP step moves the wall clock: the next change is stamped in the new time.
    clock.step_wall_us(3600 * omrt::kUsPerS);
    clock.advance_ms(1000);
    board.set_iface_verdict("wan1", Health::Error, Reason::target_timeout, "timeout");
    EXPECT_EQ(board.iface("wan1")->since_us, clock.wall_us());
    EXPECT_EQ(board.iface("wan1")->transitions, 2u);
    core::JsonValue d = doc();
    EXPECT_EQ(num(member(d, "interfaces").at(0), "since"), double(clock.wall_us() / 1000000));

    // Unknown names are ignored, not created.
    board.set_iface_verdict("nope", Health::Ok, Reason::ok, "");
    board.set_server_verdict("nope", Health::Ok, Reason::ok, "");
    EXPECT_EQ(board.iface("nope"), nullptr);
    EXPECT_EQ(board.ifaces().size(), 1u);
}

TEST_F(BoardTest, SyncKeepsKeptNamesDropsOthersAndFollowsConfigOrder)
{
    board.sync_interfaces({"wan1", "wan2"});
    board.iface("wan1")->device = "eth1";
    board.iface("wan1")->history.record(clock.mono_us(), 7);
    board.set_iface_verdict("wan1", Health::Ok, Reason::ok, "fine");
    board.set_iface_verdict("wan2", Health::Error, Reason::link_down, "link down");
    omrt::WallUs t_wan1 = board.iface("wan1")->since_us;

    clock.advance_ms(30000);
    board.sync_interfaces({"wan3", "wan1"});
    ASSERT_EQ(board.ifaces().size(), 2u);
    EXPECT_EQ(board.ifaces()[0].name, "wan3");
    EXPECT_EQ(board.ifaces()[1].name, "wan1");
    EXPECT_EQ(board.iface("wan2"), nullptr);

    const status::IfaceState *w1 = board.iface("wan1");
    EXPECT_EQ(w1->status, Health::Ok);
    EXPECT_EQ(w1->message, "fine");
    EXPECT_EQ(w1->device, "eth1");
    EXPECT_EQ(w1->since_us, t_wan1);
    EXPECT_EQ(w1->transitions, 1u);
    EXPECT_TRUE(w1->history.started);

    const status::IfaceState *w3 = board.iface("wan3");
    EXPECT_EQ(w3->status, Health::Unknown);
    EXPECT_EQ(w3->reason, Reason::pending);
    EXPECT_EQ(w3->message, "not checked yet");
    EXPECT_EQ(w3->since_us, clock.wall_us());
    EXPECT_EQ(w3->transitions, 0u);

    board.sync_servers({"vps", "vps2"});
    board.set_server_verdict("vps2", Health::Ok, Reason::ok, "ok");
    board.sync_servers({"vps2"});
    ASSERT_EQ(board.servers().size(), 1u);
    EXPECT_EQ(board.server("vps2")->status, Health::Ok);
    board.sync_servers({});
    EXPECT_TRUE(board.servers().empty());
}

TEST_F(BoardTest, HistoryKeepsWorstPerSlotAndTellsLostFromIdle)
{
    constexpr int64_t step_ms = status::kHistoryStepS * 1000;
    // Start at a slot boundary so each advance lands in a known slot.
    clock.advance_us(step_ms * 1000 - clock.mono_us() % (step_ms * 1000));
    status::LatencyHistory h;
    h.record(clock.mono_us(), 12);
    h.record(clock.mono_us() + 1000, 30); // same slot: the worst stays
    h.record(clock.mono_us() + 2000, 20);
    clock.advance_ms(step_ms);
    h.record(clock.mono_us(), NAN); // probed, all lost
    h.record(clock.mono_us(), NAN);
    clock.advance_ms(step_ms);
    h.record(clock.mono_us(), NAN); // some lost, one answered: the answer counts
    h.record(clock.mono_us(), 9);
    clock.advance_ms(2 * step_ms); // one idle slot in between
    h.record(clock.mono_us() + step_ms * 1000 - 1, 5);

    core::JsonWriter w;
    h.write_json(w, clock.mono_us());
    core::JsonValue a = parse(w.str());
    ASSERT_TRUE(a.is_array());
    ASSERT_EQ(a.size(), status::kHistorySlots);
    size_t n = a.size();
    EXPECT_EQ(a.at(n - 5).as_number(), 30);
    EXPECT_TRUE(a.at(n - 4).is_null()); // lost only
    EXPECT_EQ(a.at(n - 3).as_number(), 9);
    EXPECT_EQ(a.at(n - 2).as_number(), -1); // idle
    EXPECT_EQ(a.at(n - 1).as_number(), 5);
    for (size_t i = 0; i < n - 5; i++)
        EXPECT_EQ(a.at(i).as_number(), -1) << "slot " << i;
    EXPECT_TRUE(h.lost[(h.newest + status::kHistorySlots - 2) % status::kHistorySlots]);

    // Time moves on without probes: the slots scroll out, oldest first.
    clock.advance_ms(3 * step_ms);
    w.clear();
    h.write_json(w, clock.mono_us());
    a = parse(w.str());
    EXPECT_EQ(a.at(n - 4).as_number(), 5);
    EXPECT_EQ(a.at(n - 1).as_number(), -1);

    // A gap longer than the whole history clears it.
    clock.advance_ms(int64_t(status::kHistorySlots + 5) * step_ms);
    w.clear();
    h.write_json(w, clock.mono_us());
    a = parse(w.str());
    for (size_t i = 0; i < n; i++)
        EXPECT_EQ(a.at(i).as_number(), -1) << "slot " << i;
}

TEST_F(BoardTest, StatusFileIsWrittenOncePerIterationNotPerChange)
{
    testutil::TempDir dir;
    std::string path = dir.file("status.json");
    CountingListener l;
    l.loop = &loop;
    board.add_listener(&l);
    board.set_status_file(path, 0.2);
    board.sync_interfaces({"wan1", "wan2"});
    for (int i = 0; i < 5; i++)
        board.set_iface_verdict("wan1", i % 2 ? Health::Ok : Health::Error, Reason::ok,
                                "change " + std::to_string(i));
    board.set_iface_verdict("wan2", Health::Ok, Reason::ok, "ok");
    EXPECT_EQ(board.status_writes(), 0u); // nothing written synchronously

    ASSERT_TRUE(testutil::run_until(loop, [&] { return l.calls > 0; }));
    EXPECT_EQ(l.calls, 1);
    EXPECT_EQ(board.status_writes(), 1u);
    std::string text, err;
    ASSERT_TRUE(core::read_file(path, text, 1 << 20, &err)) << err;
    core::JsonValue d = parse(text);
    EXPECT_EQ(str(member(d, "interfaces").at(0), "message"), "change 4");
    EXPECT_EQ(num(member(d, "interfaces").at(0), "transitions"), 5);
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);

    // An unchanged verdict is no change: no write, no notification.
    board.set_iface_verdict("wan2", Health::Ok, Reason::ok, "ok");
    testutil::run_for(loop, 0.05);
    EXPECT_EQ(l.calls, 1);
    EXPECT_EQ(board.status_writes(), 1u);

    // Metrics-only changes: no notification, one write after the metrics interval.
    for (int i = 0; i < 10; i++) {
        board.iface("wan1")->latency_ms = 10 + i;
        board.changed(false);
    }
    EXPECT_EQ(board.status_writes(), 1u);
    ASSERT_TRUE(testutil::run_until(loop, [&] { return board.status_writes() == 2; }));
    testutil::run_for(loop, 0.3);
    EXPECT_EQ(board.status_writes(), 2u);
    EXPECT_EQ(l.calls, 1);
    ASSERT_TRUE(core::read_file(path, text, 1 << 20, &err)) << err;
    EXPECT_DOUBLE_EQ(num(member(parse(text), "interfaces").at(0), "latency_ms"), 19);

    // A significant change does not wait for the metrics interval (now 30 s).
    board.set_status_file(path, 30);
    ASSERT_TRUE(testutil::run_until(loop, [&] { return board.status_writes() == 3; }));
    board.iface("wan1")->latency_ms = 50;
    board.changed(false);
    board.set_iface_verdict("wan1", Health::Error, Reason::quality_latency, "slow");
    ASSERT_TRUE(testutil::run_until(
            loop, [&] { return l.calls == 2; }, 10));
    EXPECT_EQ(board.status_writes(), 4u);
    board.remove_listener(&l);
}

TEST_F(BoardTest, UnwritableDirectoryIsRecordedAndRetriedOnTheNextChange)
{
    testutil::TempDir dir;
    std::string sub = dir.file("run");
    std::string path = sub + "/status.json"; // the directory does not exist yet
    CountingListener l;
    l.loop = &loop;
    board.add_listener(&l);
    board.set_status_file(path, 60);
    board.sync_interfaces({"wan1"});
    core::LogCounters before = core::log_counters();
    ASSERT_TRUE(testutil::run_until(loop, [&] { return l.calls == 1; }));
    EXPECT_EQ(board.status_writes(), 0u);
    EXPECT_EQ(board.status_write_failures(), 1u);
    EXPECT_NE(board.last_write_error().find(path), std::string::npos) << board.last_write_error();
    EXPECT_NE(board.last_write_error().find("No such file or directory"), std::string::npos);
    EXPECT_EQ(core::log_counters().written - before.written, 1u);
    EXPECT_EQ(str(member(doc(), "daemon"), "status_write_error"), board.last_write_error());

    // It keeps failing: recorded each time, logged once (rate-limited).
    board.set_iface_verdict("wan1", Health::Ok, Reason::ok, "ok");
    ASSERT_TRUE(testutil::run_until(loop, [&] { return l.calls == 2; }));
    EXPECT_EQ(board.status_write_failures(), 2u);
    EXPECT_EQ(core::log_counters().written - before.written, 1u);

    ASSERT_EQ(mkdir(sub.c_str(), 0755), 0);
    board.set_iface_verdict("wan1", Health::Error, Reason::link_down, "down");
    ASSERT_TRUE(testutil::run_until(loop, [&] { return l.calls == 3; }));
    EXPECT_EQ(board.status_writes(), 1u);
    EXPECT_TRUE(board.last_write_error().empty());
    std::string text, err;
    ASSERT_TRUE(core::read_file(path, text, 1 << 20, &err)) << err;
    EXPECT_EQ(str(member(parse(text), "interfaces").at(0), "status"), "ERROR");
    board.remove_listener(&l);
}

TEST_F(BoardTest, ListenersMayRemoveThemselvesOrOthersWhileNotified)
{
    CountingListener a, b, c;
    a.board = b.board = c.board = &board;
    a.remove_on_call = &a; // removes itself
    b.remove_on_call = &c; // removes a later one: c is not called any more
    c.loop = &loop;
    board.add_listener(&a);
    board.add_listener(&b);
    board.add_listener(&c);
    board.add_listener(&c); // twice is once
    board.sync_interfaces({"wan1"});
    testutil::run_for(loop, 0.05);
    EXPECT_EQ(a.calls, 1);
    EXPECT_EQ(b.calls, 1);
    EXPECT_EQ(c.calls, 0);

    b.remove_on_call = nullptr;
    b.loop = &loop;
    board.set_iface_verdict("wan1", Health::Ok, Reason::ok, "ok");
    ASSERT_TRUE(testutil::run_until(loop, [&] { return b.calls == 2; }));
    EXPECT_EQ(a.calls, 1);
    EXPECT_EQ(c.calls, 0);
    board.remove_listener(&b);
}

TEST_F(BoardTest, FlushNowWritesPendingChangesImmediately)
{
    testutil::TempDir dir;
    std::string path = dir.file("status.json");
    board.set_status_file(path, 60);
    board.sync_interfaces({"wan1"});
    board.flush_now();
    EXPECT_EQ(board.status_writes(), 1u);
    EXPECT_EQ(access(path.c_str(), F_OK), 0);
    testutil::run_for(loop, 0.02); // the flush timer was cancelled: no second write
    EXPECT_EQ(board.status_writes(), 1u);
}
