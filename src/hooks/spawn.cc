#include "hooks/spawn.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hooks {

namespace {

// Async-signal-safe: only write(2).
void child_fail(const char *what, const char *path, int err)
{
    char num[12];
    int i = int(sizeof(num));
    unsigned v = unsigned(err);
    do {
        num[--i] = char('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    const char *parts[] = {"omr-trackerd: ", what, " ", path, ": errno "};
    for (const char *p : parts)
        if (write(2, p, std::strlen(p)) < 0)
            break;
    if (write(2, num + i, sizeof(num) - size_t(i)) < 0 || write(2, "\n", 1) < 0)
        _exit(127);
}

// Runs in the child between fork() and execve(): async-signal-safe calls only.
[[noreturn]] void child_exec(const SpawnSpec &s)
{
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    // Handlers would be reset by execve, but ignored signals (the daemon ignores
    // SIGPIPE) would stay ignored in the hook and everything it runs.
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, nullptr); // EINVAL for libc-reserved signals: harmless
    if (setsid() < 0)
        child_fail("setsid failed for", s.path, errno);
    if (dup2(s.stdin_fd, 0) < 0 || dup2(s.out_fd, 1) < 0 || dup2(s.out_fd, 2) < 0 ||
        dup2(s.log_fd, kLogFd) < 0) {
        child_fail("dup2 failed for", s.path, errno);
        _exit(127);
    }
    // syscall(2) is a thin trap wrapper; glibc's own posix_spawn calls close_range here.
#ifdef SYS_close_range
    if (syscall(SYS_close_range, unsigned(kLogFd + 1), ~0U, 0U) < 0)
#endif
        for (int fd = kLogFd + 1; fd <= s.max_fd; fd++)
            close(fd);
    if (chdir("/") < 0) {
        // Not fatal: the hook runs where the daemon runs.
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(s.path, s.argv, s.envp);
    child_fail("cannot execute", s.path, errno);
    _exit(127);
}

} // namespace

pid_t spawn_hook(const SpawnSpec &spec)
{
    // Block every signal across fork() so no handler of the daemon (libev's, which
    // writes to the loop's wake-up fd) can run in the child before it is reset.
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(spec);
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return pid;
}

int fd_above_stdio(int fd)
{
    if (fd < 0 || fd > kLogFd)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, kLogFd + 1);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

} // namespace hooks
