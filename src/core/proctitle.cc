#include "core/proctitle.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <errno.h> // program_invocation_name (GNU; musl has it too)
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char **environ;

namespace core {

namespace {

struct State {
    bool initialised = false;
    bool force_in_place = false;
    bool prctl_failed = false;
    char *area = nullptr; // the original argv (+ following environ) strings
    size_t area_len = 0;  // all of it, in bytes
    size_t argv_len = 0;  // the argv strings only (the kernel's arg_start..arg_end)
    std::string argv0;    // the original argv[0]
    char *buf = nullptr;  // prctl method: our own mapping
    size_t buf_len = 0;   // the kernel's arg_end - arg_start
    size_t buf_cap = 0;   // the mapping's size
};

State g;

// A word as it may appear in the title: up to its first space or NUL.
std::string clean_word(const std::string &w)
{
    size_t n = w.find_first_of(std::string(" \0", 2));
    return n == std::string::npos ? w : w.substr(0, n);
}

// argv-shaped: argv[0] NUL word NUL word NUL.
std::string argv_block(const std::vector<std::string> &words)
{
    std::string s = g.argv0;
    s += '\0';
    for (const std::string &w : words) {
        std::string c = clean_word(w);
        if (c.empty())
            continue;
        s += c;
        s += '\0';
    }
    return s;
}

char *copy_string(const char *s)
{
    size_t n = std::strlen(s) + 1;
    char *p = static_cast<char *>(std::malloc(n));
    if (p)
        std::memcpy(p, s, n);
    return p;
}

bool set_mm(int what, char *addr)
{
    return prctl(PR_SET_MM, what, reinterpret_cast<unsigned long>(addr), 0, 0) == 0;
}

// Bytes of command line claimed with the first prctl title. Later titles that fit are
// written into it without any system call, so they still work after the daemon dropped
// root (PR_SET_MM needs CAP_SYS_RESOURCE). 1 KiB holds argv[0] and some 200 names.
constexpr size_t kReserve = 1024;

// |block| (argv-shaped) into |len| bytes at |dst|, NUL-padded; cut after its last whole
// word when longer.
void write_block(char *dst, size_t len, const std::string &block)
{
    size_t n = block.size();
    if (n > len) {
        size_t last = block.rfind('\0', len - 1);
        n = last == std::string::npos ? 0 : last + 1;
    }
    std::memcpy(dst, block.data(), n);
    std::memset(dst + n, 0, len - n);
}

// Points the kernel's arg_start/arg_end at a mapping of our own. The kernel checks
// arg_start <= arg_end after each single change, so which bound moves first depends on
// where the new mapping lies relative to the old range.
bool prctl_method(const std::string &block)
{
    if (g.buf && block.size() <= g.buf_len) {
        write_block(g.buf, g.buf_len, block);
        return true;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t ps = page > 0 ? size_t(page) : 4096;
    size_t len = block.size() > kReserve ? (block.size() + 255) / 256 * 256 : kReserve;
    size_t cap = (len + ps - 1) / ps * ps;
    void *m = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
        char *nb = static_cast<char *>(m);
        write_block(nb, len, block);
        if ((set_mm(PR_SET_MM_ARG_START, nb) && set_mm(PR_SET_MM_ARG_END, nb + len)) ||
            (set_mm(PR_SET_MM_ARG_END, nb + len) && set_mm(PR_SET_MM_ARG_START, nb))) {
            if (g.buf)
                munmap(g.buf, g.buf_cap);
            g.buf = nb;
            g.buf_len = len;
            g.buf_cap = cap;
            return true;
        }
        // Not unmapped: had one of the calls succeeded, the kernel could point into it.
    }
    if (!g.buf)
        return false;
    // No privilege any more: as much as fits in the reservation we have.
    write_block(g.buf, g.buf_len, block);
    return true;
}

bool in_place_method(const std::string &block)
{
    if (!g.area || g.area_len == 0)
        return false;
    std::memset(g.area, 0, g.area_len);
    if (block.size() <= g.argv_len) {
        // Fits in the argv strings: argv-shaped, and the byte at arg_end - 1 stays NUL, so
        // the kernel shows exactly [arg_start, arg_end).
        std::memcpy(g.area, block.data(), block.size());
        return true;
    }
    // Longer: one space-separated string running into the environment block. The kernel
    // then reads from arg_start up to the first NUL (its setproctitle() case). Whole words
    // only.
    std::string s = block.substr(0, block.size() - 1);
    for (char &c : s)
        if (c == '\0')
            c = ' ';
    if (s.size() > g.area_len - 1) {
        size_t cut = s.rfind(' ', g.area_len - 1);
        s.resize(cut == std::string::npos || cut < g.argv0.size() ? g.area_len - 1 : cut);
    }
    std::memcpy(g.area, s.data(), s.size());
    return true;
}

} // namespace

const char *proctitle_method_name(ProcTitleMethod m)
{
    switch (m) {
    case ProcTitleMethod::none:
        return "none";
    case ProcTitleMethod::prctl:
        return "prctl";
    case ProcTitleMethod::in_place:
        return "in-place";
    }
    return "?";
}

void proctitle_init(int argc, char **argv)
{
    if (g.initialised || argc < 1 || !argv || !argv[0])
        return;
    g.initialised = true;
    g.argv0 = argv[0];

    // The block: argv strings, then environ strings, as long as each starts right after
    // the previous one's NUL (the kernel lays them out that way at execve()).
    char *begin = argv[0];
    char *end = begin + std::strlen(begin) + 1;
    for (int i = 1; i < argc && argv[i] == end; i++)
        end += std::strlen(argv[i]) + 1;
    size_t argv_len = size_t(end - begin);
    size_t nenv = 0;
    while (environ && environ[nenv])
        nenv++;
    for (size_t i = 0; i < nenv && environ[i] == end; i++)
        end += std::strlen(environ[i]) + 1;

    // Move the environment first: setenv/getenv must never see the overwritten block.
    char **env = static_cast<char **>(std::calloc(nenv + 1, sizeof(char *)));
    if (!env)
        return;
    for (size_t i = 0; i < nenv; i++) {
        env[i] = copy_string(environ[i]);
        if (!env[i])
            return; // leaks what was copied; the block stays unused
    }
    environ = env;
    for (int i = 0; i < argc; i++) {
        char *c = copy_string(argv[i]);
        if (!c)
            return;
        argv[i] = c;
    }
    program_invocation_name = argv[0];
    const char *slash = std::strrchr(argv[0], '/');
    program_invocation_short_name = slash ? const_cast<char *>(slash + 1) : argv[0];

    g.area = begin;
    g.area_len = size_t(end - begin);
    g.argv_len = argv_len;
}

ProcTitleMethod proctitle_set(const std::vector<std::string> &words)
{
    if (!g.initialised || !g.area)
        return ProcTitleMethod::none;
    std::string block = argv_block(words);
    if (!g.force_in_place && !g.prctl_failed) {
        if (prctl_method(block))
            return ProcTitleMethod::prctl;
        // EPERM without CAP_SYS_RESOURCE, EINVAL on kernels without it, before any title
        // was set this way: the original block stays the kernel's; do not retry.
        g.prctl_failed = true;
    }
    return in_place_method(block) ? ProcTitleMethod::in_place : ProcTitleMethod::none;
}

size_t proctitle_inplace_capacity()
{
    return g.area_len;
}

void proctitle_force_in_place(bool on)
{
    g.force_in_place = on;
}

} // namespace core
