#include "core/loop.h"

#include <cstdio>
#include <cstdlib>

namespace core {

Loop::Loop() : loop_(ev_default_loop(EVFLAG_AUTO))
{
    if (!loop_) {
        // No backend at all (no epoll/poll/select): nothing can work.
        std::fputs("omr-trackerd: cannot initialise libev\n", stderr);
        std::abort();
    }
}

void Loop::run()
{
    ev_run(loop_, 0);
}

void Loop::break_loop()
{
    ev_break(loop_, EVBREAK_ALL);
}

// ---------------------------------------------------------------------------

IoWatcher::IoWatcher(Loop &loop, Callback cb, void *ctx) : loop_(loop), cb_(cb), ctx_(ctx)
{
    ev_io_init(&w_, trampoline, -1, 0);
    w_.data = this;
}

void IoWatcher::set(int fd, int events)
{
    stop();
    ev_io_set(&w_, fd, events);
}

void IoWatcher::modify(int events)
{
    if (events == this->events())
        return;
    bool was_active = active();
    stop();
    ev_io_set(&w_, w_.fd, events);
    if (was_active && events)
        start();
}

void IoWatcher::start()
{
    if (w_.fd >= 0 && (w_.events & (EV_READ | EV_WRITE)))
        ev_io_start(loop_.raw(), &w_);
}

void IoWatcher::stop()
{
    ev_io_stop(loop_.raw(), &w_);
}

void IoWatcher::trampoline(struct ev_loop *, ev_io *w, int revents) noexcept
{
    auto *self = static_cast<IoWatcher *>(w->data);
    self->cb_(self->ctx_, revents & (EV_READ | EV_WRITE));
}

// ---------------------------------------------------------------------------

Timer::Timer(Loop &loop, Callback cb, void *ctx) : loop_(loop), cb_(cb), ctx_(ctx)
{
    ev_timer_init(&w_, trampoline, 0., 0.);
    w_.data = this;
}

void Timer::start(double after_s, double repeat_s)
{
    ev_timer_stop(loop_.raw(), &w_);
    if (after_s < 0)
        after_s = 0;
    if (repeat_s < 0)
        repeat_s = 0;
    ev_timer_set(&w_, after_s, repeat_s);
    // libev counts from the loop's cached time, taken before the callbacks of this
    // iteration ran: after slow work (a TLS handshake, a dump) a timer would fire early.
    // One vDSO clock read makes "after_s" mean "from now".
    ev_now_update(loop_.raw());
    ev_timer_start(loop_.raw(), &w_);
}

void Timer::stop()
{
    ev_timer_stop(loop_.raw(), &w_);
}

double Timer::remaining() const
{
    return active() ? ev_timer_remaining(loop_.raw(), const_cast<ev_timer *>(&w_)) : 0.0;
}

void Timer::trampoline(struct ev_loop *, ev_timer *w, int) noexcept
{
    auto *self = static_cast<Timer *>(w->data);
    self->cb_(self->ctx_);
}

// ---------------------------------------------------------------------------

SignalWatcher::SignalWatcher(Loop &loop, int signum, Callback cb, void *ctx)
    : loop_(loop), cb_(cb), ctx_(ctx)
{
    ev_signal_init(&w_, trampoline, signum);
    w_.data = this;
}

void SignalWatcher::start()
{
    ev_signal_start(loop_.raw(), &w_);
}

void SignalWatcher::stop()
{
    ev_signal_stop(loop_.raw(), &w_);
}

void SignalWatcher::trampoline(struct ev_loop *, ev_signal *w, int) noexcept
{
    auto *self = static_cast<SignalWatcher *>(w->data);
    self->cb_(self->ctx_, w->signum);
}

// ---------------------------------------------------------------------------

ChildWatcher::ChildWatcher(Loop &loop, Callback cb, void *ctx) : loop_(loop), cb_(cb), ctx_(ctx)
{
    ev_child_init(&w_, trampoline, 0, 0);
    w_.data = this;
}

void ChildWatcher::start(pid_t pid)
{
    ev_child_stop(loop_.raw(), &w_);
    ev_child_set(&w_, pid, 0);
    ev_child_start(loop_.raw(), &w_);
}

void ChildWatcher::stop()
{
    ev_child_stop(loop_.raw(), &w_);
}

void ChildWatcher::trampoline(struct ev_loop *loop, ev_child *w, int) noexcept
{
    // One exit per watcher: stop before calling back so the owner may restart it.
    ev_child_stop(loop, w);
    auto *self = static_cast<ChildWatcher *>(w->data);
    self->cb_(self->ctx_, w->rpid, w->rstatus);
}

} // namespace core
