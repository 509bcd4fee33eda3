#include "status/board.h"

#include "core/files.h"
#include "core/json.h"
#include "core/procstat.h"
#include "core/str.h"
#include "omrt/version.h"

#include <algorithm>
#include <unistd.h>

namespace status {

namespace {

constexpr omrt::MonoUs kStepUs = omrt::MonoUs(kHistoryStepS) * omrt::kUsPerS;

long long wall_seconds(omrt::WallUs us)
{
    return static_cast<long long>(us / omrt::kUsPerS);
}

void write_iface(core::JsonWriter &w, IfaceState &i, omrt::MonoUs now)
{
    w.key(i.name);
    w.begin_object();
    w.kv("status", omrt::health_name(i.status));
    w.kv("reason", omrt::reason_name(i.reason));
    w.kv("message", i.message);
    w.kv("device", i.device);
    w.kv("latency_ms", i.latency_ms);
    w.kv("loss_pct", i.loss_pct);
    w.kv("jitter_ms", i.jitter_ms);
    w.kv("since", wall_seconds(i.since_us));
    w.kv("transitions", i.transitions);
    w.key("latency_history_ms");
    i.history.write_json(w, now);
    w.kv("history_step_s", kHistoryStepS);
    w.key("probes");
    w.begin_object();
    w.kv("sent", i.probes_sent);
    w.kv("replies", i.probes_replies);
    w.kv("timeouts", i.probes_timeouts);
    w.kv("errors", i.probes_errors);
    w.key("ignored");
    w.begin_object();
    w.kv("foreign", i.ignored_foreign);
    w.kv("duplicate", i.ignored_duplicate);
    w.kv("late", i.ignored_late);
    w.kv("malformed", i.ignored_malformed);
    w.end_object();
    w.end_object();
    w.end_object();
}

void write_server(core::JsonWriter &w, const ServerState &s, BoardExtension *ext)
{
    w.key(s.name);
    w.begin_object();
    w.kv("status", omrt::health_name(s.status));
    w.kv("reason", omrt::reason_name(s.reason));
    w.kv("message", s.message);
    w.kv("name", s.host);
    w.key("addresses");
    w.begin_array();
    for (const std::string &a : s.addresses)
        w.value(a);
    w.end_array();
    w.kv("current", s.current);
    w.kv("master", s.master);
    w.kv("backup", s.backup);
    w.kv("since", wall_seconds(s.since_us));
    w.kv("transitions", s.transitions);
    w.kv("in_use", s.in_use);
    w.kv("checks", s.checks);
    w.kv("api_checks", s.api_checks);
    w.kv("failovers", s.failovers);
    w.key("wans");
    w.begin_array();
    for (const ServerWan &l : s.wans) {
        w.begin_object();
        w.kv("wan", l.wan);
        w.kv("address", l.addr);
        w.kv("ok", l.ok);
        w.kv("reason", omrt::reason_name(l.reason));
        w.kv("message", l.message);
        w.kv("rtt_ms", l.rtt_ms);
        if (!l.public_ip.empty())
            w.kv("public_ip", l.public_ip);
        w.end_object();
    }
    w.end_array();
    if (ext)
        ext->write_server_extra(w, s);
    w.end_object();
}

enum class Change { none, message, state };

// Applies a verdict to an entry. A new status or reason is a state change (published at
// once); a new message alone is not: messages carry measurements ("median 0.2 ms over 20
// probes") that change every cycle, and go out at the measurement rate.
template <class State>
Change apply_verdict(State &st, omrt::Health h, omrt::Reason r, const std::string &message,
                     omrt::WallUs wall_now)
{
    Change c = Change::none;
    if (st.status != h) {
        st.status = h;
        st.since_us = wall_now;
        st.transitions++;
        c = Change::state;
    }
    if (st.reason != r) {
        st.reason = r;
        c = Change::state;
    }
    if (st.message != message) {
        st.message = message;
        if (c == Change::none)
            c = Change::message;
    }
    return c;
}

// Rebuilds |v| in the order of |names|, moving the entries that stay. True if the list
// of names (or its order) changed.
template <class State>
bool sync_entries(std::vector<State> &v, const std::vector<std::string> &names,
                  omrt::WallUs wall_now)
{
    std::vector<State> next;
    next.reserve(names.size());
    bool changed = names.size() != v.size();
    for (size_t k = 0; k < names.size(); k++) {
        const std::string &n = names[k];
        auto it = std::find_if(v.begin(), v.end(), [&](const State &s) { return s.name == n; });
        if (std::find_if(next.begin(), next.end(), [&](const State &s) { return s.name == n; }) !=
            next.end())
            continue; // a duplicate name: config validation rejects it, ignore here
        if (it != v.end()) {
            if (size_t(it - v.begin()) != k)
                changed = true;
            next.push_back(std::move(*it));
            it->name.clear(); // moved-from: must not match a later duplicate
        } else {
            State s;
            s.name = n;
            s.since_us = wall_now;
            next.push_back(std::move(s));
            changed = true;
        }
    }
    v = std::move(next);
    return changed;
}

} // namespace

// --------------------------------------------------------------------------- history

LatencyHistory::LatencyHistory()
{
    for (float &f : worst_ms)
        f = NAN;
}

void LatencyHistory::advance(omrt::MonoUs now)
{
    omrt::MonoUs aligned = now - ((now % kStepUs) + kStepUs) % kStepUs;
    if (!started) {
        started = true;
        slot_start_us = aligned;
        return;
    }
    if (aligned <= slot_start_us)
        return;
    omrt::MonoUs n = (aligned - slot_start_us) / kStepUs;
    if (n > omrt::MonoUs(kHistorySlots))
        n = kHistorySlots;
    for (omrt::MonoUs k = 0; k < n; k++) {
        newest = (newest + 1) % kHistorySlots;
        worst_ms[newest] = NAN;
        probed[newest] = false;
        lost[newest] = false;
    }
    slot_start_us = aligned;
}

void LatencyHistory::record(omrt::MonoUs now, double latency_ms)
{
    advance(now);
    probed[newest] = true;
    if (std::isnan(latency_ms)) {
        lost[newest] = true;
        return;
    }
    float v = float(latency_ms);
    if (std::isnan(worst_ms[newest]) || v > worst_ms[newest])
        worst_ms[newest] = v;
}

void LatencyHistory::write_json(core::JsonWriter &w, omrt::MonoUs now)
{
    advance(now);
    w.begin_array();
    for (unsigned k = 0; k < kHistorySlots; k++) {
        unsigned i = (newest + 1 + k) % kHistorySlots;
        if (!probed[i])
            w.value(-1);
        else if (std::isnan(worst_ms[i]))
            w.null();
        else
            w.value(double(worst_ms[i]), 1);
    }
    w.end_array();
}

// --------------------------------------------------------------------------- board

Board::Board(core::Loop &loop, const omrt::Clock &clock)
    : loop_(loop), clock_(clock), flush_(loop, on_flush, this), started_us_(clock.mono_us())
{}

Board::~Board() = default;

void Board::set_status_file(const std::string &path, double metrics_interval_s)
{
    status_file_ = path;
    metrics_interval_s_ = metrics_interval_s > 0 ? metrics_interval_s : 0;
    write_error_.clear();
    if (!status_file_.empty()) {
        // The file should exist as soon as the daemon runs; not a change for listeners.
        dirty_ = true;
        if (!flush_soon_) {
            flush_soon_ = true;
            flush_.start(0);
        }
    }
}

void Board::sync_interfaces(const std::vector<std::string> &names)
{
    if (sync_entries(ifaces_, names, clock_.wall_us()))
        changed(true);
}

void Board::sync_servers(const std::vector<std::string> &names)
{
    if (sync_entries(servers_, names, clock_.wall_us()))
        changed(true);
}

IfaceState *Board::iface(const std::string &name)
{
    for (IfaceState &i : ifaces_)
        if (i.name == name)
            return &i;
    return nullptr;
}

ServerState *Board::server(const std::string &name)
{
    for (ServerState &s : servers_)
        if (s.name == name)
            return &s;
    return nullptr;
}

void Board::set_iface_verdict(const std::string &name, omrt::Health h, omrt::Reason r,
                              const std::string &message)
{
    IfaceState *i = iface(name);
    Change c = i ? apply_verdict(*i, h, r, message, clock_.wall_us()) : Change::none;
    if (c != Change::none)
        changed(c == Change::state);
}

void Board::set_server_verdict(const std::string &name, omrt::Health h, omrt::Reason r,
                               const std::string &message)
{
    ServerState *s = server(name);
    Change c = s ? apply_verdict(*s, h, r, message, clock_.wall_us()) : Change::none;
    if (c != Change::none)
        changed(c == Change::state);
}

void Board::changed(bool significant)
{
    dirty_ = true;
    if (significant) {
        significant_ = true;
        if (!flush_soon_) {
            // All changes of this iteration end up in one write and one notification.
            flush_soon_ = true;
            flush_.start(0);
        }
        return;
    }
    // flush_soon_: a 0 s flush of a significant change may have expired without having
    // run yet in this iteration (no longer "active"); re-arming it would delay it.
    if (status_file_.empty() || flush_soon_ || flush_.active())
        return; // nothing to write, or a write is already due
    omrt::MonoUs due = last_write_us_ + omrt::MonoUs(metrics_interval_s_ * double(omrt::kUsPerS));
    omrt::MonoUs now = clock_.mono_us();
    flush_.start(due > now ? double(due - now) / double(omrt::kUsPerS) : 0.0);
}

void Board::flush_now()
{
    flush_.stop();
    publish_now();
}

void Board::on_flush(void *ctx) noexcept
{
    static_cast<Board *>(ctx)->publish_now();
}

void Board::publish_now()
{
    flush_soon_ = false;
    bool dirty = dirty_;
    bool significant = significant_;
    dirty_ = significant_ = false;
    if (dirty && !status_file_.empty())
        write_status_file();
    if (significant)
        notify();
}

void Board::write_status_file()
{
    std::string doc = to_json();
    doc += '\n';
    std::string err;
    last_write_us_ = clock_.mono_us();
    if (!core::write_file_atomic(status_file_, doc, 0644, &err)) {
        write_failures_++;
        unsigned more = 0;
        if (write_log_limit_.allow(last_write_us_, &more)) {
            std::string tail =
                    more ? core::strprintf(" (%u more failures since the last report)", more)
                         : std::string();
            LOGW("status: %s; retrying at the next change%s", err.c_str(), tail.c_str());
        }
        write_error_ = std::move(err);
        return;
    }
    writes_++;
    if (!write_error_.empty()) {
        LOGN("status: %s is written again", status_file_.c_str());
        write_error_.clear();
    }
}

void Board::notify()
{
    // Index-based, and removal only nulls the slot while notifying: a listener may remove
    // itself or another listener from inside on_board_changed().
    bool outer = !notifying_;
    notifying_ = true;
    size_t n = listeners_.size();
    for (size_t k = 0; k < n && k < listeners_.size(); k++)
        if (BoardListener *l = listeners_[k])
            l->on_board_changed();
    if (outer) {
        notifying_ = false;
        listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), nullptr),
                         listeners_.end());
    }
}

void Board::add_listener(BoardListener *l)
{
    if (l && std::find(listeners_.begin(), listeners_.end(), l) == listeners_.end())
        listeners_.push_back(l);
}

void Board::remove_listener(BoardListener *l)
{
    auto it = std::find(listeners_.begin(), listeners_.end(), l);
    if (it == listeners_.end())
        return;
    if (notifying_)
        *it = nullptr;
    else
        listeners_.erase(it);
}

std::string Board::to_json()
{
    core::JsonWriter w;
    write_json(w);
    return w.take();
}

void Board::write_json(core::JsonWriter &w)
{
    omrt::MonoUs now = clock_.mono_us();
    w.begin_object();
    w.key("interfaces");
    w.begin_object();
    for (IfaceState &i : ifaces_)
        write_iface(w, i, now);
    w.end_object();
    w.key("servers");
    w.begin_object();
    for (const ServerState &s : servers_)
        write_server(w, s, ext_);
    w.end_object();

    core::ProcStat ps = core::read_proc_self();
    w.key("daemon");
    w.begin_object();
    w.kv("pid", int(getpid()));
    w.kv("version", OMRT_VERSION);
    w.kv("uptime_s", static_cast<long long>((now - started_us_) / omrt::kUsPerS));
    w.kv("cpu_ms", ps.cpu_ms);
    w.kv("rss_kb", ps.rss_kb);
    w.key("heap_bytes");
    if (ps.heap_bytes < 0)
        w.null();
    else
        w.value(static_cast<long long>(ps.heap_bytes));
    w.kv("loop_lag_ms", loop_lag_ms_);
    w.kv("open_fds", ps.open_fds);
    w.kv("status_writes", writes_);
    w.key("status_write_error");
    if (write_error_.empty())
        w.null();
    else
        w.value(write_error_);
    w.end_object();
    w.end_object();
}

} // namespace status
