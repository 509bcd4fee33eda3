// core::proctitle against the real kernel: a child process (proctitle_child) sets its title
// from words it reads on stdin; the test reads /proc/PID/cmdline from outside and asks
// `pgrep -f`, as omr-schedule does.
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

#ifndef OMRT_PROCTITLE_CHILD
#error "OMRT_PROCTITLE_CHILD (path of proctitle_child) must be defined"
#endif

namespace {

int64_t now_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// The child, with pipes to its stdin and stdout.
class Child {
public:
    ~Child() { stop(); }

    // argv[0] is always the helper's path; |env| is the whole environment.
    bool start(const std::vector<std::string> &args, const std::vector<std::string> &env)
    {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
            return false;
        std::vector<std::string> av = {OMRT_PROCTITLE_CHILD};
        av.insert(av.end(), args.begin(), args.end());
        std::vector<char *> argv, envp;
        for (std::string &s : av)
            argv.push_back(&s[0]);
        argv.push_back(nullptr);
        std::vector<std::string> ev = env;
        for (std::string &s : ev)
            envp.push_back(&s[0]);
        envp.push_back(nullptr);
        pid_ = fork();
        if (pid_ < 0)
            return false;
        if (pid_ == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            execve(argv[0], argv.data(), envp.data());
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        to_ = in[1];
        from_ = out[0];
        return true;
    }

    // Sends one word list ("|"-separated) and returns the child's report line ("" on
    // timeout or exit).
    std::string set(const std::string &words)
    {
        std::string l = words + "\n";
        if (write(to_, l.data(), l.size()) != ssize_t(l.size()))
            return "";
        std::string line;
        int64_t deadline = now_ms() + 10000;
        for (;;) {
            size_t nl = buf_.find('\n');
            if (nl != std::string::npos) {
                line = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                return line;
            }
            int64_t left = deadline - now_ms();
            struct pollfd p = {from_, POLLIN, 0};
            if (left <= 0 || poll(&p, 1, int(left)) <= 0)
                return "";
            char tmp[512];
            ssize_t n = read(from_, tmp, sizeof(tmp));
            if (n <= 0)
                return "";
            buf_.append(tmp, size_t(n));
        }
    }

    // /proc/PID/cmdline with trailing NUL bytes removed.
    std::string cmdline() const
    {
        std::string s;
        FILE *f = std::fopen(("/proc/" + std::to_string(pid_) + "/cmdline").c_str(), "re");
        if (!f)
            return s;
        char tmp[4096];
        size_t n;
        while ((n = std::fread(tmp, 1, sizeof(tmp), f)) > 0)
            s.append(tmp, n);
        std::fclose(f);
        while (!s.empty() && s.back() == '\0')
            s.pop_back();
        return s;
    }

    pid_t pid() const { return pid_; }

    void stop()
    {
        if (to_ >= 0)
            close(to_);
        if (from_ >= 0)
            close(from_);
        to_ = from_ = -1;
        if (pid_ > 0) {
            // End of input ends it (CTest's timeout bounds a child that would not go).
            int st;
            while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
            pid_ = -1;
        }
    }

private:
    pid_t pid_ = -1;
    int to_ = -1, from_ = -1;
    std::string buf_;
};

std::string nul_joined(const std::vector<std::string> &w)
{
    std::string s;
    for (size_t i = 0; i < w.size(); i++) {
        if (i)
            s += '\0';
        s += w[i];
    }
    return s;
}

// Pids `pgrep -f PATTERN` prints.
std::vector<pid_t> pgrep_f(const std::string &pattern)
{
    std::vector<pid_t> pids;
    std::string cmd = "pgrep -f '" + pattern + "'";
    FILE *p = popen(cmd.c_str(), "r");
    if (!p)
        return pids;
    long v;
    while (std::fscanf(p, "%ld", &v) == 1)
        pids.push_back(pid_t(v));
    pclose(p);
    return pids;
}

bool has_pgrep()
{
    return system("command -v pgrep >/dev/null 2>&1") == 0;
}

bool contains(const std::vector<pid_t> &v, pid_t p)
{
    for (pid_t x : v)
        if (x == p)
            return true;
    return false;
}

const std::vector<std::string> kEnv = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                       "OMRT_PT=kept-after-the-move"};

// Under qemu-user, /proc/PID/cmdline is the emulator's own command line: nothing the guest
// writes shows there, so these checks cannot be made.
#define SKIP_IF_EMULATED(child)                                                                    \
    do {                                                                                           \
        std::string c0 = (child).cmdline();                                                        \
        if (c0.compare(0, std::strlen(OMRT_PROCTITLE_CHILD), OMRT_PROCTITLE_CHILD) != 0)           \
            GTEST_SKIP() << "/proc/PID/cmdline shows another program (" << c0.c_str()              \
                         << "): running under an emulator";                                        \
    } while (0)

} // namespace

TEST(ProcTitle, NamesTheTrackedInterfacesForPgrepAndFollowsReloads)
{
    Child c;
    ASSERT_TRUE(c.start({"auto"}, kEnv));
    std::string r = c.set("wan1|wan2|omrvpn");
    ASSERT_FALSE(r.empty()) << "the child did not answer";
    SKIP_IF_EMULATED(c);
    EXPECT_NE(r.find("kept-after-the-move"), std::string::npos) << r;
    // prctl: argv-shaped. In place: longer than the original argv strings ("PATH auto"), so
    // one space-separated string.
    bool prctl = r.compare(0, 6, "prctl ") == 0;
    std::vector<std::string> title = {OMRT_PROCTITLE_CHILD, "wan1", "wan2", "omrvpn"};
    EXPECT_EQ(c.cmdline(),
              prctl ? nul_joined(title) : std::string(OMRT_PROCTITLE_CHILD) + " wan1 wan2 omrvpn")
            << r;
    if (!has_pgrep())
        GTEST_SKIP() << "no pgrep";
    EXPECT_TRUE(contains(pgrep_f("wan2"), c.pid()));
    EXPECT_TRUE(contains(pgrep_f("omrvpn"), c.pid()));

    // A reload that drops wan2 and omrvpn.
    r = c.set("wan1");
    ASSERT_FALSE(r.empty());
    // In place too: "wan1" is as long as the original "auto", so it fits in argv's strings.
    EXPECT_EQ(c.cmdline(), nul_joined({OMRT_PROCTITLE_CHILD, "wan1"}));
    EXPECT_FALSE(contains(pgrep_f("wan2"), c.pid()));
    EXPECT_TRUE(contains(pgrep_f("wan1"), c.pid()));
}

TEST(ProcTitle, PrctlTitleHasNoLengthLimit)
{
    Child c;
    ASSERT_TRUE(c.start({"auto"}, {"OMRT_PT=x"}));
    std::vector<std::string> names;
    std::string line;
    for (int i = 1; i <= 200; i++) {
        names.push_back("wan" + std::to_string(i));
        line += (i > 1 ? "|" : "") + names.back();
    }
    std::string r = c.set(line);
    ASSERT_FALSE(r.empty());
    SKIP_IF_EMULATED(c);
    if (r.compare(0, 6, "prctl ") != 0)
        GTEST_SKIP() << "prctl(PR_SET_MM) not permitted here (needs CAP_SYS_RESOURCE): " << r;
    std::vector<std::string> all = {OMRT_PROCTITLE_CHILD};
    all.insert(all.end(), names.begin(), names.end());
    EXPECT_EQ(c.cmdline(), nul_joined(all));
    if (has_pgrep()) {
        EXPECT_TRUE(contains(pgrep_f("wan200"), c.pid()));
    }
    // Shorter again: the same mapping, a new end.
    ASSERT_FALSE(c.set("wan7").empty());
    EXPECT_EQ(c.cmdline(), nul_joined({OMRT_PROCTITLE_CHILD, "wan7"}));
}

TEST(ProcTitle, InPlaceRunsIntoTheMovedEnvironment)
{
    // A long environment variable gives the in-place method room past argv.
    std::vector<std::string> env = kEnv;
    env.push_back("PAD=" + std::string(200, 'x'));
    Child c;
    ASSERT_TRUE(c.start({"in-place"}, env));
    std::string r = c.set("wan1|wan2|omrvpn|lte1");
    ASSERT_FALSE(r.empty());
    SKIP_IF_EMULATED(c);
    EXPECT_EQ(r.compare(0, 9, "in-place "), 0) << r;
    // The environment was copied before its strings were overwritten.
    EXPECT_NE(r.find("kept-after-the-move"), std::string::npos) << r;
    // Longer than the argv strings: one space-separated string, shown up to its NUL.
    EXPECT_EQ(c.cmdline(), std::string(OMRT_PROCTITLE_CHILD) + " wan1 wan2 omrvpn lte1");
    if (has_pgrep()) {
        EXPECT_TRUE(contains(pgrep_f("omrvpn"), c.pid()));
    }

    // Short enough for the argv strings: argv-shaped again; words are cut at a space.
    r = c.set("wan1|a b");
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(c.cmdline(), nul_joined({OMRT_PROCTITLE_CHILD, "wan1", "a"}));
    if (has_pgrep()) {
        EXPECT_FALSE(contains(pgrep_f("omrvpn"), c.pid()));
    }
}

TEST(ProcTitle, InPlaceKeepsWholeWordsWithinItsBlock)
{
    Child c;
    ASSERT_TRUE(c.start({"in-place"}, {"OMRT_PT=y"}));
    std::string want = OMRT_PROCTITLE_CHILD;
    std::string line;
    for (int i = 1; i <= 40; i++) {
        line += (i > 1 ? "|wan" : "wan") + std::to_string(i);
        want += " wan" + std::to_string(i);
    }
    std::string r = c.set(line);
    ASSERT_FALSE(r.empty());
    SKIP_IF_EMULATED(c);
    // Block: argv[0] + "in-place" + "OMRT_PT=y", NULs included.
    size_t cap = std::strlen(OMRT_PROCTITLE_CHILD) + 1 + 9 + 10;
    EXPECT_EQ(r, "in-place " + std::to_string(cap) + " y");
    std::string got = c.cmdline();
    ASSERT_LT(got.size(), cap);
    EXPECT_EQ(want.compare(0, got.size(), got), 0) << got;
    ASSERT_LT(got.size(), want.size());
    EXPECT_EQ(want[got.size()], ' ') << "a word was cut: " << got;
    if (has_pgrep()) {
        EXPECT_FALSE(contains(pgrep_f("wan40"), c.pid()));
        EXPECT_TRUE(contains(pgrep_f("wan1"), c.pid()));
    }
}
