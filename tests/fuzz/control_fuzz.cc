// Fuzz target: the control socket's request handling, through a real status::ControlServer
// on a unix socket in a private directory, on the real libev loop: the bytes a local
// client sends (omr-trackerctl, LuCI's rpcd plugin, scripts) go through the same
// accept, read, line splitting, JSON parsing, dispatch, reply queueing and close as in
// the daemon. The handler mirrors the daemon's (an unknown name is an error naming it; a
// known one changes the board, which sends events to watch clients).
//
// Input: one byte choosing the write chunk size (1..256 bytes per loop iteration, at most
// 16 writes, so requests are split across reads), then the byte stream. The harness writes it,
// shuts down its sending side and reads until the server closes. Properties: the server always
// closes (a 10 s deadline aborts otherwise); every reply line is a JSON object with "ok" (or a
// watch "event"); there are no more "ok" replies than request lines + 1; no client is left open
// afterwards.
#include "core/json.h"
#include "core/log.h"
#include "core/loop.h"
#include "fuzz_util.h"
#include "omrt/clock.h"
#include "status/board.h"
#include "status/control.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace {

class Handler final : public status::ControlHandler {
public:
    explicit Handler(status::Board &b) : board_(b) {}
    bool on_recheck(const std::string &name, std::string *err) override
    {
        if (name.empty())
            return true;
        if (name != "wan1" && name != "vps") {
            if (err)
                *err = "unknown interface or server '" + name + "'";
            return false;
        }
        flip_ = !flip_;
        if (name == "wan1")
            board_.set_iface_verdict("wan1", flip_ ? omrt::Health::Error : omrt::Health::Ok,
                                     flip_ ? omrt::Reason::link_down : omrt::Reason::ok,
                                     "recheck \"" + name + "\"\n\x01");
        else
            board_.set_server_verdict("vps", flip_ ? omrt::Health::Error : omrt::Health::Ok,
                                      flip_ ? omrt::Reason::api_timeout : omrt::Reason::ok,
                                      "api \\ recheck");
        return true;
    }
    bool on_reload(std::vector<std::string> *errors) override
    {
        reloads_++;
        if (reloads_ % 2)
            return true;
        errors->push_back("/etc/config/omr-tracker:3: interface 'wan1': option 'tries': "
                          "invalid value 'x\"y' (expected an integer 1..100)");
        errors->push_back(std::string("bytes \x7f\x80\xff", 9));
        return false;
    }

private:
    status::Board &board_;
    bool flip_ = false;
    unsigned reloads_ = 0;
};

// One client connection of one input.
class Client {
public:
    Client(core::Loop &loop, int fd, std::string_view data, size_t chunk)
        : loop_(loop), fd_(fd), data_(data), chunk_(chunk),
          io_(loop, core::member_int<Client, &Client::on_io>, this),
          deadline_(loop, core::member<Client, &Client::on_deadline>, this)
    {
        io_.set(fd, data_.empty() ? EV_READ : EV_READ | EV_WRITE);
        if (data_.empty())
            shutdown(fd_, SHUT_WR);
        io_.start();
        deadline_.start(10);
    }
    const std::string &received() const { return in_; }

private:
    void on_io(int events)
    {
        if ((events & EV_WRITE) && off_ < data_.size()) {
            size_t n = std::min(chunk_, data_.size() - off_);
            ssize_t w = send(fd_, data_.data() + off_, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                off_ += size_t(w);
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                off_ = data_.size(); // the server closed (e.g. after a request too long)
            if (off_ == data_.size()) {
                shutdown(fd_, SHUT_WR);
                io_.modify(EV_READ);
            }
        }
        if (events & EV_READ) {
            char buf[8192];
            ssize_t r = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
            if (r > 0) {
                in_.append(buf, size_t(r));
                FUZZ_CHECK(in_.size() < (64u << 20));
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                io_.stop();
                deadline_.stop();
                loop_.break_loop();
            }
        }
    }
    void on_deadline()
    {
        std::fprintf(stderr,
                     "control: the server did not close the connection within 10 s "
                     "(%zu of %zu bytes sent)\n",
                     off_, data_.size());
        std::abort();
    }

    core::Loop &loop_;
    int fd_;
    std::string_view data_;
    size_t chunk_;
    size_t off_ = 0;
    std::string in_;
    core::IoWatcher io_;
    core::Timer deadline_;
};

struct Harness {
    core::Loop loop;
    omrt::SystemClock clock;
    status::Board board{loop, clock};
    Handler handler{board};
    status::ControlServer server{loop, clock, board, handler};
    core::Timer settle{loop, core::member<core::Loop, &core::Loop::break_loop>, &loop};
    std::string dir;
    std::string path;

    Harness()
    {
        core::log_init("fuzz-control", core::LogSink::None, LOG_DEBUG);
        char tmpl[] = "/tmp/omrt-fuzz-control-XXXXXX";
        FUZZ_CHECK(mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        path = dir + "/ctl.sock";
        board.sync_interfaces({"wan1", "wan2"});
        board.sync_servers({"vps"});
        board.set_iface_verdict("wan2", omrt::Health::Ok, omrt::Reason::ok, "ok");
        status::ControlOptions opt;
        opt.path = path;
        opt.idle_timeout_s = 5;
        std::string err;
        if (!server.open(opt, &err)) {
            std::fprintf(stderr, "control: %s\n", err.c_str());
            std::abort();
        }
    }
    ~Harness()
    {
        server.close();
        rmdir(dir.c_str());
    }
};

Harness &harness()
{
    static Harness h; // destroyed at exit: the socket and its directory go
    return h;
}

size_t count_lines(std::string_view s)
{
    size_t n = 0;
    for (size_t pos = 0; pos < s.size();) {
        size_t nl = s.find('\n', pos);
        if (nl == std::string_view::npos)
            nl = s.size();
        if (nl > pos)
            n++;
        pos = nl + 1;
    }
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Harness &h = harness();
    fuzz::Input in(data, size);
    size_t chunk = 1 + in.u8();
    std::string_view bytes = in.rest();
    // At most 16 writes (one loop iteration each): byte-sized writes of a 4 KiB input
    // would cost 4096 iterations and make the target 20 times slower.
    if (chunk < bytes.size() / 16 + 1)
        chunk = bytes.size() / 16 + 1;

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    struct sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, h.path.c_str(), h.path.size() + 1);
    FUZZ_CHECK(connect(fd, reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)) == 0);
    std::string got;
    {
        Client c(h.loop, fd, bytes, chunk);
        h.loop.run();
        got = c.received();
    }
    close(fd);
    // One more iteration: the server destroys closed clients from a 0 s timer. Without
    // it every input would end with more allocations than frees, and libFuzzer would run
    // a full leak scan after each one.
    h.settle.start(0);
    h.loop.run();

    size_t oks = 0;
    for (size_t pos = 0; pos < got.size();) {
        size_t nl = got.find('\n', pos);
        FUZZ_CHECK(nl != std::string::npos); // every reply ends with a newline
        std::string_view line(got.data() + pos, nl - pos);
        pos = nl + 1;
        // Status documents do not depend on the input (only on the board): one in 32 is
        // parsed in full, which keeps the target fast.
        static unsigned status_lines = 0;
        if (line.substr(0, 20) == "{\"ok\":true,\"status\":" && status_lines++ % 32 != 0) {
            oks++;
            continue;
        }
        core::JsonValue v;
        core::JsonLimits lim;
        lim.max_bytes = 1u << 20;
        lim.max_depth = 32;
        lim.max_elements = 1u << 20;
        std::string err;
        bool ok = core::json_parse(line, v, &err, lim);
        if (!ok)
            std::fprintf(stderr, "control: reply is not JSON (%s): %.*s\n", err.c_str(),
                         int(line.size()), line.data());
        FUZZ_CHECK(ok && v.is_object());
        const core::JsonValue *okv = v.get("ok");
        const core::JsonValue *ev = v.get("event");
        FUZZ_CHECK((okv && okv->is_bool()) || (ev && ev->is_string()));
        if (okv) {
            oks++;
            if (!okv->as_bool())
                FUZZ_CHECK(v.get_string("error") != nullptr);
        }
    }
    FUZZ_CHECK(oks <= count_lines(bytes) + 1);
    FUZZ_CHECK(h.server.client_count() == 0);
    return 0;
}
