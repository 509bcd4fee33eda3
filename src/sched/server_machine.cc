#include "sched/server_machine.h"

#include "core/str.h"

#include <algorithm>

namespace sched {

namespace {

// The checks time out after `timeout` themselves; the round's verdict waits a little
// longer so those results (with their reasons) are in when it is made.
constexpr int64_t kDecisionGraceUs = 250 * 1000;

// When every lane failed, the reason that says most about the server: one that proves
// the server was reached (a refusal, an HTTP error, a TLS problem) beats one that only
// says a path failed.
int reason_rank(omrt::Reason r)
{
    using R = omrt::Reason;
    static const R order[] = {R::api_auth_rejected, R::http_status,      R::http_bad_response,
                              R::tls_pin_mismatch,  R::tls_cert_invalid, R::api_timeout,
                              R::tls_handshake,     R::tcp_refused,      R::tcp_timeout,
                              R::target_timeout,    R::net_unreachable,  R::internal};
    for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (order[i] == r)
            return int(i);
    return 100;
}

constexpr unsigned kMaxAddrsPerEntry = 4;

} // namespace

ServerParams ServerParams::from_config(const cfg::ServerTrackerOptions &o)
{
    ServerParams p;
    p.type = o.type;
    p.tries = std::max(1u, o.tries);
    p.timeout_us = int64_t(std::max(1u, o.timeout_s)) * omrt::kUsPerS;
    p.interval_us = int64_t(std::max(1u, o.interval_s)) * omrt::kUsPerS;
    p.interval_tries_us = int64_t(o.interval_tries_s) * omrt::kUsPerS;
    return p;
}

ServerMachine::ServerMachine(std::string name, const ServerParams &p, ServerEffects &fx)
    : name_(std::move(name)), p_(p), fx_(fx)
{}

bool ServerMachine::wants_api() const
{
    return p_.type == cfg::ServerCheck::api || p_.type == cfg::ServerCheck::apiping;
}

bool ServerMachine::wants_ping() const
{
    return p_.type == cfg::ServerCheck::ping || p_.type == cfg::ServerCheck::apiping;
}

bool ServerMachine::lane_ok(const LaneResult &l) const
{
    switch (p_.type) {
    case cfg::ServerCheck::api:
        return l.api_ok;
    case cfg::ServerCheck::ping:
        return l.ping_ok;
    case cfg::ServerCheck::apiping:
        // API first; ICMP counts only once the API has failed (§5.2 step 3).
        return l.api_ok || (l.ping_ok && l.api_tried);
    case cfg::ServerCheck::none:
        return true;
    }
    return false;
}

// --------------------------------------------------------------------------- inputs

void ServerMachine::start(omrt::MonoUs now)
{
    if (started_)
        return;
    started_ = true;
    next_heartbeat_ = now + p_.heartbeat_us;
    start_round(now, "start");
    schedule_wake();
}

void ServerMachine::set_params(const ServerParams &p, omrt::MonoUs now)
{
    p_ = p;
    if (!started_)
        return;
    for (const Flight &f : flights_)
        fx_.cancel_check(f.id);
    flights_.clear();
    round_ = false;
    start_round(now, "configuration changed");
    schedule_wake();
}

void ServerMachine::set_entries(std::vector<ServerEntry> entries, omrt::MonoUs now)
{
    bool changed = entries.size() != entries_.size();
    for (size_t i = 0; !changed && i < entries.size(); i++)
        changed = entries[i].addrs != entries_[i].addrs ||
                  entries[i].dns_reason != entries_[i].dns_reason;
    entries_ = std::move(entries);
    for (ServerEntry &e : entries_)
        if (e.addrs.size() > kMaxAddrsPerEntry)
            e.addrs.resize(kMaxAddrsPerEntry);
    if (!changed || !started_)
        return;
    // New addresses (DDNS): check them now, not at the next interval.
    for (const Flight &f : flights_)
        fx_.cancel_check(f.id);
    flights_.clear();
    hb_pending_ = 0;
    round_ = false;
    last_trigger_ = now;
    triggered_++;
    start_round(now, "addresses changed");
    schedule_wake();
}

void ServerMachine::set_wans(std::vector<WanView> wans, omrt::MonoUs now)
{
    bool more_usable = false;
    for (const WanView &w : wans) {
        if (!w.usable)
            continue;
        auto old = std::find_if(wans_.begin(), wans_.end(),
                                [&](const WanView &o) { return o.name == w.name; });
        if (old == wans_.end() || !old->usable || old->src[0] != w.src[0] ||
            old->src[1] != w.src[1])
            more_usable = true;
    }
    wans_ = std::move(wans);
    // A WAN that came back (or changed address) may reach a server the others cannot.
    if (more_usable && started_)
        trigger(now, "a WAN changed");
}

void ServerMachine::set_auth(omrt::Reason r, const std::string &message, omrt::MonoUs now)
{
    if (r == auth_reason_ && message == auth_message_)
        return;
    auth_reason_ = r;
    auth_message_ = message;
    if (status_ == omrt::Health::Ok)
        publish(now, true);
}

void ServerMachine::trigger(omrt::MonoUs now, const char *why)
{
    if (!started_ || round_)
        return;
    if (now - last_trigger_ < p_.trigger_gap_us) {
        next_round_ = std::min(next_round_, last_trigger_ + p_.trigger_gap_us);
        schedule_wake();
        return;
    }
    last_trigger_ = now;
    triggered_++;
    start_round(now, why);
    schedule_wake();
}

void ServerMachine::on_timer(omrt::MonoUs now)
{
    if (!started_)
        return;
    if (round_) {
        if (!decided_ && now >= round_start_ + p_.timeout_us + kDecisionGraceUs)
            round_deadline(now);
        for (unsigned l = 0; round_ && l < lanes_.size(); l++)
            if (next_try_[l] && next_try_[l] <= now) {
                next_try_[l] = 0;
                launch_attempt(l, now);
            }
    } else if (now >= next_round_) {
        start_round(now, "interval");
    }
    if (p_.heartbeat_us > 0 && wants_ping() && now >= next_heartbeat_) {
        next_heartbeat_ = now + p_.heartbeat_us;
        heartbeat(now);
    }
    schedule_wake();
}

void ServerMachine::on_check_result(uint32_t id, const CheckOutcome &o, omrt::MonoUs now)
{
    auto it = std::find_if(flights_.begin(), flights_.end(),
                           [id](const Flight &f) { return f.id == id; });
    if (it == flights_.end())
        return;
    Flight fl = *it;
    flights_.erase(it);

    if (fl.heartbeat) {
        if (hb_pending_ > 0)
            hb_pending_--;
        if (o.ok)
            hb_replies_++;
        if (hb_pending_ == 0 && hb_sent_ > 0) {
            bool alive = hb_replies_ > 0;
            // Edge-triggered, so a VPS that never answers ICMP costs nothing.
            if (hb_alive_ && !alive && status_ == omrt::Health::Ok)
                trigger(now, "no ICMP answer through any WAN");
            else if (!hb_alive_ && alive && status_ == omrt::Health::Error)
                trigger(now, "ICMP answers again");
            hb_alive_ = alive;
            hb_sent_ = 0;
        }
        return;
    }
    if (fl.lane >= lanes_.size())
        return;
    LaneResult &L = lanes_[fl.lane];
    if (fl.type == CheckType::api) {
        L.api_tried = true;
        L.api_ok = o.ok;
    } else {
        L.ping_tried = true;
        L.ping_ok = o.ok;
    }
    if (o.ok) {
        if (L.rtt_us < 0 || fl.type == CheckType::api)
            L.rtt_us = o.rtt_us;
    }
    // The lane's reason: the API's when the API is checked, else the ping's.
    if (fl.type == CheckType::api || !wants_api()) {
        L.reason = o.ok ? omrt::Reason::ok : o.reason;
        L.message = o.message;
    } else if (!L.api_tried) {
        L.reason = o.ok ? omrt::Reason::ok : o.reason;
        L.message = o.message;
    }

    if (!round_ || fl.attempt != attempts_[fl.lane])
        return;
    bool attempt_done = true;
    for (const Flight &f : flights_)
        if (!f.heartbeat && f.lane == fl.lane)
            attempt_done = false;
    if (lane_ok(L)) {
        if (!decided_ || status_ != omrt::Health::Ok)
            publish(now, true);
        decided_ = true;
    } else if (attempt_done && attempts_[fl.lane] < p_.tries) {
        bool any_ok = false;
        for (const LaneResult &x : lanes_)
            any_ok = any_ok || lane_ok(x);
        if (!any_ok)
            next_try_[fl.lane] = now + std::max<int64_t>(p_.interval_tries_us, 1000);
    }
    bool waiting = false;
    for (unsigned l = 0; l < lanes_.size(); l++)
        waiting = waiting || next_try_[l] != 0;
    bool pending = false;
    for (const Flight &f : flights_)
        pending = pending || !f.heartbeat;
    if (!waiting && !pending)
        finish_round(now);
    schedule_wake();
}

// --------------------------------------------------------------------------- rounds

void ServerMachine::build_lanes()
{
    lanes_.clear();
    lane_entry_.clear();
    for (unsigned e = 0; e < entries_.size(); e++)
        for (const omrt::IpAddr &a : entries_[e].addrs)
            for (const WanView &w : wans_) {
                if (!w.usable || !w.src[a.is_v4() ? 0 : 1].valid())
                    continue;
                LaneResult l;
                l.wan = w.name;
                l.addr = a;
                lanes_.push_back(l);
                lane_entry_.push_back(e);
            }
    attempts_.assign(lanes_.size(), 0);
    next_try_.assign(lanes_.size(), 0);
}

void ServerMachine::start_round(omrt::MonoUs now, const char *why)
{
    (void)why;
    if (round_)
        return;
    build_lanes();
    rounds_++;
    round_start_ = now;
    decided_ = false;
    next_round_ = now + p_.interval_us;
    if (p_.type == cfg::ServerCheck::none) {
        publish(now, true);
        return;
    }
    bool resolving = !entries_.empty();
    for (const ServerEntry &e : entries_)
        resolving = resolving && e.addrs.empty() && e.dns_reason == omrt::Reason::pending;
    if (resolving)
        return; // the first answer starts a round (set_entries); no false ERROR before it
    if (lanes_.empty()) {
        publish(now, false);
        return;
    }
    round_ = true;
    for (unsigned l = 0; l < lanes_.size(); l++)
        launch_attempt(l, now);
}

void ServerMachine::launch_attempt(unsigned l, omrt::MonoUs now)
{
    (void)now;
    attempts_[l]++;
    LaneResult &L = lanes_[l];
    if (wants_api()) {
        L.api_ok = false;
        L.api_tried = false;
        send(CheckType::api, l, false, attempts_[l], p_.timeout_us);
    }
    if (wants_ping()) {
        L.ping_ok = false;
        send(CheckType::ping, l, false, attempts_[l], p_.timeout_us);
    }
}

uint32_t ServerMachine::send(CheckType t, unsigned lane, bool hb, unsigned attempt,
                             int64_t timeout_us)
{
    uint32_t id = next_id_++;
    if (next_id_ == 0)
        next_id_ = 1;
    flights_.push_back(Flight{id, lane, t, hb, attempt});
    const LaneResult &L = lanes_[lane];
    fx_.start_check(id, t, L.wan, L.addr, timeout_us);
    return id;
}

void ServerMachine::round_deadline(omrt::MonoUs now)
{
    // `timeout` has passed and no lane succeeded: every first attempt through every WAN
    // failed. Declare the server down now (failover), let the retries go on.
    decided_ = true;
    publish(now, false);
}

void ServerMachine::finish_round(omrt::MonoUs now)
{
    round_ = false;
    bool any_ok = false;
    for (const LaneResult &l : lanes_)
        any_ok = any_ok || lane_ok(l);
    // Always: the status shows every lane's outcome of this round (which WAN reaches it).
    publish(now, any_ok);
    decided_ = true;
    next_round_ = now + p_.interval_us;
}

void ServerMachine::heartbeat(omrt::MonoUs now)
{
    (void)now;
    if (hb_pending_ > 0)
        return; // the previous tick is still out (a long timeout); skip this one
    // The address in use (else the first one), through every usable WAN.
    unsigned entry = 0;
    omrt::IpAddr a = current_addr(&entry);
    if (!a.valid())
        return;
    hb_sent_ = 0;
    hb_replies_ = 0;
    for (const WanView &w : wans_) {
        if (!w.usable || !w.src[a.is_v4() ? 0 : 1].valid())
            continue;
        uint32_t id = next_id_++;
        if (next_id_ == 0)
            next_id_ = 1;
        flights_.push_back(Flight{id, unsigned(-1), CheckType::ping, true, 0});
        fx_.start_check(id, CheckType::ping, w.name, a, p_.heartbeat_us);
        hb_sent_++;
        hb_pending_++;
    }
}

void ServerMachine::schedule_wake()
{
    if (!started_)
        return;
    omrt::MonoUs t = INT64_MAX;
    if (round_) {
        if (!decided_)
            t = std::min(t, round_start_ + p_.timeout_us + kDecisionGraceUs);
        for (omrt::MonoUs n : next_try_)
            if (n)
                t = std::min(t, n);
    } else {
        t = std::min(t, next_round_);
    }
    if (p_.heartbeat_us > 0 && wants_ping())
        t = std::min(t, next_heartbeat_);
    if (t != INT64_MAX)
        fx_.wake_at(t);
}

omrt::IpAddr ServerMachine::current_addr(unsigned *entry) const
{
    if (last_ok_addr_.valid()) {
        if (entry)
            *entry = last_ok_entry_;
        return last_ok_addr_;
    }
    for (unsigned e = 0; e < entries_.size(); e++)
        if (!entries_[e].addrs.empty()) {
            if (entry)
                *entry = e;
            return entries_[e].addrs.front();
        }
    if (entry)
        *entry = 0;
    return omrt::IpAddr();
}

void ServerMachine::publish(omrt::MonoUs now, bool success)
{
    (void)now;
    ServerVerdict v;
    v.lanes = lanes_;
    if (p_.type == cfg::ServerCheck::none) {
        v.status = omrt::Health::Ok;
        v.reason = omrt::Reason::ok;
        v.message = "not checked (type none): always considered up";
        v.addr = current_addr(&v.entry);
    } else if (success) {
        // The first answering lane in `ip` entry order, WAN order: what the shell's
        // master pass would have picked (§5.2 step 4: the index of the working entry).
        // The address in use stays while it answers: no hopping between A and AAAA (or
        // between lanes answering in a different order), which would look like a move.
        const LaneResult *best = nullptr;
        unsigned best_entry = 0;
        for (unsigned l = 0; l < lanes_.size() && !best; l++)
            if (lane_ok(lanes_[l]) && lanes_[l].addr == last_ok_addr_) {
                best = &lanes_[l];
                best_entry = lane_entry_[l];
            }
        for (unsigned l = 0; l < lanes_.size() && !best; l++)
            if (lane_ok(lanes_[l])) {
                best = &lanes_[l];
                best_entry = lane_entry_[l];
            }
        v.status = omrt::Health::Ok;
        v.reason = omrt::Reason::ok;
        std::string vias;
        for (const LaneResult &l : lanes_)
            if (lane_ok(l) && best && l.addr == best->addr)
                vias += (vias.empty() ? "" : ", ") + l.wan;
        if (best) {
            v.addr = best->addr;
            v.entry = best_entry;
            last_ok_addr_ = best->addr;
            last_ok_entry_ = best_entry;
            if (wants_api() && !best->api_ok) {
                // apiping: the API failed but ICMP answers (§5.2 step 3): up, reason noted.
                v.reason = best->api_tried ? best->reason : omrt::Reason::ok;
                v.message = core::strprintf("%s answers ICMP via %s, but not the API: %s",
                                            best->addr.str().c_str(), vias.c_str(),
                                            best->message.c_str());
            } else if (wants_api()) {
                v.message = core::strprintf("API at %s answers via %s", best->addr.str().c_str(),
                                            vias.c_str());
            } else {
                v.message = core::strprintf("%s answers ICMP via %s", best->addr.str().c_str(),
                                            vias.c_str());
            }
        }
        if (v.reason == omrt::Reason::ok && auth_reason_ != omrt::Reason::ok) {
            v.reason = auth_reason_;
            v.message += "; " + auth_message_;
        }
    } else {
        v.status = omrt::Health::Error;
        v.addr = current_addr(&v.entry);
        if (entries_.empty()) {
            v.reason = omrt::Reason::config;
            v.message = "no `ip` entry";
        } else {
            bool any_addr = false;
            for (const ServerEntry &e : entries_)
                any_addr = any_addr || !e.addrs.empty();
            if (!any_addr) {
                v.reason = entries_[0].dns_reason == omrt::Reason::ok ? omrt::Reason::dns_nodata
                                                                      : entries_[0].dns_reason;
                v.message = core::strprintf("no address for %s: %s", entries_[0].text.c_str(),
                                            entries_[0].dns_message.c_str());
            } else if (lanes_.empty()) {
                v.reason = omrt::Reason::link_down;
                v.message = "no usable WAN to check it through";
            } else {
                int best = 1000;
                std::string detail;
                for (const LaneResult &l : lanes_) {
                    omrt::Reason r = l.reason == omrt::Reason::pending ? omrt::Reason::api_timeout
                                                                       : l.reason;
                    int rank = reason_rank(r);
                    if (rank < best) {
                        best = rank;
                        v.reason = r;
                    }
                    if (!detail.empty())
                        detail += "; ";
                    detail += l.message.empty()
                                      ? core::strprintf("%s via %s: no answer yet",
                                                        l.addr.str().c_str(), l.wan.c_str())
                                      : l.message;
                }
                v.message = core::strprintf("no answer through any WAN: %s", detail.c_str());
            }
        }
    }
    v.prev = status_;
    v.transition = v.status != status_;
    status_ = v.status;
    reason_ = v.reason;
    fx_.on_server_verdict(v);
}

std::string pick_current(const std::vector<ServerRole> &servers, const std::string &previous)
{
    // A master not checked yet is given its first verdict before anything else is used.
    for (const ServerRole &s : servers)
        if (s.master && s.status == omrt::Health::Unknown &&
            (previous.empty() || previous == s.name))
            return s.name;
    for (const ServerRole &s : servers)
        if (s.master && s.status == omrt::Health::Ok)
            return s.name;
    // The backup in use stays in use while it works (no hopping between backups).
    for (const ServerRole &s : servers)
        if (s.backup && s.name == previous && s.status == omrt::Health::Ok)
            return s.name;
    for (const ServerRole &s : servers)
        if (s.backup && s.status == omrt::Health::Ok)
            return s.name;
    for (const ServerRole &s : servers)
        if (s.name == previous)
            return previous; // nothing better: keep it
    for (const ServerRole &s : servers)
        if (s.master)
            return s.name;
    return servers.empty() ? std::string() : servers.front().name;
}

} // namespace sched
