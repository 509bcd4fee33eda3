#include "dns/names.h"

#include "core/json.h"
#include "core/str.h"

#include <algorithm>
#include <climits>
#include <sys/stat.h>

namespace dns {

namespace {
constexpr omrt::MonoUs kNever = INT64_MAX;
} // namespace

const char *family_name(Family f)
{
    switch (f) {
    case Family::ipv4:
        return "ipv4";
    case Family::ipv6:
        return "ipv6";
    case Family::both:
        break;
    }
    return "ipv4ipv6";
}

const char *source_name(Source s)
{
    switch (s) {
    case Source::dns:
        return "dns";
    case Source::hosts:
        return "hosts";
    case Source::literal:
        return "literal";
    case Source::none:
        break;
    }
    return "none";
}

const char *reason_words(omrt::Reason r)
{
    using omrt::Reason;
    switch (r) {
    case Reason::dns_nxdomain:
        return "NXDOMAIN";
    case Reason::dns_nodata:
        return "NODATA";
    case Reason::dns_servfail:
        return "SERVFAIL";
    case Reason::dns_refused:
        return "REFUSED";
    case Reason::dns_timeout:
        return "timeout";
    case Reason::dns_truncated:
        return "truncated reply";
    case Reason::dns_bad_reply:
        return "bad reply";
    case Reason::dns_no_servers:
        return "no name servers";
    case Reason::dns_bad_address:
        return "unusable address";
    case Reason::no_device:
        return "missing device";
    case Reason::net_unreachable:
        return "send failure";
    case Reason::config:
        return "invalid name";
    default:
        return omrt::reason_name(r);
    }
}

bool NameOptions::operator==(const NameOptions &o) const
{
    return ttl_floor_s == o.ttl_floor_s && ttl_ceiling_s == o.ttl_ceiling_s &&
           min_refresh_interval_s == o.min_refresh_interval_s && retry_max_s == o.retry_max_s &&
           retry_jitter_pct == o.retry_jitter_pct && serve_stale == o.serve_stale &&
           hosts_path == o.hosts_path;
}

int64_t NameStatus::ttl_left_s(omrt::MonoUs now) const
{
    if (!refreshed_us || expires_us <= now)
        return 0;
    return (expires_us - now + omrt::kUsPerS - 1) / omrt::kUsPerS;
}

// ---------------------------------------------------------------------------

struct NameTracker::Entry {
    Entry(NameTracker *t, NameId i)
        : tracker(t), id(i), qa(&NameTracker::on_query_done, this),
          qaaaa(&NameTracker::on_query_done, this)
    {}

    NameTracker *tracker;
    NameId id;
    unsigned refs = 1;
    QueryBackend *backend = nullptr;
    NameStatus st;
    bool is_literal = false;
    IpAddr literal;
    Query qa, qaaaa;
    bool want_a = false, want_aaaa = false;
    unsigned pending = 0;
    omrt::MonoUs due_us = kNever;
    omrt::MonoUs last_round_us = INT64_MIN / 2;
    bool again = false; // refresh asked while a round was running
    AddrList v4, v6;    // last good answer per family
    omrt::Reason logged = omrt::Reason::pending;
    core::LogLimiter fail_log{10 * 60 * omrt::kUsPerS};
};

NameTracker::NameTracker(core::Loop &loop, const omrt::Clock &clock, NameListener &listener,
                         NameOptions opts)
    : loop_(loop), clock_(clock), listener_(listener), opts_(std::move(opts)),
      timer_(loop, core::member<NameTracker, &NameTracker::on_timer>, this),
      rng_(uint32_t(clock.mono_us()) | 1u)
{}

NameTracker::~NameTracker() = default;

NameTracker::Entry *NameTracker::find(NameId id) const
{
    for (const auto &e : entries_)
        if (e->id == id)
            return e.get();
    return nullptr;
}

std::vector<NameId> NameTracker::ids() const
{
    std::vector<NameId> out;
    for (const auto &e : entries_)
        out.push_back(e->id);
    return out;
}

const NameStatus *NameTracker::status(NameId id) const
{
    Entry *e = find(id);
    return e ? &e->st : nullptr;
}

NameId NameTracker::watch(std::string_view owner, std::string_view host, QueryBackend &backend,
                          Family family, std::string *err)
{
    IpAddr lit;
    bool is_literal = parse_ip(host, lit);
    std::string name;
    if (is_literal)
        name = lit.str();
    else if (!normalize_name(host, name, err))
        return 0;
    for (const auto &e : entries_)
        if (e->st.name == name && e->backend == &backend && e->st.family == family) {
            e->refs++;
            return e->id;
        }
    auto e = std::make_unique<Entry>(this, next_id_++);
    if (next_id_ == 0)
        next_id_ = 1;
    e->backend = &backend;
    e->is_literal = is_literal;
    e->literal = lit;
    e->st.owner.assign(owner.data(), owner.size());
    e->st.name = name;
    e->st.context = backend.label();
    e->st.family = family;
    e->st.message = "not resolved yet";
    e->due_us = clock_.mono_us(); // from the loop, never from here
    NameId id = e->id;
    entries_.push_back(std::move(e));
    arm_timer();
    return id;
}

void NameTracker::unwatch(NameId id)
{
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if ((*it)->id == id) {
            if (--(*it)->refs == 0)
                entries_.erase(it); // its Query objects cancel themselves
            break;
        }
    arm_timer();
}

void NameTracker::refresh_entry(Entry &e, omrt::MonoUs now, const char *why)
{
    if (e.is_literal)
        return;
    if (e.pending) {
        e.again = true; // the running round may use the old path: one more after it
        return;
    }
    omrt::MonoUs at = std::max(now, e.last_round_us + omrt::MonoUs(opts_.min_refresh_interval_s) *
                                                              omrt::kUsPerS);
    if (at < e.due_us)
        e.due_us = at;
    LOGD("%s: re-resolving %s on %s (%s)%s", e.st.owner.c_str(), e.st.name.c_str(),
         e.st.context.c_str(), why ? why : "asked", at > now ? ", rate-limited" : "");
}

void NameTracker::refresh(NameId id, const char *why)
{
    if (Entry *e = find(id))
        refresh_entry(*e, clock_.mono_us(), why);
    arm_timer();
}

void NameTracker::refresh_backend(const QueryBackend &backend, const char *why)
{
    omrt::MonoUs now = clock_.mono_us();
    for (const auto &e : entries_)
        if (e->backend == &backend)
            refresh_entry(*e, now, why);
    arm_timer();
}

void NameTracker::refresh_all(const char *why)
{
    omrt::MonoUs now = clock_.mono_us();
    for (const auto &e : entries_)
        refresh_entry(*e, now, why);
    arm_timer();
}

void NameTracker::set_options(NameOptions opts)
{
    if (opts.hosts_path != opts_.hosts_path) {
        hosts_checked_ = false;
        hosts_mtime_ns_ = -1;
    }
    opts_ = std::move(opts);
}

omrt::MonoUs NameTracker::next_due_us() const
{
    omrt::MonoUs next = kNever;
    for (const auto &e : entries_)
        if (!e->pending && e->due_us < next)
            next = e->due_us;
    return next;
}

void NameTracker::arm_timer()
{
    omrt::MonoUs next = next_due_us();
    if (next == kNever) {
        timer_.stop();
        return;
    }
    omrt::MonoUs now = clock_.mono_us();
    timer_.start(next > now ? double(next - now) / omrt::kUsPerS : 0.0);
}

void NameTracker::on_timer()
{
    poll();
}

void NameTracker::poll()
{
    omrt::MonoUs now = clock_.mono_us();
    std::vector<NameId> due;
    for (const auto &e : entries_)
        if (!e->pending && e->due_us <= now)
            due.push_back(e->id);
    // A round may notify the listener, which may unwatch names: look each one up again.
    for (NameId id : due) {
        Entry *e = find(id);
        if (e && !e->pending && e->due_us <= now)
            start_round(*e, now);
    }
    arm_timer();
}

void NameTracker::refresh_hosts(omrt::MonoUs now)
{
    if (opts_.hosts_path.empty()) {
        hosts_.parse("");
        return;
    }
    if (hosts_checked_ && now - hosts_checked_us_ < omrt::kUsPerS)
        return;
    hosts_checked_ = true;
    hosts_checked_us_ = now;
    struct stat st;
    if (stat(opts_.hosts_path.c_str(), &st) != 0) {
        hosts_.parse("");
        hosts_mtime_ns_ = -1;
        return;
    }
    int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (mtime == hosts_mtime_ns_ && uint64_t(st.st_size) == hosts_size_ &&
        uint64_t(st.st_ino) == hosts_ino_)
        return;
    hosts_mtime_ns_ = mtime;
    hosts_size_ = uint64_t(st.st_size);
    hosts_ino_ = uint64_t(st.st_ino);
    std::string err;
    if (!hosts_.load(opts_.hosts_path, &err)) {
        hosts_.parse("");
        LOGW("dns: %s", err.c_str());
    }
}

void NameTracker::start_round(Entry &e, omrt::MonoUs now)
{
    e.last_round_us = now;
    e.due_us = kNever;
    e.again = false;
    e.st.next_query_us = 0;
    if (e.is_literal)
        return finish_local(e, Source::literal, AddrList{e.literal}, now);
    bool v4 = e.st.family != Family::ipv6, v6 = e.st.family != Family::ipv4;
    refresh_hosts(now);
    AddrList local;
    if (hosts_.lookup(e.st.name, v4, v6, local) > 0)
        return finish_local(e, Source::hosts, std::move(local), now);

    e.want_a = v4;
    e.want_aaaa = v6;
    e.pending = unsigned(v4) + unsigned(v6);
    e.st.resolving = true;
    // QueryBackend::start() never calls back from inside, so both are started before
    // either can finish.
    if (v4) {
        e.st.queries_a++;
        e.backend->start(e.qa, e.st.name, QType::A);
    }
    if (v6) {
        e.st.queries_aaaa++;
        e.backend->start(e.qaaaa, e.st.name, QType::AAAA);
    }
}

void NameTracker::on_query_done(void *ctx, Query &) noexcept
{
    auto *e = static_cast<Entry *>(ctx);
    if (e->pending && --e->pending == 0)
        e->tracker->finish_round(*e); // may destroy *e
}

void NameTracker::finish_local(Entry &e, Source src, AddrList addrs, omrt::MonoUs now)
{
    NameStatus &st = e.st;
    st.source = src;
    st.server = src == Source::hosts ? opts_.hosts_path : std::string();
    st.canonical.clear();
    st.rtt_us = -1;
    st.record_ttl_s = 0;
    st.ttl_s = 0;
    st.refreshed_us = now;
    st.expires_us = now;
    st.stale = false;
    st.failures = 0;
    st.reason = omrt::Reason::ok;
    if (src == Source::literal) {
        st.message = "literal address";
    } else {
        st.message = "from ";
        st.message += opts_.hosts_path;
    }
    e.v4.clear();
    e.v6.clear();
    for (const IpAddr &a : addrs)
        (a.is_v4() ? e.v4 : e.v6).push_back(a);
    // Literal: never again. Hosts: look again every floor seconds (a stat() per second
    // at most), so an edit of the file or its removal of the name is followed.
    if (src == Source::hosts) {
        e.due_us = now + omrt::MonoUs(opts_.ttl_floor_s) * omrt::kUsPerS;
        st.next_query_us = e.due_us;
    }
    publish(e, std::move(addrs), now);
}

unsigned NameTracker::backoff_s(unsigned failures)
{
    unsigned shift = failures > 0 ? std::min(failures - 1, 16u) : 0;
    uint64_t s = uint64_t(std::max(opts_.ttl_floor_s, 1u)) << shift;
    s = std::min<uint64_t>(s, std::max(opts_.retry_max_s, 1u));
    if (opts_.retry_jitter_pct) {
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 17;
        rng_ ^= rng_ << 5;
        s += s * (rng_ % (opts_.retry_jitter_pct + 1)) / 100;
    }
    return unsigned(s);
}

namespace {

enum class Outcome : uint8_t { Ok, Empty, Nx, Fail };

struct Part {
    bool wanted = false;
    Outcome outcome = Outcome::Fail;
    omrt::Reason reason = omrt::Reason::ok;
    std::string message;
    const QueryResult *r = nullptr;
};

Part judge(const Query &q, bool wanted)
{
    Part p;
    p.wanted = wanted;
    if (!wanted)
        return p;
    const QueryResult &r = q.result();
    p.r = &r;
    p.reason = r.reason;
    p.message = r.message;
    switch (r.reason) {
    case omrt::Reason::ok:
        p.outcome = Outcome::Ok;
        if (r.addrs.empty()) {
            p.outcome = Outcome::Empty;
            p.reason = omrt::Reason::dns_nodata;
        }
        for (const IpAddr &a : r.addrs)
            if (const char *why = unusable_reason(a)) {
                p.outcome = Outcome::Fail;
                p.reason = omrt::Reason::dns_bad_address;
                p.message =
                        core::strprintf("%s answer %s from %s rejected: %s", qtype_name(q.type()),
                                        a.str().c_str(), r.server.c_str(), why);
                break;
            }
        break;
    case omrt::Reason::dns_nodata:
        p.outcome = Outcome::Empty;
        break;
    case omrt::Reason::dns_nxdomain:
        p.outcome = Outcome::Nx;
        break;
    default:
        p.outcome = Outcome::Fail;
        break;
    }
    return p;
}

} // namespace

void NameTracker::finish_round(Entry &e)
{
    omrt::MonoUs now = clock_.mono_us();
    NameStatus &st = e.st;
    st.resolving = false;
    st.source = Source::dns;
    Part a = judge(e.qa, e.want_a), aaaa = judge(e.qaaaa, e.want_aaaa);
    const Part *parts[2] = {&a, &aaaa};
    const Part *ok = a.outcome == Outcome::Ok && a.wanted         ? &a
                     : aaaa.outcome == Outcome::Ok && aaaa.wanted ? &aaaa
                                                                  : nullptr;
    // The failure to report: an unusable address first (a hijack is the news), then a
    // temporary failure, then NXDOMAIN, then NODATA; A before AAAA on a tie.
    auto rank = [](const Part &p) {
        if (!p.wanted)
            return 0;
        switch (p.outcome) {
        case Outcome::Fail:
            return p.reason == omrt::Reason::dns_bad_address ? 4 : 3;
        case Outcome::Nx:
            return 2;
        case Outcome::Empty:
            return 1;
        case Outcome::Ok:
            break;
        }
        return 0;
    };
    const Part *bad = nullptr;
    for (const Part *p : parts)
        if (rank(*p) > (bad ? rank(*bad) : 0))
            bad = p;

    AddrList addrs;
    if (ok) {
        // An answer for at least one family: use it; a family that got NODATA/NXDOMAIN
        // has no addresses; one that failed keeps its last good addresses.
        auto pick = [](const Part &p, AddrList &last) {
            if (!p.wanted)
                last.clear();
            else if (p.outcome == Outcome::Ok)
                last = p.r->addrs;
            else if (p.outcome != Outcome::Fail)
                last.clear();
        };
        pick(a, e.v4);
        pick(aaaa, e.v6);
        uint32_t ttl = UINT32_MAX;
        for (const Part *p : parts)
            if (p->wanted && p->outcome == Outcome::Ok)
                ttl = std::min(ttl, p->r->ttl_s);
        st.record_ttl_s = ttl;
        // A floor of 0 (misconfigured) would turn a TTL-0 answer into a busy loop.
        st.ttl_s = std::max({std::min(ttl, opts_.ttl_ceiling_s), opts_.ttl_floor_s, 1u});
        st.refreshed_us = now;
        st.expires_us = now + omrt::MonoUs(st.ttl_s) * omrt::kUsPerS;
        st.server = ok->r->server;
        st.rtt_us = ok->r->rtt_us;
        st.canonical = ok->r->canonical;
        st.failures = 0;
        bool partial = bad && bad->outcome == Outcome::Fail;
        // Stale only if the failed family still shows addresses from an earlier answer.
        st.stale = partial && !(bad == &a ? e.v4 : e.v6).empty();
        st.reason = partial ? bad->reason : omrt::Reason::ok;
        if (partial)
            st.message = bad->message;
        else
            st.message.clear();
        e.due_us = st.expires_us;
    } else {
        const Part *why = bad ? bad : &a;
        st.failures++;
        st.reason = why->reason == omrt::Reason::ok ? omrt::Reason::internal : why->reason;
        st.message = why->message;
        if (why->r) {
            st.server = why->r->server;
            st.rtt_us = why->r->rtt_us;
        }
        if (!opts_.serve_stale) {
            e.v4.clear();
            e.v6.clear();
        }
        st.stale = !e.v4.empty() || !e.v6.empty();
        e.due_us = now + omrt::MonoUs(backoff_s(st.failures)) * omrt::kUsPerS;
    }
    if (st.reason != omrt::Reason::ok) {
        st.last_error = st.reason;
        st.last_error_message = st.message;
        st.last_error_us = now;
    }
    if (e.again) {
        // Asked again while this round ran (e.g. the WAN changed): once more, rate-limited.
        e.again = false;
        e.due_us = std::min(
                e.due_us,
                std::max(now, e.last_round_us +
                                      omrt::MonoUs(opts_.min_refresh_interval_s) * omrt::kUsPerS));
    }
    st.next_query_us = e.due_us;
    addrs = e.v4;
    addrs.insert(addrs.end(), e.v6.begin(), e.v6.end());
    publish(e, std::move(addrs), now); // may destroy e
}

void NameTracker::publish(Entry &e, AddrList addrs, omrt::MonoUs)
{
    NameStatus &st = e.st;
    AddrList old = std::move(st.addrs);
    st.addrs = std::move(addrs);
    bool changed = as_set(old) != as_set(st.addrs);
    if (changed)
        st.changes++;
    log_outcome(e, old, changed);
    arm_timer();
    NameId id = e.id;
    NameListener &l = listener_;
    if (changed)
        l.on_name_changed(id, st, old);
    // The listener may have unwatched the name (or others): look it up again.
    if (Entry *again = find(id))
        l.on_name_refreshed(id, again->st);
}

void NameTracker::log_outcome(Entry &e, const AddrList &old, bool changed)
{
    const NameStatus &st = e.st;
    const char *owner = st.owner.c_str(), *name = st.name.c_str(), *ctx = st.context.c_str();
    std::string via = st.server.empty() ? std::string("no server") : st.server;
    if (st.reason != omrt::Reason::ok) {
        omrt::MonoUs now = clock_.mono_us();
        if (st.reason != e.logged || e.fail_log.allow(now)) {
            std::string keep;
            if (st.stale)
                keep = join(st.addrs);
            LOGW("%s: DNS %s for %s via %s on %s: %s%s%s%s", owner, reason_words(st.reason), name,
                 via.c_str(), ctx, st.message.c_str(), st.stale ? "; keeping " : "", keep.c_str(),
                 st.stale ? " (stale)" : "");
        }
    } else if (e.logged != omrt::Reason::ok && e.logged != omrt::Reason::pending) {
        LOGN("%s: DNS for %s works again via %s on %s", owner, name, via.c_str(), ctx);
    }
    e.logged = st.reason;
    if (!changed)
        return;
    std::string src = st.source == Source::dns ? core::strprintf("via %s on %s", via.c_str(), ctx)
                                               : std::string(source_name(st.source));
    if (old.empty() && st.source == Source::dns)
        LOGI("%s: %s resolved to %s (%s, ttl %us)", owner, name, join(st.addrs).c_str(),
             src.c_str(), unsigned(st.ttl_s));
    else if (old.empty())
        LOGI("%s: %s is %s (%s)", owner, name, join(st.addrs).c_str(), src.c_str());
    else if (st.addrs.empty())
        LOGW("%s: %s has no usable address any more (was %s)", owner, name, join(old).c_str());
    else
        LOGN("%s: addresses changed %s \u2192 %s (%s)", name, join(old).c_str(),
             join(st.addrs).c_str(), src.c_str());
}

void NameTracker::write_json(core::JsonWriter &w, NameId id) const
{
    const Entry *e = find(id);
    if (!e) {
        w.null();
        return;
    }
    const NameStatus &st = e->st;
    omrt::MonoUs now = clock_.mono_us();
    auto wall_s = [&](omrt::MonoUs t) { return (long long)(clock_.wall_of(t) / omrt::kUsPerS); };
    w.begin_object();
    w.kv("name", st.name);
    w.kv("context", st.context);
    w.kv("family", family_name(st.family));
    w.kv("source", source_name(st.source));
    w.key("addresses");
    w.begin_array();
    for (const IpAddr &a : st.addrs)
        w.value(a.str());
    w.end_array();
    w.kv("server", st.server);
    if (!st.canonical.empty())
        w.kv("canonical", st.canonical);
    w.kv("ttl", unsigned(st.ttl_s));
    w.kv("record_ttl", unsigned(st.record_ttl_s));
    w.kv("ttl_left", (long long)st.ttl_left_s(now));
    w.key("rtt_ms");
    if (st.rtt_us >= 0)
        w.value(double(st.rtt_us) / 1000.0, 1);
    else
        w.null();
    w.key("refreshed");
    if (st.refreshed_us)
        w.value(wall_s(st.refreshed_us));
    else
        w.null();
    w.kv("stale", st.stale);
    w.kv("resolving", st.resolving);
    w.kv("reason", omrt::reason_name(st.reason));
    w.kv("message", st.message);
    if (st.last_error_us) {
        w.kv("last_error", omrt::reason_name(st.last_error));
        w.kv("last_error_message", st.last_error_message);
        w.kv("last_error_at", wall_s(st.last_error_us));
    }
    w.kv("failures", st.failures);
    w.kv("queries_a", (unsigned long long)st.queries_a);
    w.kv("queries_aaaa", (unsigned long long)st.queries_aaaa);
    w.kv("changes", (unsigned long long)st.changes);
    w.end_object();
}

} // namespace dns
