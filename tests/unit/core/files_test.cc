#include "core/files.h"
#include "core/procstat.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {
std::string make_tmpdir()
{
    char tmpl[] = "/tmp/omrt-files-XXXXXX";
    const char *d = mkdtemp(tmpl);
    return d ? d : "";
}
} // namespace

TEST(Files, AtomicWriteReplacesContentAndMode)
{
    std::string dir = make_tmpdir();
    ASSERT_FALSE(dir.empty());
    std::string path = dir + "/status.json";
    std::string err;
    ASSERT_TRUE(core::write_file_atomic(path, "one", 0644, &err)) << err;
    ASSERT_TRUE(core::write_file_atomic(path, "two\n", 0600, &err)) << err;
    std::string got;
    ASSERT_TRUE(core::read_file(path, got, 100, &err)) << err;
    EXPECT_EQ(got, "two\n");
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_NE(access((path + ".tmp").c_str(), F_OK), 0); // no temporary left behind

    EXPECT_FALSE(core::read_file(path, got, 2, &err));
    EXPECT_NE(err.find("larger"), std::string::npos);
    unlink(path.c_str());
    rmdir(dir.c_str());
}

TEST(Files, AtomicWriteFailureNamesThePathAndKeepsOldFile)
{
    std::string err;
    EXPECT_FALSE(core::write_file_atomic("/nonexistent-dir/x.json", "x", 0644, &err));
    EXPECT_NE(err.find("/nonexistent-dir/x.json.tmp"), std::string::npos) << err;
    std::string got;
    EXPECT_FALSE(core::read_file("/nonexistent-dir/x.json", got, 10, &err));
    EXPECT_NE(err.find("cannot open"), std::string::npos);
}

TEST(ProcStat, ReadsOwnProcess)
{
    core::ProcStat st = core::read_proc_self();
    EXPECT_GT(st.rss_kb, 0u);
    EXPECT_GE(st.open_fds, 3u); // stdin, stdout, stderr at least
#if defined(__GLIBC__)
    // A block the test holds is counted while it lives.
    int64_t before = st.heap_bytes;
    ASSERT_GT(before, 0);
    std::string held(1 << 20, 'x');
    EXPECT_GE(core::read_proc_self().heap_bytes, before + (1 << 20) - 4096) << held.size();
#endif
}
