#include "icmp/stats.h"

#include <algorithm>

namespace icmp {

namespace {

// Ascending, in place, O(n log n) for the largest window (1000) and no recursion: a
// fraction of the code std::nth_element instantiates, and one sort serves both ranks.
void heap_sort(int64_t *v, unsigned n)
{
    auto sift = [v](unsigned root, unsigned end) {
        for (unsigned child; (child = 2 * root + 1) < end; root = child) {
            if (child + 1 < end && v[child] < v[child + 1])
                child++;
            if (v[root] >= v[child])
                return;
            std::swap(v[root], v[child]);
        }
    };
    for (unsigned i = n / 2; i-- > 0;)
        sift(i, n);
    for (unsigned end = n; end-- > 1;) {
        std::swap(v[0], v[end]);
        sift(0, end);
    }
}

} // namespace

RollingWindow::RollingWindow(unsigned capacity)
    : ring_(capacity ? capacity : 1, kLost), scratch_(ring_.size())
{}

void RollingWindow::add_reply(int64_t rtt_us)
{
    if (rtt_us < 0)
        rtt_us = 0;
    if (count_ == ring_.size() && ring_[head_] == kLost)
        lost_--;
    ring_[head_] = rtt_us;
    head_ = (head_ + 1) % unsigned(ring_.size());
    if (count_ < ring_.size())
        count_++;
}

void RollingWindow::add_loss()
{
    if (count_ == ring_.size() && ring_[head_] == kLost)
        lost_--;
    ring_[head_] = kLost;
    lost_++;
    head_ = (head_ + 1) % unsigned(ring_.size());
    if (count_ < ring_.size())
        count_++;
}

void RollingWindow::clear()
{
    head_ = 0;
    count_ = 0;
    lost_ = 0;
}

WindowSummary RollingWindow::summary() const
{
    WindowSummary s;
    s.samples = count_;
    s.lost = lost_;
    s.replies = count_ - lost_;
    s.loss_pct = loss_pct();
    if (s.replies == 0)
        return s;

    const unsigned cap = unsigned(ring_.size());
    unsigned n = 0;
    int64_t sum = 0, jitter_sum = 0, prev = -1;
    int64_t lo = INT64_MAX, hi = 0;
    for (unsigned i = 0, at = (head_ + cap - count_) % cap; i < count_; i++, at = (at + 1) % cap) {
        const int64_t r = ring_[at];
        if (r == kLost)
            continue;
        scratch_[n++] = r;
        sum += r;
        lo = std::min(lo, r);
        hi = std::max(hi, r);
        if (prev >= 0)
            jitter_sum += r > prev ? r - prev : prev - r;
        prev = r;
    }
    s.min_rtt_us = lo;
    s.max_rtt_us = hi;
    s.mean_rtt_us = sum / n;
    if (n >= 2)
        s.jitter_us = jitter_sum / (n - 1);

    int64_t *v = scratch_.data();
    heap_sort(v, n);
    s.median_rtt_us = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    const unsigned rank = (95 * n + 99) / 100; // ceil(0.95 n), >= 1
    s.p95_rtt_us = v[rank - 1];
    return s;
}

void RtoEstimator::reset()
{
    has_sample_ = false;
    srtt_us_ = 0;
    rttvar_us_ = 0;
    backoffs_ = 0;
    rto_us_ = clamp(p_.initial_us);
}

int64_t RtoEstimator::clamp(int64_t v) const
{
    return std::min(std::max(v, p_.min_us), p_.max_us);
}

void RtoEstimator::on_sample(int64_t rtt_us)
{
    if (rtt_us < 0)
        rtt_us = 0;
    if (!has_sample_) { // (2.2)
        srtt_us_ = rtt_us;
        rttvar_us_ = rtt_us / 2;
        has_sample_ = true;
    } else { // (2.3), RTTVAR first: it uses the old SRTT
        const int64_t diff = srtt_us_ > rtt_us ? srtt_us_ - rtt_us : rtt_us - srtt_us_;
        rttvar_us_ = (3 * rttvar_us_ + diff) / 4;
        srtt_us_ = (7 * srtt_us_ + rtt_us) / 8;
    }
    backoffs_ = 0;
    rto_us_ = clamp(srtt_us_ + std::max(p_.granularity_us, int64_t(p_.k) * rttvar_us_));
}

void RtoEstimator::on_timeout()
{
    backoffs_++;
    rto_us_ = rto_us_ > p_.max_us / 2 ? p_.max_us : clamp(rto_us_ * 2);
}

} // namespace icmp
