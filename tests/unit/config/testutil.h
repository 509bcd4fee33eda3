// Helpers for the config tests: a temporary config directory and a parse shortcut.
#pragma once

#include "config/config.h"
#include "config/uci.h"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace cfgtest {

// A fresh directory under $TMPDIR (or /tmp), removed with its files on destruction.
class TempDir {
public:
    TempDir()
    {
        const char *base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/omrt-config-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (mkdtemp(buf.data()))
            path_ = buf.data();
    }
    ~TempDir()
    {
        if (path_.empty())
            return;
        if (DIR *d = opendir(path_.c_str())) {
            while (dirent *e = readdir(d)) {
                std::string n = e->d_name;
                if (n != "." && n != "..")
                    unlink((path_ + "/" + n).c_str());
            }
            closedir(d);
        }
        rmdir(path_.c_str());
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }
    bool write(const std::string &name, const std::string &text) const
    {
        FILE *f = std::fopen(file(name).c_str(), "w");
        if (!f)
            return false;
        bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
        return std::fclose(f) == 0 && ok;
    }
    void remove(const std::string &name) const { unlink(file(name).c_str()); }

private:
    std::string path_;
};

inline std::string read_text(const std::string &path)
{
    std::string out;
    if (FILE *f = std::fopen(path.c_str(), "r")) {
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
            out.append(buf, n);
        std::fclose(f);
    }
    return out;
}

inline std::string all_diags(const std::vector<cfg::Diag> &d)
{
    std::string out;
    for (const cfg::Diag &x : d)
        out += x.format() + "\n";
    return out;
}

inline size_t count_errors(const std::vector<cfg::Diag> &d)
{
    size_t n = 0;
    for (const cfg::Diag &x : d)
        n += !x.warning;
    return n;
}

} // namespace cfgtest
