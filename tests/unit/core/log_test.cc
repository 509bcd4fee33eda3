#include "core/log.h"

#include <gtest/gtest.h>

TEST(Log, LevelsByName)
{
    EXPECT_EQ(core::log_level_from_name("debug"), LOG_DEBUG);
    EXPECT_EQ(core::log_level_from_name("WARNING"), LOG_WARNING);
    EXPECT_EQ(core::log_level_from_name("warn"), LOG_WARNING);
    EXPECT_EQ(core::log_level_from_name("error"), LOG_ERR);
    EXPECT_EQ(core::log_level_from_name("5"), LOG_NOTICE);
    EXPECT_EQ(core::log_level_from_name("loud"), -1);
    EXPECT_EQ(core::log_level_from_name("8"), -1);
}

TEST(Log, IdenticalLinesAreCountedNotRepeated)
{
    core::log_init("test", core::LogSink::None, LOG_INFO);
    core::LogCounters before = core::log_counters();
    for (int i = 0; i < 5; i++)
        LOGW("sendto %s failed", "198.51.100.1");
    LOGW("something else");
    LOGD("below the level: not counted at all");
    core::LogCounters after = core::log_counters();
    // 1 line + "last message repeated 4 times" + "something else"
    EXPECT_EQ(after.written - before.written, 3u);
    EXPECT_EQ(after.suppressed - before.suppressed, 4u);
}

TEST(Log, LimiterAllowsOncePerIntervalAndCounts)
{
    core::LogLimiter lim(1000);
    unsigned suppressed = 99;
    EXPECT_TRUE(lim.allow(0, &suppressed));
    EXPECT_EQ(suppressed, 0u);
    EXPECT_FALSE(lim.allow(10));
    EXPECT_FALSE(lim.allow(999));
    EXPECT_TRUE(lim.allow(1000, &suppressed));
    EXPECT_EQ(suppressed, 2u);
}
