// Scope guard for one-off C cleanups inside a function (STYLE.md §4):
//   auto guard = core::defer([&] { freeaddrinfo(res); });
#pragma once

#include <utility>

namespace core {

template <class F>
class Defer {
public:
    explicit Defer(F f) : f_(std::move(f)) {}
    ~Defer()
    {
        if (armed_)
            f_();
    }
    Defer(const Defer &) = delete;
    Defer &operator=(const Defer &) = delete;
    Defer(Defer &&o) noexcept : f_(std::move(o.f_)), armed_(o.armed_) { o.armed_ = false; }
    void cancel() { armed_ = false; }

private:
    F f_;
    bool armed_ = true;
};

template <class F>
Defer<F> defer(F f)
{
    return Defer<F>(std::move(f));
}

} // namespace core
