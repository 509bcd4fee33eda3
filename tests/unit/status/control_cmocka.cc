// The C-facing edges of the control socket, through the linker's --wrap seams:
// socket(), bind(), listen(), chmod() and accept4() fail the way the kernel makes them
// fail, and the server must report it precisely, leak nothing, leave no file behind —
// and, for accept4(), keep running without spinning on a listening socket that stays
// readable.
//
// Each wrapper passes through to the real call unless the test armed it; an armed wrapper
// takes its result from cmocka's will_return() queue (errno, or 0 = call the real one).
#include "core/json.h"
#include "core/log.h"
#include "status/control.h"
#include "status_test_util.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}

namespace {

bool g_socket_armed, g_bind_armed, g_listen_armed, g_chmod_armed, g_accept_armed;
unsigned g_accept_calls;

} // namespace

extern "C" {
int __real_socket(int domain, int type, int protocol);
int __real_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __real_listen(int fd, int backlog);
int __real_chmod(const char *path, mode_t mode);
int __real_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);

int __wrap_socket(int domain, int type, int protocol);
int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_listen(int fd, int backlog);
int __wrap_chmod(const char *path, mode_t mode);
int __wrap_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);

int __wrap_socket(int domain, int type, int protocol)
{
    if (g_socket_armed) {
        check_expected(type);
        if (int e = mock_type(int)) {
            errno = e;
            return -1;
        }
    }
    return __real_socket(domain, type, protocol);
}

int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (g_bind_armed) {
        if (int e = mock_type(int)) {
            errno = e;
            return -1;
        }
    }
    return __real_bind(fd, sa, len);
}

int __wrap_listen(int fd, int backlog)
{
    if (g_listen_armed) {
        check_expected(backlog);
        if (int e = mock_type(int)) {
            errno = e;
            return -1;
        }
    }
    return __real_listen(fd, backlog);
}

int __wrap_chmod(const char *path, mode_t mode)
{
    if (g_chmod_armed) {
        check_expected(mode);
        if (int e = mock_type(int)) {
            errno = e;
            return -1;
        }
    }
    return __real_chmod(path, mode);
}

int __wrap_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    if (g_accept_armed) {
        g_accept_calls++;
        errno = EMFILE; // the process is out of descriptors
        return -1;
    }
    return __real_accept4(fd, sa, len, flags);
}
} // extern "C"

namespace {

struct NullHandler : status::ControlHandler {
    bool on_recheck(const std::string &, std::string *) override { return true; }
    bool on_reload(std::vector<std::string> *) override { return true; }
};

// One server, on a fresh path, per test.
struct Fixture {
    core::Loop loop;
    omrt::SystemClock clock;
    status::Board board{loop, clock};
    NullHandler handler;
    status::ControlServer server{loop, clock, board, handler};
    testutil::TempDir dir;
    status::ControlOptions opt;
    Fixture() { opt.path = dir.file("ctl.sock"); }
};

unsigned open_fds()
{
    unsigned n = 0;
    if (DIR *d = opendir("/proc/self/fd")) {
        while (struct dirent *e = readdir(d))
            n += e->d_name[0] != '.';
        closedir(d);
    }
    return n;
}

bool exists(const std::string &p)
{
    struct stat st;
    return lstat(p.c_str(), &st) == 0;
}

int setup(void **state)
{
    core::log_init("test", core::LogSink::None, LOG_DEBUG);
    g_socket_armed = g_bind_armed = g_listen_armed = g_chmod_armed = g_accept_armed = false;
    g_accept_calls = 0;
    *state = new Fixture;
    return 0;
}

int teardown(void **state)
{
    g_socket_armed = g_bind_armed = g_listen_armed = g_chmod_armed = g_accept_armed = false;
    delete static_cast<Fixture *>(*state);
    return 0;
}

void socket_failure_is_reported(void **state)
{
    auto *f = static_cast<Fixture *>(*state);
    g_socket_armed = true;
    expect_value(__wrap_socket, type, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
    will_return(__wrap_socket, EMFILE);
    std::string err;
    assert_false(f->server.open(f->opt, &err));
    assert_false(f->server.is_open());
    assert_non_null(std::strstr(err.c_str(), "cannot create control socket"));
    assert_non_null(std::strstr(err.c_str(), f->opt.path.c_str()));
    assert_non_null(std::strstr(err.c_str(), "Too many open files"));
    assert_false(exists(f->opt.path));
}

void bind_in_use_leaks_nothing(void **state)
{
    auto *f = static_cast<Fixture *>(*state);
    unsigned fds = open_fds();
    g_bind_armed = true;
    will_return(__wrap_bind, EADDRINUSE);
    std::string err;
    assert_false(f->server.open(f->opt, &err));
    assert_non_null(std::strstr(err.c_str(), "cannot bind control socket"));
    assert_non_null(std::strstr(err.c_str(), "Address already in use"));
    assert_int_equal(open_fds(), fds); // the socket was closed
    assert_false(exists(f->opt.path));

    // The next attempt (bind passes through) works: nothing half-initialised was kept.
    will_return(__wrap_bind, 0);
    assert_true(f->server.open(f->opt, &err));
    assert_true(f->server.is_open());
}

void listen_failure_removes_the_socket_file(void **state)
{
    auto *f = static_cast<Fixture *>(*state);
    unsigned fds = open_fds();
    f->opt.backlog = 5;
    g_listen_armed = true;
    expect_value(__wrap_listen, backlog, 5);
    will_return(__wrap_listen, ENOBUFS);
    std::string err;
    assert_false(f->server.open(f->opt, &err));
    assert_non_null(std::strstr(err.c_str(), "cannot listen on control socket"));
    assert_non_null(std::strstr(err.c_str(), "No buffer space available"));
    assert_false(exists(f->opt.path)); // the real bind created it; it must be gone
    assert_int_equal(open_fds(), fds);
}

void chmod_sets_0600_and_its_failure_is_fatal(void **state)
{
    auto *f = static_cast<Fixture *>(*state);
    g_chmod_armed = true;
    expect_value(__wrap_chmod, mode, 0600);
    will_return(__wrap_chmod, EPERM);
    std::string err;
    assert_false(f->server.open(f->opt, &err));
    assert_non_null(std::strstr(err.c_str(), "cannot chmod"));
    assert_non_null(std::strstr(err.c_str(), "0600"));
    assert_false(exists(f->opt.path));

    expect_value(__wrap_chmod, mode, 0600);
    will_return(__wrap_chmod, 0);
    assert_true(f->server.open(f->opt, &err));
    struct stat st;
    assert_int_equal(lstat(f->opt.path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

// accept4() failing with EMFILE leaves the connection queued and the listening socket
// readable: a level-triggered loop that just returns would call accept4() again at once,
// forever, at 100% CPU. The server must pause, log (once), and retry later.
void accept_emfile_pauses_instead_of_spinning(void **state)
{
    auto *f = static_cast<Fixture *>(*state);
    f->opt.accept_retry_s = 0.1;
    std::string err;
    assert_true(f->server.open(f->opt, &err));

    int c = __real_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c >= 0);
    struct sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->opt.path.c_str());
    assert_int_equal(connect(c, reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)), 0);
    const char req[] = "{\"cmd\":\"status\"}\n";
    assert_int_equal(send(c, req, sizeof(req) - 1, MSG_NOSIGNAL), ssize_t(sizeof(req) - 1));

    core::LogCounters before = core::log_counters();
    g_accept_armed = true;
    testutil::run_for(f->loop, 0.45);
    // One call when the connection arrived, then one per retry period: not thousands.
    assert_in_range(g_accept_calls, 2, 8);
    assert_int_equal(f->server.stats().accept_errors, g_accept_calls);
    assert_int_equal(core::log_counters().written - before.written, 1); // rate-limited
    assert_true(f->server.is_open());
    assert_int_equal(f->server.client_count(), 0);

    // Descriptors are back: the queued client is served at the next retry.
    g_accept_armed = false;
    std::string reply;
    bool got = testutil::run_until(f->loop, [&] {
        char buf[65536];
        ssize_t n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            reply.append(buf, size_t(n));
        return reply.find('\n') != std::string::npos;
    });
    close(c);
    assert_true(got);
    core::JsonValue v;
    core::JsonLimits lim;
    lim.max_elements = 100000;
    assert_true(core::json_parse(reply, v, &err, lim));
    assert_non_null(v.get("ok"));
    assert_true(v.get("ok")->as_bool());
    assert_int_equal(f->server.stats().accepted, 1);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(socket_failure_is_reported, setup, teardown),
            cmocka_unit_test_setup_teardown(bind_in_use_leaks_nothing, setup, teardown),
            cmocka_unit_test_setup_teardown(listen_failure_removes_the_socket_file, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(chmod_sets_0600_and_its_failure_is_fatal, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(accept_emfile_pauses_instead_of_spinning, setup,
                                            teardown),
    };
    return cmocka_run_group_tests_name("control socket C shims", tests, nullptr, nullptr);
}
