// Starts one hook process: fork + execve, with nothing but async-signal-safe calls in
// between (STYLE.md §12). Everything the child needs (argv, envp, fds) is prepared by
// the caller before fork().
//
// Why fork() and not posix_spawn(): the child must start with no fd beyond 0-3, even
// one a library opened without O_CLOEXEC. posix_spawn can only promise that through
// posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34, absent from musl, which
// OpenWrt uses); a forked child calls close_range(2) itself. The daemon is small and
// single-threaded, so fork() copies little; the measured cost per hook is dominated by
// exec'ing the shell (see the hooks DESIGN section).
#pragma once

#include <sys/types.h>

namespace hooks {

// The fd on which a hook's `_log` writes (the child sees its stdout/stderr on 1 and 2).
constexpr int kLogFd = 3;

struct SpawnSpec {
    const char *path = nullptr; // the interpreter, absolute
    char *const *argv = nullptr;
    char *const *envp = nullptr;
    int stdin_fd = -1; // becomes 0 (/dev/null)
    int out_fd = -1;   // becomes 1 and 2
    int log_fd = -1;   // becomes kLogFd
    // Highest fd to close when close_range(2) is unavailable (kernels before 5.9).
    int max_fd = 1024;
};

// Forks and execs. The child: default signal dispositions and an empty signal mask,
// its own session and process group (setsid: pgid == pid, so killpg(pid) reaches the
// hook's own children too; no controlling terminal), cwd "/", fds 0-3 as above and
// every other fd closed. If execve fails, the child writes one line on fd 2 and exits
// with 127. All fds in |spec| must be >= 4. Returns the pid, or -1 with errno set.
pid_t spawn_hook(const SpawnSpec &spec);

// Moves |fd| to a number >= 4, close-on-exec (dup2 onto 0..3 must not clobber it).
// Returns the new fd (the old one is closed), or -1.
int fd_above_stdio(int fd);

} // namespace hooks
