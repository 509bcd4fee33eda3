// The injectable clock (STYLE.md §7, §15).
//
// Every duration the daemon measures (RTTs, ages, deadlines, hold-downs, back-off) comes
// from mono_us(), CLOCK_MONOTONIC in microseconds. Wall time is read only where it is
// shown to people or written to files (status "since", logs); routers without an RTC
// step their wall clock at the first NTP sync, which must not disturb any measurement.
#pragma once

#include <cstdint>

namespace omrt {

using MonoUs = int64_t; // CLOCK_MONOTONIC, microseconds
using WallUs = int64_t; // CLOCK_REALTIME, microseconds since the epoch

class Clock {
public:
    virtual ~Clock() = default;
    virtual MonoUs mono_us() const = 0;
    virtual WallUs wall_us() const = 0;
    // Wall-clock time of a past monotonic instant, for output only.
    WallUs wall_of(MonoUs t) const { return wall_us() - (mono_us() - t); }
};

// The real clocks. One instance lives in main() and is passed down by reference.
class SystemClock final : public Clock {
public:
    MonoUs mono_us() const override;
    WallUs wall_us() const override;
};

// A clock that only moves when told to: unit tests of the pure state machines.
class FakeClock final : public Clock {
public:
    explicit FakeClock(MonoUs start = 1000000, WallUs wall_start = 1700000000000000)
        : mono_(start), wall_offset_(wall_start - start)
    {}
    MonoUs mono_us() const override { return mono_; }
    WallUs wall_us() const override { return mono_ + wall_offset_; }
    void advance_us(int64_t d) { mono_ += d; }
    void advance_ms(int64_t d) { mono_ += d * 1000; }
    // Steps only the wall clock, like an NTP sync on a router without RTC.
    void step_wall_us(int64_t d) { wall_offset_ += d; }

private:
    MonoUs mono_;
    int64_t wall_offset_;
};

constexpr int64_t kUsPerMs = 1000;
constexpr int64_t kUsPerS = 1000000;

} // namespace omrt
