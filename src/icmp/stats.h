// Probe statistics: a rolling window of outcomes per target, and the RFC 6298 RTO.
//
// Pure and allocation-free after construction: the tracker adds one outcome per probe and
// reads a summary when it decides. Times are microseconds of omrt::Clock::mono_us().
#pragma once

#include <cstdint>
#include <vector>

namespace icmp {

struct WindowSummary {
    unsigned samples = 0; // outcomes in the window (replies + losses)
    unsigned replies = 0;
    unsigned lost = 0;
    double loss_pct = 0.0; // lost / samples * 100; 0 when empty
    // -1 when the window holds no reply.
    int64_t min_rtt_us = -1;
    int64_t mean_rtt_us = -1;
    int64_t median_rtt_us = -1; // mean of the two middle values for an even count
    int64_t p95_rtt_us = -1;    // nearest rank: the ceil(0.95 n)-th smallest
    int64_t max_rtt_us = -1;
    // Mean absolute difference of consecutive reply RTTs, losses skipped (the |D| of
    // RFC 3550 §6.4.1, averaged over the window instead of smoothed); -1 below 2 replies.
    int64_t jitter_us = -1;
};

// The last |capacity| outcomes of one target, oldest overwritten first.
class RollingWindow {
public:
    explicit RollingWindow(unsigned capacity = 20);

    void add_reply(int64_t rtt_us);
    void add_loss();
    void clear();

    unsigned capacity() const { return unsigned(ring_.size()); }
    unsigned size() const { return count_; }
    unsigned lost() const { return lost_; }
    // O(1).
    double loss_pct() const { return count_ ? 100.0 * lost_ / count_ : 0.0; }
    // O(capacity) expected (two nth_element passes over a scratch copy); no allocation.
    WindowSummary summary() const;

private:
    static constexpr int64_t kLost = -1;
    std::vector<int64_t> ring_; // rtt_us, or kLost
    mutable std::vector<int64_t> scratch_;
    unsigned head_ = 0; // next slot to write
    unsigned count_ = 0;
    unsigned lost_ = 0;
};

struct RtoParams {
    int64_t initial_us = 1000000;  // RFC 6298 (2.1): 1 s before the first sample
    int64_t min_us = 1000000;      // (2.4): RTO below 1 s is rounded up
    int64_t max_us = 60000000;     // (2.5): an upper bound, at least 60 s
    int64_t granularity_us = 1000; // G of (2.2)/(2.3); our clock is finer, 1 ms is a floor
    unsigned k = 3;                // RFC says 4; omr-tracker's disabled code used 3
};

// Retransmission timeout per RFC 6298, used as an adaptive probe timeout:
//   first sample R:   SRTT = R, RTTVAR = R/2
//   later samples R': RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|   (beta = 1/4, before SRTT)
//                     SRTT   = 7/8 SRTT   + 1/8 R'            (alpha = 1/8)
//   RTO = clamp(SRTT + max(G, K * RTTVAR), min, max)
//   on timeout: RTO = min(2 RTO, max) (5.5); the next sample recomputes it (collapsing the
//   back-off). Karn's rule has nothing to exclude: every echo has its own sequence number,
//   so every reply is an unambiguous sample.
// Integer microseconds; divisions truncate.
class RtoEstimator {
public:
    explicit RtoEstimator(const RtoParams &p = RtoParams()) : p_(p) { reset(); }

    void on_sample(int64_t rtt_us);
    void on_timeout();
    void reset();

    int64_t rto_us() const { return rto_us_; }
    bool has_sample() const { return has_sample_; }
    int64_t srtt_us() const { return srtt_us_; }
    int64_t rttvar_us() const { return rttvar_us_; }
    unsigned backoffs() const { return backoffs_; } // timeouts since the last sample
    const RtoParams &params() const { return p_; }

private:
    int64_t clamp(int64_t v) const;
    RtoParams p_;
    bool has_sample_ = false;
    int64_t srtt_us_ = 0;
    int64_t rttvar_us_ = 0;
    int64_t rto_us_ = 0;
    unsigned backoffs_ = 0;
};

} // namespace icmp
