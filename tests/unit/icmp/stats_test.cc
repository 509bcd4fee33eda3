#include "icmp/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

using icmp::RollingWindow;
using icmp::RtoEstimator;
using icmp::RtoParams;

TEST(RollingWindow, EmptyWindow)
{
    RollingWindow w(5);
    auto s = w.summary();
    EXPECT_EQ(s.samples, 0u);
    EXPECT_EQ(s.loss_pct, 0.0);
    EXPECT_EQ(s.min_rtt_us, -1);
    EXPECT_EQ(s.median_rtt_us, -1);
    EXPECT_EQ(s.p95_rtt_us, -1);
    EXPECT_EQ(s.jitter_us, -1);
    EXPECT_EQ(w.capacity(), 5u);
}

TEST(RollingWindow, HandComputedAndEviction)
{
    RollingWindow w(5);
    w.add_reply(10);
    w.add_reply(20);
    w.add_loss();
    w.add_reply(30);
    w.add_reply(40);
    auto s = w.summary();
    EXPECT_EQ(s.samples, 5u);
    EXPECT_EQ(s.replies, 4u);
    EXPECT_EQ(s.lost, 1u);
    EXPECT_DOUBLE_EQ(s.loss_pct, 20.0);
    EXPECT_EQ(s.min_rtt_us, 10);
    EXPECT_EQ(s.max_rtt_us, 40);
    EXPECT_EQ(s.mean_rtt_us, 25);
    EXPECT_EQ(s.median_rtt_us, 25); // (20 + 30) / 2
    EXPECT_EQ(s.p95_rtt_us, 40);    // rank ceil(3.8) = 4
    EXPECT_EQ(s.jitter_us, 10);     // |20-10|, |30-20|, |40-30| (the loss is skipped)

    w.add_reply(50); // evicts 10: 20 L 30 40 50
    s = w.summary();
    EXPECT_EQ(s.samples, 5u);
    EXPECT_EQ(s.lost, 1u);
    EXPECT_EQ(s.min_rtt_us, 20);
    EXPECT_EQ(s.median_rtt_us, 35);
    EXPECT_EQ(s.mean_rtt_us, 35);

    w.add_loss(); // evicts 20: L 30 40 50 L
    EXPECT_DOUBLE_EQ(w.loss_pct(), 40.0);
    w.add_reply(60); // evicts the old loss: 30 40 50 L 60
    EXPECT_EQ(w.lost(), 1u);
    s = w.summary();
    EXPECT_EQ(s.median_rtt_us, 45); // 4 replies: (40 + 50) / 2
    EXPECT_EQ(s.jitter_us, 10);     // 10, 10, 10

    for (int i = 0; i < 5; i++)
        w.add_loss();
    s = w.summary();
    EXPECT_DOUBLE_EQ(s.loss_pct, 100.0);
    EXPECT_EQ(s.replies, 0u);
    EXPECT_EQ(s.mean_rtt_us, -1);

    w.clear();
    EXPECT_EQ(w.size(), 0u);
    EXPECT_EQ(w.summary().samples, 0u);
}

TEST(RollingWindow, OddCountMedianAndSingleSample)
{
    RollingWindow w(3);
    w.add_reply(70);
    auto s = w.summary();
    EXPECT_EQ(s.median_rtt_us, 70);
    EXPECT_EQ(s.p95_rtt_us, 70);
    EXPECT_EQ(s.jitter_us, -1);
    w.add_reply(10);
    w.add_reply(40);
    s = w.summary();
    EXPECT_EQ(s.median_rtt_us, 40);
    EXPECT_EQ(s.p95_rtt_us, 70);
    EXPECT_EQ(s.jitter_us, (60 + 30) / 2);
}

TEST(RollingWindow, TwentySamplesPercentiles)
{
    // RTTs 1..20 ms in a scrambled order; p95 nearest rank = ceil(19) = 19th = 19 ms.
    const int order[20] = {7, 3, 19, 1, 12, 20, 5, 14, 9, 2, 16, 11, 4, 18, 6, 13, 8, 17, 10, 15};
    RollingWindow w(20);
    int64_t jitter_sum = 0;
    for (int i = 0; i < 20; i++) {
        w.add_reply(order[i] * 1000);
        if (i)
            jitter_sum += std::abs(order[i] - order[i - 1]) * 1000;
    }
    auto s = w.summary();
    EXPECT_EQ(s.samples, 20u);
    EXPECT_EQ(s.min_rtt_us, 1000);
    EXPECT_EQ(s.max_rtt_us, 20000);
    EXPECT_EQ(s.median_rtt_us, 10500); // (10 + 11) / 2
    EXPECT_EQ(s.p95_rtt_us, 19000);
    EXPECT_EQ(s.mean_rtt_us, 10500);
    EXPECT_EQ(s.jitter_us, jitter_sum / 19);
    // summary() does not disturb the window (it sorts a scratch copy).
    EXPECT_EQ(w.summary().jitter_us, s.jitter_us);
}

// The ranks come from the window's own sort: checked against std::sort on windows of every
// size up to the configurable maximum, with duplicates, losses and wrap-around.
TEST(RollingWindow, RanksMatchAReferenceSort)
{
    unsigned seed = 12345;
    auto rnd = [&seed](unsigned mod) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 8) % mod;
    };
    for (unsigned cap : {1u, 2u, 3u, 7u, 20u, 64u, 999u, 1000u}) {
        RollingWindow w(cap);
        std::vector<int64_t> all; // every sample in order, kLost for a loss
        for (unsigned k = 0; k < cap + cap / 2 + 3; k++) {
            if (rnd(5) == 0) {
                w.add_loss();
                all.push_back(-1);
            } else {
                int64_t v = int64_t(rnd(cap < 10 ? 4 : 100000)); // duplicates when small
                w.add_reply(v);
                all.push_back(v);
            }
            std::vector<int64_t> in;
            for (size_t i = all.size() > cap ? all.size() - cap : 0; i < all.size(); i++)
                if (all[i] >= 0)
                    in.push_back(all[i]);
            auto s = w.summary();
            if (in.empty()) {
                EXPECT_EQ(s.median_rtt_us, -1);
                continue;
            }
            std::sort(in.begin(), in.end());
            size_t n = in.size();
            int64_t median = n % 2 ? in[n / 2] : (in[n / 2 - 1] + in[n / 2]) / 2;
            ASSERT_EQ(s.median_rtt_us, median) << "cap " << cap << " sample " << k;
            ASSERT_EQ(s.p95_rtt_us, in[(95 * n + 99) / 100 - 1]) << "cap " << cap;
            ASSERT_EQ(s.min_rtt_us, in.front());
            ASSERT_EQ(s.max_rtt_us, in.back());
        }
    }
}

TEST(RollingWindow, ZeroCapacityMeansOne)
{
    RollingWindow w(0);
    EXPECT_EQ(w.capacity(), 1u);
    w.add_loss();
    w.add_reply(5);
    EXPECT_EQ(w.lost(), 0u);
    EXPECT_EQ(w.summary().median_rtt_us, 5);
}

namespace {
RtoParams unclamped()
{
    RtoParams p;
    p.min_us = 0;
    p.max_us = 1500000;
    return p;
}
} // namespace

TEST(Rto, InitialValueAndRfcDefaults)
{
    RtoEstimator r;
    EXPECT_FALSE(r.has_sample());
    EXPECT_EQ(r.rto_us(), 1000000);
    EXPECT_EQ(r.params().k, 3u);
    r.on_sample(10000); // 10 + max(1, 3*5) = 25 ms, rounded up to the 1 s minimum
    EXPECT_EQ(r.rto_us(), 1000000);
    EXPECT_EQ(r.srtt_us(), 10000);
    EXPECT_EQ(r.rttvar_us(), 5000);
}

TEST(Rto, HandComputedSequence)
{
    RtoEstimator r(unclamped());
    r.on_sample(100000); // SRTT 100000, RTTVAR 50000
    EXPECT_EQ(r.rto_us(), 100000 + 3 * 50000);
    r.on_sample(200000); // RTTVAR (3*50000 + 100000)/4 = 62500; SRTT (7*100000+200000)/8
    EXPECT_EQ(r.rttvar_us(), 62500);
    EXPECT_EQ(r.srtt_us(), 112500);
    EXPECT_EQ(r.rto_us(), 112500 + 187500);
    r.on_sample(100000); // diff 12500: RTTVAR 200000/4; SRTT 887500/8 truncated
    EXPECT_EQ(r.rttvar_us(), 50000);
    EXPECT_EQ(r.srtt_us(), 110937);
    EXPECT_EQ(r.rto_us(), 260937);

    r.on_timeout();
    EXPECT_EQ(r.rto_us(), 521874);
    r.on_timeout();
    EXPECT_EQ(r.rto_us(), 1043748);
    r.on_timeout(); // capped at max
    EXPECT_EQ(r.rto_us(), 1500000);
    EXPECT_EQ(r.backoffs(), 3u);

    // A new sample collapses the back-off (RFC 6298 5.7 + 2.3).
    r.on_sample(100000); // diff 10937: RTTVAR 160937/4 = 40234; SRTT 876559/8 = 109569
    EXPECT_EQ(r.backoffs(), 0u);
    EXPECT_EQ(r.rttvar_us(), 40234);
    EXPECT_EQ(r.srtt_us(), 109569);
    EXPECT_EQ(r.rto_us(), 109569 + 3 * 40234);
}

TEST(Rto, GranularityFloorAndK)
{
    RtoEstimator r(unclamped());
    for (int i = 0; i < 200; i++)
        r.on_sample(50000);
    EXPECT_EQ(r.srtt_us(), 50000);
    EXPECT_EQ(r.rttvar_us(), 0);
    EXPECT_EQ(r.rto_us(), 51000); // SRTT + G

    RtoParams p = unclamped();
    p.k = 4;
    RtoEstimator r4(p);
    r4.on_sample(100000);
    EXPECT_EQ(r4.rto_us(), 300000);
}

TEST(Rto, MaxClampAndReset)
{
    RtoEstimator r; // max 60 s
    r.on_sample(50000000);
    EXPECT_EQ(r.rto_us(), 60000000);
    r.on_timeout();
    EXPECT_EQ(r.rto_us(), 60000000);
    r.reset();
    EXPECT_FALSE(r.has_sample());
    EXPECT_EQ(r.rto_us(), 1000000);
    r.on_timeout();
    EXPECT_EQ(r.rto_us(), 2000000); // back-off works before any sample too
}
