// ICMP echo prober: one socket per (WAN device, address family), many targets on it.
//
// Socket kinds (environment.md §3):
//   datagram "ping" sockets (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6): allowed when
//     net.ipv4.ping_group_range (per network namespace, also governs ICMPv6) covers one
//     of our groups — root included. The kernel owns the echo id (it is the socket's
//     local "port", read back with getsockname), delivers only our own replies, and
//     reports ICMP errors about our requests on the error queue (IP_RECVERR).
//   raw sockets (SOCK_RAW): need root or CAP_NET_RAW. They see every ICMP message of the
//     namespace; ICMP_FILTER / ICMP6_FILTER keep only echo replies and errors, the rest
//     is matched here by id, sequence and source.
// Mode::Auto takes the datagram socket when the kernel grants it, else raw, else fails
// with a sentence saying why (mode_reason()).
//
// Contract of send(): every accepted probe (non-zero id) produces exactly one
// ProbeResult — Reply, Timeout, Unreachable or SendError — unless it is cancel()ed, the
// Prober is close()d or destroyed first. Results are delivered from the event loop only,
// never from inside send() (STYLE.md §5): a failed sendto() is queued and reported on the
// next loop iteration.
//
// RTT = mono_us() read right after recvmsg() returns − mono_us() read right before
// sendto() (STYLE.md §7). Kernel timestamps (SO_TIMESTAMPNS) are CLOCK_REALTIME and would
// need a conversion that breaks when the wall clock steps; the user-space read costs the
// latency of one wakeup at most, which is what ping and dpinger measure too.
#pragma once

#include "core/fd.h"
#include "core/log.h"
#include "core/loop.h"
#include "icmp/packet.h"
#include "omrt/clock.h"
#include "omrt/ipaddr.h"

#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace icmp {

enum class Mode : uint8_t { Auto, Dgram, Raw };
const char *mode_name(Mode m); // "auto", "dgram", "raw"

enum class Outcome : uint8_t { Reply, Timeout, Unreachable, SendError };
const char *outcome_name(Outcome o);

struct ProbeResult {
    uint64_t probe_id = 0;
    void *cookie = nullptr;
    Outcome outcome = Outcome::Timeout;
    uint16_t seq = 0;
    int64_t sent_us = 0; // mono_us() just before sendto()
    int64_t rtt_us = -1; // Reply; Unreachable: time until the error came; else -1
    omrt::IpAddr target;
    omrt::IpAddr from;     // Reply: the target; Unreachable: who reported it (may be invalid)
    uint8_t icmp_type = 0; // Unreachable: the error's type/code/info (icmp_type_name())
    uint8_t icmp_code = 0;
    uint32_t icmp_info = 0;   // next-hop MTU for fragmentation needed / packet too big
    int error = 0;            // SendError: errno; Unreachable on datagram sockets: ee_errno
    int reply_ttl = -1;       // Reply: TTL / hop limit of the reply, when known
    int reply_tos = -1;       // Reply: TOS / traffic class of the reply, when known
    uint32_t reply_bytes = 0; // Reply: ICMP message length (8 + payload)
};

class ProbeListener {
public:
    // Called from the event loop. May call send(), cancel(), close() and open() on the
    // Prober; must not destroy it.
    virtual void on_probe_result(const ProbeResult &r) = 0;

protected:
    ~ProbeListener() = default;
};

struct ProberOptions {
    std::string name = "icmp"; // names the object in logs ("wan1/ipv4")
    int family = AF_INET;      // AF_INET or AF_INET6
    Mode mode = Mode::Auto;
    std::string device;        // SO_BINDTODEVICE; empty: not bound
    omrt::IpAddr source;       // bind() address; invalid: the kernel chooses
    int tos = -1;              // IP_TOS / IPV6_TCLASS 0..255; -1 default. OMR uses 184 (EF)
    int ttl = -1;              // IP_TTL / IPV6_UNICAST_HOPS 1..255; -1 default
    size_t payload_bytes = 56; // echo data after the 8-byte header, like ping -s
};

struct Counters {
    uint64_t sent = 0;        // requests the kernel accepted
    uint64_t replies = 0;     // Outcome::Reply delivered
    uint64_t timeouts = 0;    // Outcome::Timeout delivered
    uint64_t errors = 0;      // ICMP errors about our probes (Outcome::Unreachable)
    uint64_t send_errors = 0; // Outcome::SendError
    uint64_t foreign = 0;     // other ids, errors about others' datagrams, other types
    uint64_t unmatched = 0;   // our id but no such probe, or not from its target
    uint64_t duplicate = 0;   // a second answer to one probe
    uint64_t late = 0;        // an answer after the probe timed out or was cancelled
    uint64_t malformed = 0;   // failed validation (packet.h Defect)
    uint64_t rx_errors = 0;   // recvmsg() failures other than EAGAIN
};

// Opens a non-blocking, close-on-exec ICMP socket of |family| as |requested| says.
// |used| is the kind obtained; |why| a sentence for the start-up log ("using datagram
// ping sockets (net.ipv4.ping_group_range 0-2147483647 includes gid 0)"), or on failure
// (invalid fd returned) why neither kind was possible.
core::UniqueFd open_icmp_socket(int family, Mode requested, Mode &used, std::string &why);

class Prober {
public:
    // |max_in_flight| is rounded up to a power of two in [16, 4096]; it bounds the
    // probes outstanding at once (send() returns 0 beyond it).
    Prober(core::Loop &loop, const omrt::Clock &clock, ProbeListener &listener,
           unsigned max_in_flight = 256);
    ~Prober();
    Prober(const Prober &) = delete;
    Prober &operator=(const Prober &) = delete;

    // Opens (or re-opens, e.g. after the device changed) the socket with |opt|. Probes in
    // flight are kept and time out unless answered on the new socket. On failure returns
    // false with |err| set; the Prober is then without socket (sends fail with EBADF) and
    // probes already in flight still time out.
    [[nodiscard]] bool open(const ProberOptions &opt, std::string *err);
    // Closes the socket and forgets every probe in flight without reporting them.
    // Idempotent. Counters are kept.
    void close();
    bool is_open() const { return fd_.valid(); }

    // Sends one echo request to |target| (same family as the socket). Returns the probe id
    // (never 0), or 0 when nothing was queued: wrong family, |timeout_us| <= 0, or
    // |max_in_flight| probes outstanding.
    uint64_t send(const omrt::IpAddr &target, int64_t timeout_us, void *cookie);
    uint64_t send(const struct sockaddr_storage &target, int64_t timeout_us, void *cookie);
    // Forgets a probe; no result will be delivered. False if it is not outstanding.
    bool cancel(uint64_t probe_id);

    Mode mode() const { return mode_; }
    // The sentence open_icmp_socket() gave at the last open() (why this mode, or why none).
    const std::string &mode_reason() const { return mode_reason_; }
    uint16_t ident() const { return ident_; } // echo id on the wire, host order
    const ProberOptions &options() const { return opt_; }
    const Counters &counters() const { return counters_; }
    unsigned in_flight() const { return in_flight_; }
    int fd() const { return fd_.get(); }

private:
    enum class SlotState : uint8_t { Free, InFlight, Failed };
    struct Slot {
        uint64_t probe_id = 0;
        void *cookie = nullptr;
        int64_t sent_us = 0;
        int64_t deadline_us = 0;
        omrt::IpAddr target;
        int error = 0;
        uint16_t seq = 0;
        SlotState state = SlotState::Free;
    };
    enum class Done : uint8_t { Answered, Expired };
    struct Recent { // recently completed probes, to tell late and duplicate answers
        omrt::IpAddr target;
        uint16_t seq = 0;
        bool valid = false;
        Done how = Done::Answered;
    };
    struct RxMeta {
        int ttl = -1;
        int tos = -1;
    };

    void on_io(int events);
    void on_timer();
    void drain(bool errqueue, unsigned epoch);
    void handle_packet(const uint8_t *buf, size_t len, const omrt::IpAddr &from, const RxMeta &meta,
                       bool truncated, int64_t now);
    void handle_errqueue(const uint8_t *buf, size_t len, const omrt::IpAddr &quoted_dst,
                         const struct msghdr &msg, int64_t now);
    void on_answer(const Packet &p, const omrt::IpAddr &from, const omrt::IpAddr &quoted_dst,
                   const RxMeta &meta, int err, int64_t now);
    void complete(unsigned idx, ProbeResult &r, bool remember, Done how);
    Recent *find_recent(uint16_t seq);
    void arm(int64_t deadline_us, int64_t now);
    void rearm(int64_t now);
    void log_odd(int64_t now, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

    const omrt::Clock &clock_;
    ProbeListener &listener_;
    ProberOptions opt_;
    Family family_ = Family::V4;
    core::UniqueFd fd_;
    core::IoWatcher io_;
    core::Timer timer_;
    Mode mode_ = Mode::Auto; // Auto until a socket is open
    std::string mode_reason_;
    uint16_t ident_ = 0;
    std::vector<Slot> slots_;
    unsigned mask_ = 0;
    unsigned in_flight_ = 0; // slots not Free
    uint16_t next_seq_ = 0;
    uint64_t serial_ = 0;
    std::vector<Recent> recent_;
    unsigned recent_head_ = 0;
    std::vector<uint8_t> tx_;
    std::vector<uint8_t> rx_;
    int64_t armed_deadline_us_ = 0;
    unsigned epoch_ = 0; // bumped whenever the socket changes
    Counters counters_;
    core::LogLimiter odd_log_;
    core::LogLimiter send_log_;
};

} // namespace icmp
