// Helpers shared by the status tests: a temporary directory and a bounded loop runner.
#pragma once

#include "core/loop.h"

#include <cstdlib>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace testutil {

// A fresh directory under /tmp, removed (with its files) at the end of the test.
class TempDir {
public:
    TempDir()
    {
        char tmpl[] = "/tmp/omrt-status-XXXXXX";
        const char *d = mkdtemp(tmpl);
        path_ = d ? d : "";
    }
    ~TempDir() { remove_tree(path_); }
    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

    static void remove_tree(const std::string &p)
    {
        struct stat st;
        if (p.empty() || lstat(p.c_str(), &st) != 0)
            return;
        if (S_ISDIR(st.st_mode)) {
            if (DIR *d = opendir(p.c_str())) {
                while (struct dirent *e = readdir(d)) {
                    std::string n = e->d_name;
                    if (n != "." && n != "..")
                        remove_tree(p + "/" + n);
                }
                closedir(d);
            }
            rmdir(p.c_str());
        } else {
            unlink(p.c_str());
        }
    }

private:
    std::string path_;
};

// Runs the real loop until |pred| holds (checked every millisecond and after each
// break_loop()) or |timeout_s| passes. Returns pred().
template <class Pred>
bool run_until(core::Loop &loop, Pred pred, double timeout_s = 5.0)
{
    struct Ctx {
        core::Loop *loop;
        Pred *pred;
        bool expired = false;
    } ctx{&loop, &pred};
    core::Timer check(
            loop,
            [](void *c) noexcept {
                auto *x = static_cast<Ctx *>(c);
                if ((*x->pred)())
                    x->loop->break_loop();
            },
            &ctx);
    core::Timer deadline(
            loop,
            [](void *c) noexcept {
                auto *x = static_cast<Ctx *>(c);
                x->expired = true;
                x->loop->break_loop();
            },
            &ctx);
    while (!pred() && !ctx.expired) {
        check.start(0.001, 0.001);
        if (!deadline.active())
            deadline.start(timeout_s);
        loop.run();
    }
    return pred();
}

// Runs the loop for |s| seconds: only to show that something does NOT happen.
inline void run_for(core::Loop &loop, double s)
{
    core::Timer t(
            loop, [](void *c) noexcept { static_cast<core::Loop *>(c)->break_loop(); }, &loop);
    t.start(s);
    loop.run();
}

} // namespace testutil
