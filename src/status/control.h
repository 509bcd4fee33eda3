// The control socket: a unix stream socket speaking line-delimited JSON (DESIGN.md
// "Control socket"). omr-trackerctl is its client.
//
//   {"cmd":"status"}                  -> {"ok":true,"status":{...board...}}
//   {"cmd":"recheck"[,"name":"wan1"]} -> {"ok":true} | {"ok":false,"error":"..."}
//   {"cmd":"reload"}                  -> {"ok":true} | {"ok":false,"error":"...","errors":[...]}
//   {"cmd":"watch"}                   -> {"ok":true,"status":{...}}, then one
//                                        {"event":"status","status":{...}} per significant
//                                        change until the client closes
//   anything else                     -> {"ok":false,"error":"..."}; the connection stays usable
//
// Every client is non-blocking with bounded input (one request line) and a bounded output
// queue; a client that stops reading is dropped, one that stops in the middle of a request
// is timed out. Nothing a client does can block the loop or the other clients.
#pragma once

#include "core/fd.h"
#include "core/log.h"
#include "core/loop.h"
#include "omrt/clock.h"
#include "status/board.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace status {

// What the daemon does for recheck and reload; implemented by the composition root.
// Called synchronously from inside a client's read callback: an implementation must not
// destroy or reopen the ControlServer from inside (defer that with a 0-delay timer).
class ControlHandler {
public:
    // |name| empty = everything. False with |err| set (e.g. "unknown name 'x'").
    virtual bool on_recheck(const std::string &name, std::string *err) = 0;
    // False with every configuration error in |errors| ("file:line: ..."); the old
    // configuration stays in use.
    virtual bool on_reload(std::vector<std::string> *errors) = 0;

protected:
    ~ControlHandler() = default;
};

struct ControlOptions {
    std::string path = "/var/run/omr-trackerd.sock";
    // Peers allowed besides uid 0 and the daemon's own uid: this (primary) gid, if set.
    // The socket is then created 0660 and chowned to the group.
    gid_t allowed_gid = gid_t(-1);
    size_t max_line = 4096;       // one request, newline excluded
    size_t max_output = 1u << 20; // queued reply/event bytes per client
    unsigned max_clients = 16;    // more are refused with an error reply
    double idle_timeout_s = 30;   // incomplete request or unread output, no progress
    double accept_retry_s = 1;    // after accept() failed for lack of fds/memory
    int backlog = 8;
};

struct ControlStats {
    uint64_t accepted = 0;
    uint64_t refused = 0;  // peer credentials not allowed, or too many clients
    uint64_t requests = 0; // lines handled
    uint64_t bad_requests = 0;
    uint64_t dropped = 0;   // output queue overflow or write error
    uint64_t timed_out = 0; // idle timeout
    uint64_t accept_errors = 0;
};

class ControlServer final : private BoardListener {
public:
    ControlServer(core::Loop &loop, const omrt::Clock &clock, Board &board,
                  ControlHandler &handler);
    ~ControlServer();
    ControlServer(const ControlServer &) = delete;
    ControlServer &operator=(const ControlServer &) = delete;

    // Creates the socket (unlinking a stale one; refusing a live one or a non-socket file)
    // and starts accepting. False with a sentence naming the path and errno in |err|.
    bool open(const ControlOptions &opt, std::string *err);
    // Closes every client and the socket, unlinks the path (if it is still ours).
    // Idempotent. Not to be called from inside ControlHandler (see above).
    void close();
    bool is_open() const { return listen_fd_.valid(); }
    const std::string &path() const { return opt_.path; }
    size_t client_count() const;
    const ControlStats &stats() const { return stats_; }

    class Client; // one connection; defined in control.cc

private:
    friend class Client;
    void on_board_changed() override;
    void on_listen(int events);
    void on_accept_retry();
    void on_reap();
    void accept_one(int fd);
    void handle_line(Client &c, const std::string &line);
    void kill(Client &c, const char *why);

    core::Loop &loop_;
    const omrt::Clock &clock_;
    Board &board_;
    ControlHandler &handler_;
    ControlOptions opt_;
    core::UniqueFd listen_fd_;
    dev_t sock_dev_ = 0; // identity of the socket file we created, for close()
    ino_t sock_ino_ = 0;
    core::IoWatcher listen_io_;
    core::Timer accept_retry_;
    core::Timer reap_; // destroys closed clients outside their callbacks
    std::vector<std::unique_ptr<Client>> clients_;
    ControlStats stats_;
    core::LogLimiter accept_log_limit_;
    core::LogLimiter client_log_limit_;
};

} // namespace status
