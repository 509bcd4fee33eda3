#include "core/loop.h"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// Every test runs the real default loop, bounded by a watchdog timer so a bug shows as a
// failure, not a hang.
struct LoopTest : ::testing::Test {
    core::Loop loop;
    bool watchdog_fired = false;
    core::Timer watchdog{loop,
                         [](void *ctx) noexcept {
                             auto *t = static_cast<LoopTest *>(ctx);
                             t->watchdog_fired = true;
                             t->loop.break_loop();
                         },
                         this};
    void SetUp() override { watchdog.start(5.0); }
};

struct Counter {
    core::Loop *loop;
    int hits = 0;
    int stop_after = 1;
    int last_arg = 0;
    void hit()
    {
        if (++hits >= stop_after)
            loop->break_loop();
    }
    void hit_int(int a)
    {
        last_arg = a;
        hit();
    }
};

} // namespace

TEST_F(LoopTest, TimerFiresOnceThenRepeats)
{
    Counter c{&loop, 0, 3};
    core::Timer t(loop, core::member<Counter, &Counter::hit>, &c);
    t.start(0.001, 0.001);
    EXPECT_TRUE(t.active());
    EXPECT_GT(t.remaining(), 0.0);
    loop.run();
    EXPECT_FALSE(watchdog_fired);
    EXPECT_EQ(c.hits, 3);
    t.stop();
    t.stop(); // idempotent
    EXPECT_FALSE(t.active());
    EXPECT_EQ(t.remaining(), 0.0);
}

TEST_F(LoopTest, IoWatcherSeesReadableFdAndFollowsModify)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    Counter c{&loop};
    core::IoWatcher io(loop, core::member_int<Counter, &Counter::hit_int>, &c);
    io.set(p[0], EV_READ);
    io.start();
    ASSERT_EQ(write(p[1], "x", 1), 1);
    loop.run();
    EXPECT_EQ(c.hits, 1);
    EXPECT_EQ(c.last_arg, EV_READ);

    // Write interest on the write end fires at once.
    core::IoWatcher wio(loop, core::member_int<Counter, &Counter::hit_int>, &c);
    wio.set(p[1], EV_READ);
    wio.modify(EV_WRITE);
    wio.start();
    io.stop();
    loop.run();
    EXPECT_EQ(c.last_arg, EV_WRITE);
    EXPECT_EQ(wio.fd(), p[1]);
    close(p[0]);
    close(p[1]);
}

TEST_F(LoopTest, DestroyingAnActiveWatcherStopsIt)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    Counter c{&loop};
    {
        core::IoWatcher io(loop, core::member_int<Counter, &Counter::hit_int>, &c);
        io.set(p[0], EV_READ);
        io.start();
        auto t = std::make_unique<core::Timer>(loop, core::member<Counter, &Counter::hit>, &c);
        t->start(0.0);
    } // both destroyed while active
    ASSERT_EQ(write(p[1], "x", 1), 1);
    core::Timer done(
            loop, [](void *ctx) noexcept { static_cast<core::Loop *>(ctx)->break_loop(); }, &loop);
    done.start(0.05);
    loop.run();
    EXPECT_EQ(c.hits, 0);
    close(p[0]);
    close(p[1]);
}

TEST_F(LoopTest, SignalWatcherDeliversSignal)
{
    Counter c{&loop};
    core::SignalWatcher s(loop, SIGUSR2, core::member_int<Counter, &Counter::hit_int>, &c);
    s.start();
    core::Timer raise_it(
            loop, [](void *) noexcept { raise(SIGUSR2); }, nullptr);
    raise_it.start(0.0);
    loop.run();
    EXPECT_EQ(c.hits, 1);
    EXPECT_EQ(c.last_arg, SIGUSR2);
}

TEST_F(LoopTest, ChildWatcherReapsAndReportsStatus)
{
    struct Result {
        core::Loop *loop;
        pid_t pid = 0;
        int status = -1;
    } r{&loop};
    core::ChildWatcher cw(
            loop,
            [](void *ctx, pid_t pid, int st) noexcept {
                auto *res = static_cast<Result *>(ctx);
                res->pid = pid;
                res->status = st;
                res->loop->break_loop();
            },
            &r);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0)
        _exit(7);
    cw.start(pid);
    loop.run();
    EXPECT_EQ(r.pid, pid);
    ASSERT_TRUE(WIFEXITED(r.status));
    EXPECT_EQ(WEXITSTATUS(r.status), 7);
    EXPECT_FALSE(cw.active());
}
