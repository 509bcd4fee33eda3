// Event-loop core: thin owners of libev watchers (STYLE.md §3, §5).
//
// Every watcher class here:
//  - is owned by value inside the object that uses it, and is neither copyable nor
//    movable: while active, libev holds a raw pointer to it;
//  - takes the loop, a plain function pointer and a context pointer, so long-lived types
//    need no std::function (STYLE.md §16);
//  - stops itself in its destructor; start() and stop() are idempotent;
//  - calls back through a noexcept trampoline.
// Callbacks may destroy the watcher's owner only if the call is their last statement.
//
// This header is the only place outside src/core that sees <ev.h>.
#pragma once

#include <ev.h>
#include <sys/types.h>

namespace core {

// The process' event loop. It is libev's default loop because ev_child watchers only
// work there; there is one Loop per process.
class Loop {
public:
    Loop();
    ~Loop() = default;
    Loop(const Loop &) = delete;
    Loop &operator=(const Loop &) = delete;

    struct ev_loop *raw() const { return loop_; }
    // Runs until break_loop(); returns false if libev stopped for another reason.
    void run();
    void break_loop();
    // The time libev saw at the start of this iteration. Only for "now" within one
    // callback; never stored and subtracted later (STYLE.md §7): use core::Clock.
    double iteration_time() const { return ev_now(loop_); }

private:
    struct ev_loop *loop_;
};

// Adapts a member function to the (void *ctx, ...) callback of the watchers below:
//   Timer t{loop, core::member<Foo, &Foo::on_timer>, this};
template <class T, void (T::*M)()>
void member(void *ctx) noexcept
{
    (static_cast<T *>(ctx)->*M)();
}
template <class T, void (T::*M)(int)>
void member_int(void *ctx, int arg) noexcept
{
    (static_cast<T *>(ctx)->*M)(arg);
}

class IoWatcher {
public:
    // |events| passed to the callback is EV_READ and/or EV_WRITE.
    using Callback = void (*)(void *ctx, int events) noexcept;
    IoWatcher(Loop &loop, Callback cb, void *ctx);
    ~IoWatcher() { stop(); }
    IoWatcher(const IoWatcher &) = delete;
    IoWatcher &operator=(const IoWatcher &) = delete;

    // Must be called whenever the fd changes, even to the same number ("the special
    // problem of disappearing file descriptors", ev.pod). Stops the watcher.
    void set(int fd, int events);
    // Changes the interest set, keeping the fd; restarts if it was active.
    void modify(int events);
    void start();
    void stop();
    bool active() const { return ev_is_active(&w_); }
    int fd() const { return w_.fd; }
    int events() const { return w_.events & (EV_READ | EV_WRITE); }

private:
    static void trampoline(struct ev_loop *, ev_io *w, int revents) noexcept;
    ev_io w_;
    Loop &loop_;
    Callback cb_;
    void *ctx_;
};

class Timer {
public:
    using Callback = void (*)(void *ctx) noexcept;
    Timer(Loop &loop, Callback cb, void *ctx);
    ~Timer() { stop(); }
    Timer(const Timer &) = delete;
    Timer &operator=(const Timer &) = delete;

    // Fires once after |after_s| seconds (monotonic), then every |repeat_s| if > 0.
    // Restarts the timer if it was running.
    void start(double after_s, double repeat_s = 0.0);
    void stop();
    bool active() const { return ev_is_active(&w_); }
    // Seconds until it fires; 0 when inactive.
    double remaining() const;

private:
    static void trampoline(struct ev_loop *, ev_timer *w, int revents) noexcept;
    ev_timer w_;
    Loop &loop_;
    Callback cb_;
    void *ctx_;
};

class SignalWatcher {
public:
    using Callback = void (*)(void *ctx, int signum) noexcept;
    SignalWatcher(Loop &loop, int signum, Callback cb, void *ctx);
    ~SignalWatcher() { stop(); }
    SignalWatcher(const SignalWatcher &) = delete;
    SignalWatcher &operator=(const SignalWatcher &) = delete;

    void start();
    void stop();

private:
    static void trampoline(struct ev_loop *, ev_signal *w, int revents) noexcept;
    ev_signal w_;
    Loop &loop_;
    Callback cb_;
    void *ctx_;
};

// Reaps one child process. libev reaps it (waitpid) before calling back.
class ChildWatcher {
public:
    // |status| is the waitpid() status word.
    using Callback = void (*)(void *ctx, pid_t pid, int status) noexcept;
    ChildWatcher(Loop &loop, Callback cb, void *ctx);
    ~ChildWatcher() { stop(); }
    ChildWatcher(const ChildWatcher &) = delete;
    ChildWatcher &operator=(const ChildWatcher &) = delete;

    // Watches |pid|; must be called right after fork() in the parent, before the loop
    // runs again, so the exit cannot be missed.
    void start(pid_t pid);
    void stop();
    bool active() const { return ev_is_active(&w_); }
    pid_t pid() const { return w_.pid; }

private:
    static void trampoline(struct ev_loop *, ev_child *w, int revents) noexcept;
    ev_child w_;
    Loop &loop_;
    Callback cb_;
    void *ctx_;
};

} // namespace core
