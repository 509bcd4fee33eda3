// The pure parts of the hook runner: environment, per-key queue, output line splitter.
#include "hooks/env.h"
#include "hooks/lines.h"
#include "hooks/queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using hooks::HookEnv;
using hooks::KeyQueue;
using hooks::LineSplitter;
using hooks::Request;
using hooks::RunKind;

TEST(HookEnv, SetGetReplaceUnset)
{
    HookEnv e;
    EXPECT_TRUE(e.set("OMR_TRACKER_INTERFACE", "wan1"));
    EXPECT_TRUE(e.set("OMR_TRACKER_STATUS", "OK"));
    EXPECT_TRUE(e.set("OMR_TRACKER_INTERFACE", "wan2"));
    ASSERT_EQ(e.size(), 2u);
    EXPECT_STREQ(e.get("OMR_TRACKER_INTERFACE"), "wan2");
    EXPECT_EQ(e.entries()[0], "OMR_TRACKER_INTERFACE=wan2"); // order kept on replace
    EXPECT_EQ(e.get("OMR_TRACKER"), nullptr);                // no prefix match
    EXPECT_EQ(e.get("OMR_TRACKER_STATUS_MSG"), nullptr);
    EXPECT_TRUE(e.unset("OMR_TRACKER_STATUS"));
    EXPECT_FALSE(e.unset("OMR_TRACKER_STATUS"));
    EXPECT_EQ(e.size(), 1u);
}

TEST(HookEnv, ValuesAreBytesNamesAreIdentifiers)
{
    HookEnv e;
    std::string weird = "a b\t\"q\" 'x' $(touch /tmp/x) `id` \n\xff=;|&";
    EXPECT_TRUE(e.set("V", weird));
    EXPECT_EQ(std::string(e.get("V")), weird);
    EXPECT_TRUE(e.set("EMPTY", ""));
    EXPECT_STREQ(e.get("EMPTY"), "");
    EXPECT_FALSE(e.set("V", std::string("a\0b", 3))); // NUL cannot cross execve
    EXPECT_EQ(std::string(e.get("V")), weird);        // unchanged

    for (const char *bad : {"", "1ABC", "A-B", "A B", "A=B", "BASH_FUNC_x%%", "ÄB"})
        EXPECT_FALSE(e.set(bad, "v")) << bad;
    // Names a shell or ld.so acts on before the hook runs.
    for (const char *refused :
         {"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "LD_PRELOAD", "LD_LIBRARY_PATH"})
        EXPECT_FALSE(e.set(refused, "/tmp/evil")) << refused;
    EXPECT_TRUE(e.set("_x9", "v"));
    EXPECT_TRUE(e.set("PATH", "/opt/bin")); // allowed: overrides the default PATH
}

namespace {

Request req(RunKind k, const char *seq)
{
    Request r;
    r.kind = k;
    r.env.set("SEQ", seq);
    return r;
}

std::vector<std::string> drain_seqs(KeyQueue &q)
{
    std::vector<std::string> out;
    while (!q.empty())
        out.push_back(q.pop().env.get("SEQ"));
    return out;
}

} // namespace

TEST(KeyQueue, PeriodicRequestsCoalesceKeepingTheLatest)
{
    KeyQueue q(8);
    EXPECT_FALSE(q.push(req(RunKind::Periodic, "1")).coalesced);
    auto o = q.push(req(RunKind::Periodic, "2"));
    EXPECT_TRUE(o.coalesced);
    EXPECT_TRUE(q.push(req(RunKind::Periodic, "3")).coalesced);
    EXPECT_EQ(drain_seqs(q), (std::vector<std::string>{"3"}));
}

TEST(KeyQueue, TransitionsKeepOrderAndSupersedePendingPeriodic)
{
    KeyQueue q(8);
    q.push(req(RunKind::Transition, "t1"));
    q.push(req(RunKind::Periodic, "p1"));
    auto o = q.push(req(RunKind::Transition, "t2"));
    EXPECT_TRUE(o.superseded_periodic);
    EXPECT_FALSE(o.dropped_transition);
    q.push(req(RunKind::Periodic, "p2"));
    EXPECT_TRUE(q.push(req(RunKind::Periodic, "p3")).coalesced);
    EXPECT_TRUE(q.has_periodic());
    EXPECT_EQ(drain_seqs(q), (std::vector<std::string>{"t1", "t2", "p3"}));
}

TEST(KeyQueue, OverflowDropsOldestTransitionAfterThePeriodic)
{
    KeyQueue q(3);
    for (const char *s : {"t1", "t2", "t3"})
        EXPECT_FALSE(q.push(req(RunKind::Transition, s)).dropped_transition);
    q.push(req(RunKind::Periodic, "p")); // the periodic slot is extra
    EXPECT_EQ(q.size(), 4u);
    auto o = q.push(req(RunKind::Transition, "t4"));
    EXPECT_TRUE(o.superseded_periodic); // the periodic one goes first...
    EXPECT_TRUE(o.dropped_transition);  // ...then the oldest transition
    EXPECT_EQ(drain_seqs(q), (std::vector<std::string>{"t2", "t3", "t4"}));
}

namespace {

struct Collected {
    std::vector<std::string> lines;
    std::vector<bool> truncated;
};

void collect(void *ctx, const char *line, size_t len, bool truncated) noexcept
{
    auto *c = static_cast<Collected *>(ctx);
    c->lines.emplace_back(line, len);
    c->truncated.push_back(truncated);
}

} // namespace

TEST(LineSplitter, SplitsAcrossChunksAndFlushesTheLastLine)
{
    LineSplitter s(100, 10);
    Collected c;
    std::string in = "one\ntw";
    s.feed(in.data(), in.size(), collect, &c);
    EXPECT_EQ(c.lines.size(), 1u);
    in = "o\r\nthree";
    s.feed(in.data(), in.size(), collect, &c);
    s.finish(collect, &c);
    EXPECT_EQ(c.lines, (std::vector<std::string>{"one", "two", "three"}));
    EXPECT_EQ(s.bytes(), 14u);
}

TEST(LineSplitter, SanitisesControlCharactersAndSkipsBlankLines)
{
    LineSplitter s(100, 10);
    Collected c;
    std::string in = std::string("a\x1b[31mred\x7f\tz\n\n   \n\r\nb\0c\n", 24);
    s.feed(in.data(), in.size(), collect, &c);
    EXPECT_EQ(c.lines, (std::vector<std::string>{"a?[31mred?\tz", "b?c"}));
    EXPECT_EQ(s.emitted(), 2u);
}

TEST(LineSplitter, CutsLongLinesWithinItsBound)
{
    LineSplitter s(8, 10);
    Collected c;
    std::string big(100000, 'x');
    s.feed(big.data(), big.size(), collect, &c);
    EXPECT_LE(s.buffered(), 8u);
    s.feed("\nshort\n", 7, collect, &c);
    ASSERT_EQ(c.lines.size(), 2u);
    EXPECT_EQ(c.lines[0], "xxxxxxxx");
    EXPECT_TRUE(c.truncated[0]);
    EXPECT_EQ(c.lines[1], "short");
    EXPECT_FALSE(c.truncated[1]);
}

TEST(LineSplitter, CountsButDoesNotCopyLinesBeyondTheBudget)
{
    LineSplitter s(64, 3);
    Collected c;
    std::string in;
    for (int i = 0; i < 1000; i++)
        in += "line " + std::to_string(i) + "\n";
    in += "partial";
    s.feed(in.data(), in.size(), collect, &c);
    EXPECT_EQ(s.buffered(), 0u);
    s.finish(collect, &c);
    EXPECT_EQ(c.lines, (std::vector<std::string>{"line 0", "line 1", "line 2"}));
    EXPECT_EQ(s.suppressed(), 998u); // 997 full lines + the partial one
}
