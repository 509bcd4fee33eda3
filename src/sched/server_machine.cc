#include "sched/server_machine.h"

#include "core/str.h"
#include "core/vec.h"

#include <algorithm>

namespace sched {

namespace {

// The checks time out at the round's deadline themselves; the verdict waits a little
// longer so their results (with their reasons) are in when it is made.
constexpr int64_t kDecisionGraceUs = 50 * 1000;
// Heartbeat ticks kept in flight at most (a tick lasts heartbeat_timeout_us).
constexpr size_t kMaxTicks = 8;

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

bool ServerMachine::heartbeat_on() const
{
    // Also for `api`: ICMP only starts rounds there, the API decides.
    return p_.heartbeat_us > 0 && p_.heartbeat_timeout_us > 0 && p_.type != cfg::ServerCheck::none;
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
    start_round(now, "start", 0);
    schedule_wake();
}

void ServerMachine::set_entries(std::vector<ServerEntry> entries, omrt::MonoUs now)
{
    for (ServerEntry &e : entries)
        if (e.addrs.size() > kMaxAddrsPerEntry)
            e.addrs.erase(e.addrs.begin() + kMaxAddrsPerEntry, e.addrs.end());
    bool changed = entries.size() != entries_.size();
    bool dns_changed = changed;
    for (size_t i = 0; !changed && i < entries.size(); i++) {
        changed = entries[i].addrs != entries_[i].addrs ||
                  (entries[i].addrs.empty() && entries[i].dns_reason != entries_[i].dns_reason);
        dns_changed = dns_changed || entries[i].dns_reason != entries_[i].dns_reason ||
                      entries[i].stale != entries_[i].stale ||
                      entries[i].dns_message != entries_[i].dns_message;
    }
    entries_ = std::move(entries);
    // The address in use is gone from DNS: forget it (the heartbeat follows the new one).
    bool still = false;
    for (const ServerEntry &e : entries_)
        still = still || std::find(e.addrs.begin(), e.addrs.end(), last_ok_addr_) != e.addrs.end();
    if (!still)
        last_ok_addr_ = omrt::IpAddr();
    if (!started_)
        return;
    if (!changed) {
        // Only the DNS state: an OK server shows it in its reason.
        if (dns_changed && status_ == omrt::Health::Ok)
            publish(now, true);
        return;
    }
    // New addresses (DDNS): check them now, not at the next interval.
    last_trigger_ = now;
    triggered_++;
    abort_round();
    start_round(now, "addresses changed", 0);
    schedule_wake();
}

void ServerMachine::set_wans(std::vector<WanView> wans, omrt::MonoUs now)
{
    bool more_usable = false;
    for (const WanView &w : wans) {
        if (!w.usable)
            continue;
        const WanView *old =
                core::find_where(wans_, [&](const WanView &o) { return o.name == w.name; });
        if (!old || !old->usable || old->src[0] != w.src[0] || old->src[1] != w.src[1])
            more_usable = true;
    }
    wans_ = std::move(wans);
    // A WAN that came back (or changed address) may reach a server the others cannot.
    if (more_usable && started_)
        trigger(now, "a WAN changed", true);
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

void ServerMachine::trigger(omrt::MonoUs now, const char *why, bool restart_decided)
{
    request_round(now, why, restart_decided ? Restart::decided : Restart::never, 0);
}

void ServerMachine::request_round(omrt::MonoUs now, const char *why, Restart r,
                                  omrt::MonoUs silence)
{
    if (!started_ || p_.type == cfg::ServerCheck::none)
        return;
    if (round_) {
        bool restart = false;
        switch (r) {
        case Restart::never:
            break;
        case Restart::decided:
            restart = decided_;
            break;
        case Restart::silence:
            restart = decided_ || deadline_for(now, silence) < deadline_;
            break;
        case Restart::always:
            restart = true;
            break;
        }
        if (!restart)
            return;
    }
    if (now - last_trigger_ < p_.trigger_gap_us) {
        // Held back; the strongest request and the earliest silence win.
        if (!held_ || r > held_restart_)
            held_restart_ = r;
        if (silence && (!held_silence_ || silence < held_silence_))
            held_silence_ = silence;
        if (!held_)
            held_why_ = why;
        held_ = true;
        schedule_wake();
        return;
    }
    last_trigger_ = now;
    triggered_++;
    abort_round();
    start_round(now, why, silence);
    schedule_wake();
}

void ServerMachine::on_timer(omrt::MonoUs now)
{
    if (!started_)
        return;
    if (held_ && now - last_trigger_ >= p_.trigger_gap_us) {
        held_ = false;
        Restart r = held_restart_;
        omrt::MonoUs silence = held_silence_;
        held_restart_ = Restart::never;
        held_silence_ = 0;
        request_round(now, held_why_, r, silence);
    }
    if (round_) {
        if (up_pending() && now >= first_ok_ + p_.prefer_wait_us)
            decide_up(now);
        if (!decided_ && now >= deadline_ + kDecisionGraceUs)
            deadline_passed(now);
        for (unsigned l = 0; round_ && l < lanes_.size(); l++)
            if (lane_st_[l].next_try && lane_st_[l].next_try <= now) {
                lane_st_[l].next_try = 0;
                launch_attempt(l, now);
            }
    } else if (now >= next_round_) {
        start_round(now, "interval", 0);
    }
    if (heartbeat_on() && now >= next_heartbeat_) {
        next_heartbeat_ = std::max(next_heartbeat_ + p_.heartbeat_us, now);
        heartbeat(now);
    }
    schedule_wake();
}

void ServerMachine::on_check_result(uint32_t id, const CheckOutcome &o, omrt::MonoUs now)
{
    size_t i = core::index_where(flights_, [id](const Flight &f) { return f.id == id; });
    if (i == flights_.size())
        return;
    Flight fl = flights_[i];
    flights_.erase(flights_.begin() + std::ptrdiff_t(i));

    if (fl.tick) {
        on_tick_result(fl, o.ok, now);
        schedule_wake();
        return;
    }
    if (!round_ || fl.lane >= lanes_.size() || fl.attempt != lane_st_[fl.lane].attempts)
        return;
    LaneResult &L = lanes_[fl.lane];
    if (fl.type == CheckType::api) {
        L.api_tried = true;
        L.api_ok = o.ok;
    } else {
        L.ping_tried = true;
        L.ping_ok = o.ok;
    }
    if (o.ok && (L.rtt_us < 0 || fl.type == CheckType::api))
        L.rtt_us = o.rtt_us;
    // The lane's reason: the API's when the API is checked, else the ping's.
    if (fl.type == CheckType::api || !wants_api() || !L.api_tried) {
        L.reason = o.ok ? omrt::Reason::ok : o.reason;
        L.message = o.message;
    }

    bool attempt_done = true;
    for (const Flight &f : flights_)
        if (!f.tick && f.lane == fl.lane)
            attempt_done = false;
    bool any_ok = false;
    for (const LaneResult &x : lanes_)
        any_ok = any_ok || lane_ok(x);
    if (lane_ok(L)) {
        if (!first_ok_)
            first_ok_ = now;
    } else if (attempt_done && lane_st_[fl.lane].attempts < p_.tries && !any_ok) {
        lane_st_[fl.lane].next_try = now + std::max<int64_t>(p_.interval_tries_us, 1000);
    }
    // A success elsewhere ends the retries still waiting.
    if (any_ok)
        for (LaneState &x : lane_st_)
            x.next_try = 0;
    // A success (or one that waited for earlier addresses) to announce.
    if (up_pending())
        decide_up(now);
    bool pending = false;
    for (const Flight &f : flights_)
        pending = pending || !f.tick;
    bool waiting = false;
    for (const LaneState &x : lane_st_)
        waiting = waiting || x.next_try != 0;
    if (round_ && !waiting && !pending)
        finish_round(now);
    schedule_wake();
}

// --------------------------------------------------------------------------- rounds

void ServerMachine::build_lanes()
{
    // Address-major: entries in `ip` order, addresses in answer order (A before AAAA),
    // then WANs. The first answering lane names the address in use.
    lanes_.clear();
    lane_st_.clear();
    std::vector<omrt::IpAddr> seen;
    for (unsigned e = 0; e < entries_.size(); e++)
        for (const omrt::IpAddr &a : entries_[e].addrs) {
            // An address listed twice (a name and its literal) is checked once.
            if (std::find(seen.begin(), seen.end(), a) != seen.end())
                continue;
            seen.push_back(a);
            for (const WanView &w : wans_) {
                if (!w.usable || !w.src[a.is_v4() ? 0 : 1].valid())
                    continue;
                LaneResult l;
                l.wan = w.name;
                l.addr = a;
                lanes_.push_back(l);
                lane_st_.push_back(LaneState{e, 0, 0});
            }
        }
}

omrt::MonoUs ServerMachine::deadline_for(omrt::MonoUs now, omrt::MonoUs silence) const
{
    // A round triggered by a silent heartbeat counts `timeout` from the silence, but
    // leaves its checks at least half the timeout.
    if (silence > 0)
        return std::max(silence + p_.timeout_us, now + p_.timeout_us / 2);
    return now + p_.timeout_us;
}

void ServerMachine::abort_round()
{
    if (!round_)
        return;
    core::erase_where(flights_, [this](const Flight &f) {
        if (f.tick)
            return false;
        fx_.cancel_check(f.id);
        return true;
    });
    round_ = false;
}

void ServerMachine::start_round(omrt::MonoUs now, const char *why, omrt::MonoUs silence)
{
    round_why_ = why;
    if (round_)
        return;
    if (held_) {
        // This round answers the held trigger too.
        if (held_silence_ && (!silence || held_silence_ < silence))
            silence = held_silence_;
        held_ = false;
        held_restart_ = Restart::never;
        held_silence_ = 0;
    }
    build_lanes();
    rounds_++;
    round_start_ = now;
    deadline_ = deadline_for(now, silence);
    decided_ = false;
    first_ok_ = 0;
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
    unsigned attempt = ++lane_st_[l].attempts;
    // The first attempt ends at the round's deadline; retries get the whole timeout.
    int64_t timeout = attempt == 1 ? std::max<int64_t>(deadline_ - now, 1000) : p_.timeout_us;
    LaneResult &L = lanes_[l];
    if (wants_api()) {
        L.api_ok = false;
        L.api_tried = false;
        send(CheckType::api, l, 0, attempt, timeout, L.wan, L.addr);
    }
    if (wants_ping()) {
        L.ping_ok = false;
        send(CheckType::ping, l, 0, attempt, timeout, L.wan, L.addr);
    }
}

uint32_t ServerMachine::send(CheckType t, unsigned lane, uint32_t tick, unsigned attempt,
                             int64_t timeout_us, const std::string &wan, const omrt::IpAddr &addr)
{
    uint32_t id = next_id_++;
    if (next_id_ == 0)
        next_id_ = 1;
    flights_.push_back(Flight{id, lane, t, tick, attempt});
    fx_.start_check(id, t, wan, addr, timeout_us);
    return id;
}

int ServerMachine::pick_lane() const
{
    // The first answering lane: lanes are in `ip` entry order, then answer order (A
    // before AAAA), so the address in use does not depend on which reply came first, and
    // goes back to the preferred address once that answers again (the shell resolves
    // with -4 first every cycle).
    for (unsigned l = 0; l < lanes_.size(); l++)
        if (lane_ok(lanes_[l]))
            return int(l);
    return -1;
}

bool ServerMachine::earlier_address_pending(int lane) const
{
    for (const Flight &f : flights_)
        if (!f.tick && int(f.lane) < lane && lanes_[f.lane].addr != lanes_[unsigned(lane)].addr)
            return true;
    for (unsigned l = 0; l < unsigned(lane) && l < lane_st_.size(); l++)
        if (lane_st_[l].next_try && lanes_[l].addr != lanes_[unsigned(lane)].addr)
            return true;
    return false;
}

bool ServerMachine::up_pending() const
{
    return round_ && first_ok_ && (!decided_ || status_ != omrt::Health::Ok);
}

void ServerMachine::decide_up(omrt::MonoUs now)
{
    int l = pick_lane();
    if (l < 0)
        return;
    if (status_ == omrt::Health::Ok) {
        // Nothing to announce: the end of the round publishes the lanes' details.
        decided_ = true;
        return;
    }
    // Give addresses earlier in order a moment to answer, so the choice does not depend
    // on which reply came first.
    if (earlier_address_pending(l) && now < first_ok_ + p_.prefer_wait_us)
        return;
    decided_ = true;
    publish(now, true);
}

void ServerMachine::deadline_passed(omrt::MonoUs now)
{
    // No lane succeeded by the deadline: the server is down (failover). The retries go
    // on; a late success brings it back.
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

// --------------------------------------------------------------------------- heartbeat

void ServerMachine::heartbeat(omrt::MonoUs now)
{
    if (ticks_.size() >= kMaxTicks)
        return;
    // The address in use (else the first one), through every usable WAN.
    omrt::IpAddr a = current_addr(nullptr);
    if (!a.valid())
        return;
    Tick t{++tick_seq_, now, 0, false};
    if (tick_seq_ == 0)
        t.seq = tick_seq_ = 1; // wrapped (after 68 years at 2/s); 0 means "no tick"
    ticks_.push_back(t);
    for (const WanView &w : wans_) {
        if (!w.usable || !w.src[a.is_v4() ? 0 : 1].valid())
            continue;
        ticks_.back().pending++;
        send(CheckType::ping, unsigned(-1), t.seq, 0, p_.heartbeat_timeout_us, w.name, a);
    }
    if (ticks_.back().pending == 0)
        ticks_.pop_back();
}

void ServerMachine::on_tick_result(const Flight &f, bool ok, omrt::MonoUs now)
{
    auto same_tick = [&f](const Tick &t) { return t.seq == f.tick; };
    size_t i = core::index_where(ticks_, same_tick);
    if (i == ticks_.size())
        return;
    Tick &t = ticks_[i];
    if (t.pending > 0)
        t.pending--;
    t.replied = t.replied || ok;
    // A tick is judged at its first answer (alive) or when every echo is lost (silent);
    // a newer tick's judgement is never overridden by an older one's.
    if (t.seq > tick_judged_ && (t.replied || t.pending == 0)) {
        tick_judged_ = t.seq;
        bool alive = t.replied;
        omrt::MonoUs sent = t.sent;
        bool was = hb_alive_;
        hb_alive_ = alive;
        // Edge-triggered, so a VPS that never answers ICMP costs nothing.
        if (was && !alive && status_ == omrt::Health::Ok)
            request_round(now, "no ICMP answer through any WAN", Restart::silence, sent);
        else if (!was && alive && status_ == omrt::Health::Error)
            request_round(now, "ICMP answers again", Restart::always, 0);
    }
    i = core::index_where(ticks_, same_tick);
    if (i != ticks_.size() && ticks_[i].pending == 0)
        ticks_.erase(ticks_.begin() + std::ptrdiff_t(i));
}

void ServerMachine::schedule_wake()
{
    if (!started_)
        return;
    omrt::MonoUs t = INT64_MAX;
    if (round_) {
        if (!decided_)
            t = std::min(t, deadline_ + kDecisionGraceUs);
        if (up_pending())
            t = std::min(t, first_ok_ + p_.prefer_wait_us);
        for (const LaneState &x : lane_st_)
            if (x.next_try)
                t = std::min(t, x.next_try);
    } else {
        t = std::min(t, next_round_);
    }
    if (held_)
        t = std::min(t, last_trigger_ + p_.trigger_gap_us);
    if (heartbeat_on())
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
        v.status = omrt::Health::Ok;
        v.reason = omrt::Reason::ok;
        int pick = pick_lane();
        if (pick >= 0) {
            const LaneResult &best = lanes_[unsigned(pick)];
            std::string vias;
            for (const LaneResult &l : lanes_)
                if (lane_ok(l) && l.addr == best.addr) {
                    if (!vias.empty())
                        vias += ", ";
                    vias += l.wan;
                }
            last_ok_addr_ = best.addr;
            last_ok_entry_ = lane_st_[unsigned(pick)].entry;
            base_reason_ = omrt::Reason::ok;
            std::string addr = best.addr.str();
            if (wants_api() && !best.api_ok) {
                // apiping: the API failed but ICMP answers (§5.2 step 3): up, reason noted.
                base_reason_ = best.api_tried ? best.reason : omrt::Reason::ok;
                base_message_ = core::strprintf("%s answers ICMP via %s, but not the API: %s",
                                                addr.c_str(), vias.c_str(), best.message.c_str());
            } else if (wants_api()) {
                base_message_ =
                        core::strprintf("API at %s answers via %s", addr.c_str(), vias.c_str());
            } else {
                base_message_ =
                        core::strprintf("%s answers ICMP via %s", addr.c_str(), vias.c_str());
            }
        }
        // Else re-published while a round runs (credentials, DNS state): the last
        // answer's account holds.
        v.addr = current_addr(&v.entry);
        v.reason = base_reason_;
        v.message = base_message_;
        if (v.reason == omrt::Reason::ok && auth_reason_ != omrt::Reason::ok) {
            v.reason = auth_reason_;
            v.message += "; ";
            v.message += auth_message_;
        }
        // Reachable, but its name no longer resolves: noted, the last good answer is used.
        for (const ServerEntry &e : entries_) {
            if (e.dns_reason == omrt::Reason::ok || e.dns_reason == omrt::Reason::pending ||
                e.addrs.empty())
                continue;
            if (v.reason == omrt::Reason::ok)
                v.reason = e.dns_reason;
            v.message += core::strprintf("; DNS for %s failed (%s), using the last good answer%s",
                                         e.text.c_str(), e.dns_message.c_str(),
                                         e.stale ? " (stale)" : "");
            break;
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
