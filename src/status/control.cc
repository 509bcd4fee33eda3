#include "status/control.h"

#include "core/json.h"
#include "core/str.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace status {

namespace {

constexpr size_t kReadChunk = 4096;
constexpr unsigned kAcceptsPerWakeup = 16;

std::string error_reply(const std::string &msg)
{
    core::JsonWriter w;
    w.begin_object();
    w.kv("ok", false);
    w.kv("error", msg);
    w.end_object();
    return w.take();
}

// One best-effort line to a connection that is about to be closed (refusals).
void send_and_forget(int fd, const std::string &line)
{
    std::string l = line + '\n';
    (void)!send(fd, l.data(), l.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// The tail of a rate-limited log line: how many were swallowed since the last one.
std::string more_text(unsigned suppressed)
{
    return suppressed ? core::strprintf(" (%u more since the last report)", suppressed)
                      : std::string();
}

bool make_sockaddr(const std::string &path, struct sockaddr_un &sa)
{
    std::memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(sa.sun_path))
        return false;
    std::memcpy(sa.sun_path, path.data(), path.size());
    return true;
}

} // namespace

// --------------------------------------------------------------------------- client

// One accepted connection. Owned by ControlServer::clients_; destroyed only by the
// server's reap timer, never from inside its own callbacks (STYLE.md §5): kill() closes
// the fd and stops the watchers at once, the object goes at the next iteration.
class ControlServer::Client {
public:
    Client(ControlServer &srv, int fd, pid_t pid, uid_t uid, uint64_t id)
        : srv_(srv), fd_(fd), io_(srv.loop_, core::member_int<Client, &Client::on_io>, this),
          idle_(srv.loop_, core::member<Client, &Client::on_idle>, this), pid_(pid), uid_(uid),
          id_(id), progress_us_(srv.clock_.mono_us())
    {
        io_.set(fd, EV_READ);
        io_.start();
        idle_.start(srv_.opt_.idle_timeout_s);
    }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    // Queues one line (without its newline) and writes what the socket takes now. A
    // client whose queue would exceed max_output is not reading: it is dropped.
    void queue(const std::string &line)
    {
        if (dead_)
            return;
        size_t pending = out_.size() - out_off_;
        if (pending + line.size() + 1 > srv_.opt_.max_output) {
            srv_.stats_.dropped++;
            unsigned more = 0;
            if (srv_.client_log_limit_.allow(srv_.clock_.mono_us(), &more))
                LOGW("control: client %llu (pid %d) does not read its replies; dropping it "
                     "with %zu bytes queued%s",
                     static_cast<unsigned long long>(id_), int(pid_), pending,
                     more_text(more).c_str());
            srv_.kill(*this, "output queue full");
            return;
        }
        out_ += line;
        out_ += '\n';
        flush();
        if (!dead_)
            update(); // may kill (marks only; destruction is deferred)
    }

    void close_now()
    {
        dead_ = true;
        io_.stop();
        idle_.stop();
        fd_.reset();
    }

    bool dead() const { return dead_; }
    bool watching() const { return watching_; }
    void set_watching() { watching_ = true; }
    uint64_t id() const { return id_; }
    pid_t pid() const { return pid_; }
    uid_t uid() const { return uid_; }

private:
    size_t pending() const { return out_.size() - out_off_; }
    size_t pause_at() const { return srv_.opt_.max_output / 2; }

    void on_io(int events)
    {
        if (events & EV_WRITE)
            flush();
        if (!dead_ && (events & EV_READ))
            read_some();
        if (!dead_)
            pump();
        if (!dead_)
            update(); // may kill: the last statement
    }

    void read_some()
    {
        char buf[kReadChunk];
        for (;;) {
            ssize_t n = recv(fd_.get(), buf, sizeof(buf), 0);
            if (n > 0) {
                in_.append(buf, size_t(n));
                progress_us_ = srv_.clock_.mono_us();
                return; // level-triggered: the rest comes at the next wake-up
            }
            if (n == 0) {
                eof_ = true;
                return;
            }
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                LOGD("control: client %llu: read failed: %s", static_cast<unsigned long long>(id_),
                     std::strerror(errno));
                srv_.kill(*this, "read error");
            }
            return;
        }
    }

    // Handles the complete lines in the input while the output has room.
    void pump()
    {
        pumping_ = true;
        size_t start = 0;
        while (!dead_ && !closing_ && pending() < pause_at()) {
            size_t nl = in_.find('\n', start);
            size_t len = (nl == std::string::npos ? in_.size() : nl) - start;
            if (len > srv_.opt_.max_line) {
                srv_.stats_.bad_requests++;
                queue(error_reply(core::strprintf("request too long (more than %zu bytes); "
                                                  "closing the connection",
                                                  srv_.opt_.max_line)));
                closing_ = true;
                in_.clear();
                pumping_ = false;
                return;
            }
            if (nl == std::string::npos && !(eof_ && len > 0))
                break;
            // At end of input, a last request without its newline is still answered.
            std::string line = in_.substr(start, len);
            start = nl == std::string::npos ? in_.size() : nl + 1;
            srv_.handle_line(*this, line);
        }
        if (!dead_ && start > 0)
            in_.erase(0, start);
        pumping_ = false;
    }

    bool has_complete_line() const { return in_.find('\n') != std::string::npos; }

    void flush()
    {
        while (!dead_ && pending() > 0) {
            ssize_t n =
                    send(fd_.get(), out_.data() + out_off_, pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                out_off_ += size_t(n);
                progress_us_ = srv_.clock_.mono_us();
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break; // update() waits for EV_WRITE
            LOGD("control: client %llu: write failed: %s", static_cast<unsigned long long>(id_),
                 n < 0 ? std::strerror(errno) : "no progress");
            srv_.kill(*this, "write error");
            return;
        }
        if (out_off_ == out_.size()) {
            out_.clear();
            out_off_ = 0;
        } else if (out_off_ > kReadChunk && out_off_ > out_.size() / 2) {
            out_.erase(0, out_off_);
            out_off_ = 0;
        }
    }

    // Chooses the events to wait for, or closes a finished connection.
    void update()
    {
        if (!pumping_ && pending() == 0 && (closing_ || (eof_ && !has_complete_line()))) {
            srv_.kill(*this, closing_ ? "closing" : "peer closed");
            return;
        }
        int ev = 0;
        if (pending() > 0)
            ev |= EV_WRITE;
        if (!closing_ && !eof_ && pending() < pause_at())
            ev |= EV_READ;
        io_.modify(ev);
        if (ev)
            io_.start();
    }

    // "Let it expire, then re-arm from the last progress" (STYLE.md §8).
    void on_idle()
    {
        omrt::MonoUs now = srv_.clock_.mono_us();
        omrt::MonoUs timeout_us = omrt::MonoUs(srv_.opt_.idle_timeout_s * double(omrt::kUsPerS));
        omrt::MonoUs left = progress_us_ + timeout_us - now;
        if (left > 0) {
            idle_.start(double(left) / double(omrt::kUsPerS));
            return;
        }
        if (watching_ && in_.empty() && pending() == 0) {
            idle_.start(srv_.opt_.idle_timeout_s); // a quiet watcher is fine
            return;
        }
        srv_.stats_.timed_out++;
        if (pending() > 0 || closing_) {
            LOGI("control: client %llu (pid %d) has not read for %g s; closing it",
                 static_cast<unsigned long long>(id_), int(pid_), srv_.opt_.idle_timeout_s);
            srv_.kill(*this, "not reading");
            return;
        }
        if (!in_.empty()) {
            LOGI("control: client %llu (pid %d) sent an incomplete request and stopped; "
                 "closing it",
                 static_cast<unsigned long long>(id_), int(pid_));
            queue(error_reply(core::strprintf("timeout: incomplete request after %g s",
                                              srv_.opt_.idle_timeout_s)));
            closing_ = true;
            in_.clear();
            if (!dead_)
                update(); // may kill: the last statement
            return;
        }
        srv_.kill(*this, "idle");
    }

    ControlServer &srv_;
    core::UniqueFd fd_;
    core::IoWatcher io_;
    core::Timer idle_;
    pid_t pid_;
    uid_t uid_;
    uint64_t id_;
    omrt::MonoUs progress_us_;
    std::string in_;
    std::string out_;
    size_t out_off_ = 0;
    bool watching_ = false;
    bool closing_ = false; // close once the output is written
    bool eof_ = false;
    bool dead_ = false;
    bool pumping_ = false; // inside pump(): update() must not close yet
};

// --------------------------------------------------------------------------- server

ControlServer::ControlServer(core::Loop &loop, const omrt::Clock &clock, Board &board,
                             ControlHandler &handler)
    : loop_(loop), clock_(clock), board_(board), handler_(handler),
      listen_io_(loop, core::member_int<ControlServer, &ControlServer::on_listen>, this),
      accept_retry_(loop, core::member<ControlServer, &ControlServer::on_accept_retry>, this),
      reap_(loop, core::member<ControlServer, &ControlServer::on_reap>, this)
{}

ControlServer::~ControlServer()
{
    close();
}

bool ControlServer::open(const ControlOptions &opt, std::string *err)
{
    close();
    opt_ = opt;
    auto fail = [&](std::string msg) {
        if (err)
            *err = std::move(msg);
        return false;
    };
    const char *path = opt_.path.c_str();
    struct sockaddr_un sa;
    if (!make_sockaddr(opt_.path, sa))
        return fail(core::strprintf("control socket path '%s' is empty or longer than %zu "
                                    "bytes",
                                    path, sizeof(sa.sun_path) - 1));

    // A leftover socket from a crash is removed; a live one or any other file is not.
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail(core::strprintf("%s exists and is not a socket; not removing it", path));
        core::UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (probe &&
            connect(probe.get(), reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa)) == 0)
            return fail(core::strprintf("%s is in use by a running process (is omr-trackerd "
                                        "already running?)",
                                        path));
        if (probe && errno != ECONNREFUSED && errno != ENOENT)
            return fail(
                    core::strprintf("%s is in use or unusable: %s", path, std::strerror(errno)));
        if (unlink(path) < 0 && errno != ENOENT)
            return fail(core::strprintf("cannot remove stale socket %s: %s", path,
                                        std::strerror(errno)));
        LOGI("control: removed stale socket %s", path);
    }

    core::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        return fail(
                core::strprintf("cannot create control socket %s: %s", path, std::strerror(errno)));
    bool group = opt_.allowed_gid != gid_t(-1);
    mode_t mode = group ? 0660 : 0600;
    // The umask closes the window between bind() and chmod() in which the socket would
    // have the default mode; chmod() then sets the exact mode whatever the umask was.
    mode_t old_umask = umask(0777 & ~mode);
    int rc = bind(fd.get(), reinterpret_cast<struct sockaddr *>(&sa), sizeof(sa));
    int e = errno;
    umask(old_umask);
    if (rc < 0)
        return fail(core::strprintf("cannot bind control socket %s: %s", path, std::strerror(e)));
    auto unlink_guard = [&](std::string msg) {
        unlink(path);
        return fail(std::move(msg));
    };
    if (group && chown(path, uid_t(-1), opt_.allowed_gid) < 0)
        return unlink_guard(core::strprintf("cannot chown %s to group %u: %s", path,
                                            unsigned(opt_.allowed_gid), std::strerror(errno)));
    if (chmod(path, mode) < 0)
        return unlink_guard(core::strprintf("cannot chmod %s to %04o: %s", path, unsigned(mode),
                                            std::strerror(errno)));
    if (listen(fd.get(), opt_.backlog > 0 ? opt_.backlog : 8) < 0)
        return unlink_guard(core::strprintf("cannot listen on control socket %s: %s", path,
                                            std::strerror(errno)));
    if (lstat(path, &st) == 0) {
        sock_dev_ = st.st_dev;
        sock_ino_ = st.st_ino;
    }
    listen_fd_ = std::move(fd);
    listen_io_.set(listen_fd_.get(), EV_READ);
    listen_io_.start();
    board_.add_listener(this);
    LOGI("control: listening on %s (mode %04o)", path, unsigned(mode));
    return true;
}

void ControlServer::close()
{
    board_.remove_listener(this);
    listen_io_.stop();
    accept_retry_.stop();
    reap_.stop();
    clients_.clear();
    if (listen_fd_) {
        // Unlink only our own socket: another instance may have replaced it meanwhile.
        struct stat st;
        if (lstat(opt_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == sock_dev_ &&
            st.st_ino == sock_ino_)
            unlink(opt_.path.c_str());
        listen_fd_.reset();
    }
}

size_t ControlServer::client_count() const
{
    size_t n = 0;
    for (const auto &c : clients_)
        if (!c->dead())
            n++;
    return n;
}

void ControlServer::on_listen(int)
{
    for (unsigned k = 0; k < kAcceptsPerWakeup && listen_fd_; k++) {
        int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accept_one(fd);
            continue;
        }
        int e = errno;
        if (e == EINTR || e == ECONNABORTED || e == EPROTO)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return;
        // EMFILE, ENFILE, ENOBUFS, ENOMEM...: the pending connection stays queued and the
        // socket stays readable, so retrying at once would spin. Pause accepting instead.
        stats_.accept_errors++;
        unsigned more = 0;
        if (accept_log_limit_.allow(clock_.mono_us(), &more))
            LOGW("control: accept on %s failed: %s; pausing for %g s%s", opt_.path.c_str(),
                 std::strerror(e), opt_.accept_retry_s, more_text(more).c_str());
        listen_io_.stop();
        accept_retry_.start(opt_.accept_retry_s);
        return;
    }
}

void ControlServer::on_accept_retry()
{
    if (listen_fd_)
        listen_io_.start();
}

void ControlServer::accept_one(int raw_fd)
{
    core::UniqueFd fd(raw_fd);
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
        stats_.refused++;
        LOGW("control: cannot read the peer credentials of a client: %s", std::strerror(errno));
        return;
    }
    uid_t self = geteuid();
    bool allowed = cred.uid == 0 || cred.uid == self ||
                   (opt_.allowed_gid != gid_t(-1) && cred.gid == opt_.allowed_gid);
    if (!allowed) {
        stats_.refused++;
        unsigned more = 0;
        if (client_log_limit_.allow(clock_.mono_us(), &more))
            LOGW("control: refused client pid %d uid %u gid %u on %s%s", int(cred.pid),
                 unsigned(cred.uid), unsigned(cred.gid), opt_.path.c_str(),
                 more_text(more).c_str());
        send_and_forget(fd.get(), error_reply(core::strprintf(
                                          "permission denied: uid %u may not use this socket",
                                          unsigned(cred.uid))));
        return;
    }
    if (client_count() >= opt_.max_clients) {
        stats_.refused++;
        unsigned more = 0;
        if (client_log_limit_.allow(clock_.mono_us(), &more))
            LOGW("control: too many clients (%u); refusing pid %d%s", opt_.max_clients,
                 int(cred.pid), more_text(more).c_str());
        send_and_forget(fd.get(), error_reply("too many clients; try again later"));
        return;
    }
    stats_.accepted++;
    LOGD("control: client %llu connected (pid %d, uid %u)",
         static_cast<unsigned long long>(stats_.accepted), int(cred.pid), unsigned(cred.uid));
    clients_.push_back(
            std::make_unique<Client>(*this, fd.release(), cred.pid, cred.uid, stats_.accepted));
}

void ControlServer::kill(Client &c, const char *why)
{
    if (c.dead())
        return;
    LOGD("control: client %llu closed (%s)", static_cast<unsigned long long>(c.id()), why);
    c.close_now();
    reap_.start(0);
}

void ControlServer::on_reap()
{
    clients_.erase(std::remove_if(clients_.begin(), clients_.end(),
                                  [](const std::unique_ptr<Client> &c) { return c->dead(); }),
                   clients_.end());
}

void ControlServer::handle_line(Client &c, const std::string &raw)
{
    std::string_view line = core::trim(raw); // also drops a CR of "\r\n"
    if (line.empty())
        return;
    stats_.requests++;
    auto bad = [&](const std::string &msg) {
        stats_.bad_requests++;
        c.queue(error_reply(msg));
    };

    core::JsonLimits lim;
    lim.max_bytes = opt_.max_line;
    lim.max_depth = 4;
    lim.max_elements = 64;
    core::JsonValue req;
    std::string perr;
    if (!core::json_parse(line, req, &perr, lim))
        return bad("malformed request: " + perr);
    if (!req.is_object())
        return bad("a request must be a JSON object, e.g. {\"cmd\":\"status\"}");
    const core::JsonValue *cmdv = req.get("cmd");
    if (!cmdv)
        return bad("missing \"cmd\" (status, recheck, reload or watch)");
    if (!cmdv->is_string())
        return bad("\"cmd\" must be a string");
    const std::string &cmd = cmdv->as_string();

    if (cmd == "status" || cmd == "watch") {
        core::JsonWriter w;
        w.begin_object();
        w.kv("ok", true);
        w.key("status");
        board_.write_json(w);
        w.end_object();
        if (cmd == "watch")
            c.set_watching();
        c.queue(w.str());
        return;
    }
    if (cmd == "recheck") {
        std::string name;
        if (const core::JsonValue *n = req.get("name")) {
            if (!n->is_string())
                return bad("\"name\" must be a string");
            name = n->as_string();
        }
        std::string err;
        if (handler_.on_recheck(name, &err))
            return c.queue("{\"ok\":true}");
        return c.queue(error_reply(err.empty() ? "recheck failed" : err));
    }
    if (cmd == "reload") {
        std::vector<std::string> errors;
        if (handler_.on_reload(&errors))
            return c.queue("{\"ok\":true}");
        core::JsonWriter w;
        w.begin_object();
        w.kv("ok", false);
        w.kv("error", errors.empty()
                              ? std::string("reload failed")
                              : core::strprintf("the new configuration has %zu error%s; "
                                                "still running the previous one",
                                                errors.size(), errors.size() == 1 ? "" : "s"));
        w.key("errors");
        w.begin_array();
        for (const std::string &e : errors)
            w.value(e);
        w.end_array();
        w.end_object();
        return c.queue(w.str());
    }
    bad(core::strprintf("unknown command '%s' (expected status, recheck, reload or watch)",
                        core::truncate_for_log(cmd, 64).c_str()));
}

void ControlServer::on_board_changed()
{
    bool any = false;
    for (const auto &c : clients_)
        any = any || (!c->dead() && c->watching());
    if (!any)
        return;
    core::JsonWriter w;
    w.begin_object();
    w.kv("event", "status");
    w.key("status");
    board_.write_json(w);
    w.end_object();
    // queue() may kill a client (not reading): it is only marked, the vector stays intact.
    for (const auto &c : clients_)
        if (!c->dead() && c->watching())
            c->queue(w.str());
}

} // namespace status
