#include "omrt/clock.h"

#include <time.h>

namespace omrt {

namespace {
int64_t read_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return int64_t(ts.tv_sec) * kUsPerS + ts.tv_nsec / 1000;
}
} // namespace

MonoUs SystemClock::mono_us() const
{
    return read_us(CLOCK_MONOTONIC);
}

WallUs SystemClock::wall_us() const
{
    return read_us(CLOCK_REALTIME);
}

} // namespace omrt
