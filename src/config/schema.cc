#include "config/schema.h"

#include "core/str.h"

#include <arpa/inet.h>
#include <cstring>

namespace cfg {

const char *const kProbeTypeNames[] = {"none", "ping", "httping", "dns", "glorytun-udp", nullptr};
const char *const kFamilyNames[] = {"ipv4", "ipv6", "ipv4ipv6", nullptr};
const char *const kServerCheckNames[] = {"api", "ping", "apiping", "none", nullptr};
const char *const kLogLevelNames[] = {"debug", "info", "notice", "warning", "err", nullptr};

namespace {

using T = TrackerOptions;
using S = ServerTrackerOptions;
using D = DaemonOptions;

constexpr uint8_t K_IFLIKE = K_TRACKER | K_PROXY | K_GRE;
constexpr const char *kSec = "seconds";

// Legend of the reference (§2): F = shipped /etc/config/omr-tracker, C = fallback in the
// shell code when unset, UI = LuCI default. Rule for `def`: C where the shell has one,
// else F; every exception is explained on its row. Ranges are what makes sense on a
// router; the shell only checked "uinteger".
// clang-format off
const OptionSpec kTable[] = {
    // --- defaults / interface (§2.1); the same rows validate proxy/gre where listed ---
    {"enabled", K_IFLIKE, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "1",
     &T::enabled},
    // Lists: the shell's fallback is "empty" (config_get returns nothing) and an empty
    // hosts list means "not tracked" (§1.2), so F's thirteen hosts are not copied here;
    // they come from the defaults section as OMR ships it.
    {"hosts", K_TRACKER | K_PROXY, VType::hosts4, Use::live, 0, 0, 0, nullptr, nullptr,
     nullptr, &T::hosts},
    {"hosts6", K_TRACKER | K_PROXY, VType::hosts6, Use::live, 0, 0, 0, nullptr, nullptr,
     nullptr, &T::hosts6},
    {"type", K_TRACKER, VType::enumeration, Use::live, 0, 0, 0, nullptr, kProbeTypeNames,
     "ping", &T::type},
    {"family", K_TRACKER | K_PROXY, VType::enumeration, Use::live, 0, 0, 0, nullptr,
     kFamilyNames, "ipv4", &T::family},
    // No C value (the shell ran `ping -w ""`): F's 2 s.
    {"timeout", K_IFLIKE, VType::uint, Use::live, 0, 1, 3600, kSec, nullptr, "2",
     &T::timeout_s},
    {"count", K_TRACKER, VType::uint, Use::live, 0, 1, 100, nullptr, nullptr, "2",
     &T::count},
    // 65507 = 65535 - 20 (IPv4 header) - 8 (ICMP header).
    {"size", K_TRACKER, VType::uint, Use::live, 0, 0, 65507, "bytes", nullptr, "56",
     &T::size},
    {"max_ttl", K_TRACKER, VType::uint, Use::live, 0, 1, 255, "hops", nullptr, "60",
     &T::max_ttl},
    // C 5, although F ships 3: an interface section of a config without `tries` in
    // defaults gets what the shell gave it.
    {"tries", K_IFLIKE, VType::uint, Use::live, 0, 1, 100, nullptr, nullptr, "5", &T::tries},
    // Derived: unset means = tries (C), resolved after the merge.
    {"tries_up", K_TRACKER, VType::uint, Use::live, 0, 1, 100, nullptr, nullptr, nullptr,
     &T::tries_up},
    {"interval", K_IFLIKE, VType::uint, Use::live, 0, 1, 86400, kSec, nullptr, "2",
     &T::interval_s},
    {"interval_tries", K_IFLIKE, VType::uint, Use::live, 0, 0, 3600, kSec, nullptr, "1",
     &T::interval_tries_s},
    // Derived: unset (or 0) means = interval, resolved after the merge. The shell slept
    // `interval` after an ERROR cycle when unset; an explicit 0 made it retry at once,
    // which a daemon would turn into hammering a dead link, so 0 also means interval.
    {"failure_interval", K_TRACKER, VType::uint, Use::live, 0, 0, 86400, kSec, nullptr,
     nullptr, &T::failure_interval_s},
    {"wait_test", K_IFLIKE, VType::uint, Use::live, 0, 0, 3600, kSec, nullptr, "0",
     &T::wait_test_s},
    // check_quality and its thresholds are shown for `server` by LuCI but dead there.
    {"check_quality", K_TRACKER | K_SERVER, VType::boolean, Use::live, 0, 0, 0, nullptr,
     nullptr, "0", &T::check_quality},
    // Thresholds have only a UI default (the shell compared against empty strings).
    {"failure_loss", K_TRACKER | K_SERVER, VType::uint, Use::live, 0, 0, 100, "percent",
     nullptr, "40", &T::failure_loss_pct},
    {"failure_latency", K_TRACKER | K_SERVER, VType::uint, Use::live, 0, 1, 600000, "ms",
     nullptr, "1000", &T::failure_latency_ms},
    {"recovery_loss", K_TRACKER | K_SERVER, VType::uint, Use::live, 0, 0, 100, "percent",
     nullptr, "10", &T::recovery_loss_pct},
    {"recovery_latency", K_TRACKER | K_SERVER, VType::uint, Use::live, 0, 1, 600000, "ms",
     nullptr, "500", &T::recovery_latency_ms},
    {"server_test", K_TRACKER, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "0",
     &T::server_test},
    {"server_http_test", K_TRACKER, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "0",
     &T::server_http_test},
    // Accepted, never used by the shell tracker (Appendix A.9).
    {"reliability", K_TRACKER, VType::uint, Use::unused, 0, 0, 100, nullptr, nullptr, "1",
     &T::reliability},
    // Free text: the shell never validated it, so a value we do not know must not turn a
    // working config into an invalid one.
    {"initial_state", K_TRACKER | K_PROXY | K_SERVER, VType::string, Use::unused, 0, 0, 0,
     nullptr, nullptr, "online", &T::initial_state},
    {"keep_failure_interval", K_TRACKER, VType::boolean, Use::unused, 0, 0, 0, nullptr,
     nullptr, "0", &T::keep_failure_interval},
    {"options", K_TRACKER, VType::string, Use::unused, 0, 0, 0, nullptr, nullptr, nullptr,
     &T::options},
    // For the hooks (002-error, 003-up): interface value, else defaults.
    {"restart_down", K_TRACKER, VType::boolean, Use::hooks, 0, 0, 0, nullptr, nullptr, "0",
     &T::restart_down},
    {"mail_alert", K_TRACKER | K_PROXY, VType::boolean, Use::hooks, 0, 0, 0, nullptr, nullptr,
     "0", &T::mail_alert},
    // The hooks read these from the interface section only, so `defaults` does not
    // provide them (a defaults value gets the "not used here" warning).
    {"script_alert_up", K_INTERFACE | K_PROXY, VType::string, Use::hooks, 0, 0, 0, nullptr,
     nullptr, nullptr, &T::script_alert_up},
    {"script_alert_down", K_INTERFACE | K_PROXY, VType::string, Use::hooks, 0, 0, 0, nullptr,
     nullptr, nullptr, &T::script_alert_down},
    // Mail templates: defaults section only, read by hooks and the other trackers.
    {"mail_up_subject", K_DEFAULTS, VType::string, Use::hooks, 0, 0, 0, nullptr, nullptr,
     nullptr, {}},
    {"mail_up_message", K_DEFAULTS, VType::string, Use::hooks, 0, 0, 0, nullptr, nullptr,
     nullptr, {}},
    {"mail_down_subject", K_DEFAULTS, VType::string, Use::hooks, 0, 0, 0, nullptr, nullptr,
     nullptr, {}},
    {"mail_down_message", K_DEFAULTS, VType::string, Use::hooks, 0, 0, 0, nullptr, nullptr,
     nullptr, {}},
    // omr-trackerd's extensions: new option names the shell tracker and LuCI ignore; the
    // defaults keep the shell's behaviour.
    {"window", K_TRACKER, VType::uint, Use::live, 0, 1, 1000, nullptr, nullptr, "20",
     &T::window},
    {"up_hysteresis", K_TRACKER, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "0",
     &T::up_hysteresis},
    {"flap_damping", K_TRACKER, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "0",
     &T::flap_damping},
    {"flap_half_life", K_TRACKER, VType::uint, Use::live, 0, 1, 3600, kSec, nullptr, "60",
     &T::flap_half_life_s},
    {"adaptive_timeout", K_TRACKER, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "0",
     &T::adaptive_timeout},
    {"min_timeout", K_TRACKER, VType::uint, Use::live, 0, 10, 60000, "ms", nullptr, "500",
     &T::min_timeout_ms},
    {"dns_query_name", K_TRACKER, VType::string, Use::live, 0, 0, 0, nullptr, nullptr,
     "one.one.one.one", &T::dns_query_name},
    {"hooks_on_change_only", K_TRACKER, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr,
     "0", &T::hooks_on_change_only},
    // Written by newer OMR wizards (issue #4093), read by nothing in the snapshot.
    {"country", K_DEFAULTS | K_PROXY, VType::string, Use::unused, 0, 0, 0, nullptr, nullptr,
     nullptr, {}},

    // --- server tracker (§2.3): `defaults` merged under `server`; C values of the script
    {"enabled", K_SERVER, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "1",
     &S::enabled},
    // No C value: F's apiping. A `type` inherited from defaults is taken only if it is a
    // server check name (ping, none); the interface probe types are skipped.
    {"type", K_SERVER, VType::enumeration, Use::live, 0, 0, 0, nullptr, kServerCheckNames,
     "apiping", &S::type},
    {"tries", K_SERVER, VType::uint, Use::live, 0, 1, 100, nullptr, nullptr, "4", &S::tries},
    {"timeout", K_SERVER, VType::uint, Use::live, 0, 1, 3600, kSec, nullptr, "5",
     &S::timeout_s},
    {"interval", K_SERVER, VType::uint, Use::live, 0, 1, 86400, kSec, nullptr, "10",
     &S::interval_s},
    {"interval_tries", K_SERVER, VType::uint, Use::live, 0, 0, 3600, kSec, nullptr, "2",
     &S::interval_tries_s},
    {"wait_test", K_SERVER, VType::uint, Use::live, 0, 0, 3600, kSec, nullptr, "0",
     &S::wait_test_s},
    // Read as omr-tracker.server.mail_alert directly: no merge with defaults.
    {"mail_alert", K_SERVER, VType::boolean, Use::hooks, F_NO_MERGE, 0, 0, nullptr, nullptr,
     "0", &S::mail_alert},

    // --- omr-trackerd's own section (`config daemon 'daemon'`) ---
    {"socket_path", K_DAEMON, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
     "/var/run/omr-trackerd.sock", &D::socket_path},
    {"status_file", K_DAEMON, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
     "/var/run/omr-trackerd.json", &D::status_file},
    {"log_level", K_DAEMON, VType::enumeration, Use::live, 0, 0, 0, nullptr, kLogLevelNames,
     "info", &D::log_level},
    {"hooks_dir", K_DAEMON, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
     "/usr/share/omr/post-tracking.d", &D::hooks_dir},
    {"server_hooks_dir", K_DAEMON, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
     "/usr/share/omr/server-post-tracking.d", &D::server_hooks_dir},
    {"pin_file", K_DAEMON, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
     "/etc/omr-trackerd.pins", &D::pin_file},
    {"dns_resolv_conf", K_DAEMON, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
     "/etc/resolv.conf", &D::dns_resolv_conf},
    {"dns_resolv_auto", K_DAEMON, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
     "/tmp/resolv.conf.d/resolv.conf.auto", &D::dns_resolv_auto},
    {"dns_hosts_file", K_DAEMON, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
     "/etc/hosts", &D::dns_hosts_file},
    {"dns_per_wan", K_DAEMON, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "0",
     &D::dns_per_wan},
    // Floor 5 s: a TTL of 0-1 s must not become a query per check; ceiling 1 h: a day-long
    // TTL must not hide a VPS move for a day (forced refreshes cover it sooner).
    {"dns_ttl_floor", K_DAEMON, VType::uint, Use::live, 0, 1, 3600, kSec, nullptr, "5",
     &D::dns_ttl_floor_s},
    {"dns_ttl_ceiling", K_DAEMON, VType::uint, Use::live, 0, 1, 604800, kSec, nullptr, "3600",
     &D::dns_ttl_ceiling_s},
    {"dns_serve_stale", K_DAEMON, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "1",
     &D::dns_serve_stale},
    {"dns_timeout", K_DAEMON, VType::uint, Use::live, 0, 1, 30, kSec, nullptr, "2",
     &D::dns_timeout_s},
    {"user", K_DAEMON, VType::string, Use::live, 0, 0, 0, nullptr, nullptr, nullptr, &D::user},
    {"hook_timeout", K_DAEMON, VType::uint, Use::live, 0, 1, 3600, kSec, nullptr, "300",
     &D::hook_timeout_s},
};
// clang-format on

constexpr size_t kRows = sizeof(kTable) / sizeof(kTable[0]);
static_assert(kRows <= kMaxSchemaRows, "grow kMaxSchemaRows");

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool valid_hostname(std::string_view s)
{
    if (!s.empty() && s.back() == '.')
        s.remove_suffix(1);
    if (s.empty() || s.size() > 253)
        return false;
    size_t b = 0;
    bool last_all_digits = false;
    while (b <= s.size()) {
        size_t e = s.find('.', b);
        if (e == std::string_view::npos)
            e = s.size();
        std::string_view label = s.substr(b, e - b);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        last_all_digits = true;
        for (char c : label) {
            bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (!alpha && !is_digit(c) && c != '-')
                return false;
            if (!is_digit(c))
                last_all_digits = false;
        }
        b = e + 1;
    }
    // RFC 3696 §2: a top-level label is never all-numeric; "1.2.3.256" is a bad address,
    // not a name.
    return !last_all_digits;
}

void report(const DiagSink &sink, int line, const OptionSpec &s, std::string_view value,
            std::string message)
{
    if (!sink.diags)
        return;
    Diag d;
    d.file = sink.file ? *sink.file : std::string();
    d.line = line;
    d.section = sink.section;
    d.option = s.name;
    d.value = std::string(value);
    d.message = std::move(message) + sink.suffix;
    d.warning = sink.warning;
    sink.diags->push_back(std::move(d));
}

Parse parse_hosts(const OptionSpec &s, const UciOption &o, const DiagSink &sink, Value &v)
{
    static constexpr size_t kMaxHosts = 256;
    bool bad = false;
    v.list.clear();
    for (size_t i = 0; i < o.values.size(); i++) {
        int line = i < o.lines.size() ? o.lines[i] : o.line;
        for (std::string &w : core::split_words(o.values[i])) {
            HostKind k = classify_host(w);
            bool wrong_family = (k == HostKind::ipv6 && s.type == VType::hosts4) ||
                                (k == HostKind::ipv4 && s.type == VType::hosts6);
            if (k == HostKind::invalid || wrong_family) {
                std::string pv = printable_value(w);
                report(sink, line, s, w,
                       k == HostKind::invalid
                               ? core::strprintf("invalid host '%s' (expected %s)", pv.c_str(),
                                                 describe_expected(s).c_str())
                       : k == HostKind::ipv6
                               ? core::strprintf("'%s' is an IPv6 address (hosts takes IPv4 "
                                                 "addresses and host names; IPv6 ones go in "
                                                 "hosts6)",
                                                 pv.c_str())
                               : core::strprintf("'%s' is an IPv4 address (hosts6 takes IPv6 "
                                                 "addresses and host names; IPv4 ones go in "
                                                 "hosts)",
                                                 pv.c_str()));
                bad = true;
                continue;
            }
            if (v.list.size() == kMaxHosts) {
                report(sink, line, s, w, core::strprintf("too many hosts (limit %zu)", kMaxHosts));
                return Parse::invalid;
            }
            v.list.push_back(std::move(w));
        }
    }
    if (bad)
        return Parse::invalid;
    return v.list.empty() ? Parse::empty : Parse::set;
}

} // namespace

const char *kind_name(uint8_t kind)
{
    switch (kind) {
    case K_DEFAULTS:
        return "defaults";
    case K_INTERFACE:
        return "interface";
    case K_SERVER:
        return "server";
    case K_PROXY:
        return "proxy";
    case K_GRE:
        return "gre";
    case K_DAEMON:
        return "daemon";
    }
    return "?";
}

const OptionSpec *schema_table(size_t &count)
{
    count = kRows;
    return kTable;
}

const OptionSpec *find_spec(std::string_view name, uint8_t kind)
{
    for (const OptionSpec &s : kTable)
        if ((s.kinds & kind) && name == s.name)
            return &s;
    return nullptr;
}

size_t spec_index(const OptionSpec &s)
{
    return size_t(&s - kTable);
}

bool name_in_schema(std::string_view name)
{
    for (const OptionSpec &s : kTable)
        if (name == s.name)
            return true;
    return false;
}

std::string describe_expected(const OptionSpec &s)
{
    switch (s.type) {
    case VType::uint:
        return core::strprintf("an integer %u..%u%s%s", s.min, s.max, s.unit ? ", in " : "",
                               s.unit ? s.unit : "");
    case VType::boolean:
        return "a boolean: 1/0, yes/no, on/off, true/false, enabled/disabled";
    case VType::enumeration: {
        std::string out = "one of: ";
        for (const char *const *n = s.names; *n; n++) {
            if (n != s.names)
                out += ", ";
            out += *n;
        }
        return out;
    }
    case VType::string:
        return "text";
    case VType::hosts4:
        return "IPv4 addresses or host names";
    case VType::hosts6:
        return "IPv6 addresses or host names";
    case VType::hosts_any:
        return "IP addresses or host names";
    case VType::path:
        return "an absolute path";
    }
    return "?";
}

Parse parse_value(const OptionSpec &s, const UciOption &o, const DiagSink &sink, Value &v)
{
    if (s.type == VType::hosts4 || s.type == VType::hosts6 || s.type == VType::hosts_any)
        return parse_hosts(s, o, sink, v);
    int line = o.lines.empty() ? o.line : o.lines.back();
    if (o.values.size() != 1) {
        if (o.values.empty())
            return Parse::empty;
        std::string all = o.joined();
        report(sink, line, s, all,
               core::strprintf("expected a single value, got a list of %zu values",
                               o.values.size()));
        return Parse::invalid;
    }
    const std::string &x = o.values[0];
    if (x.empty())
        return Parse::empty;
    bool ok = false;
    switch (s.type) {
    case VType::uint: {
        uint64_t n;
        ok = core::parse_u64(x, n) && n >= s.min && n <= s.max;
        if (ok)
            v.u = uint32_t(n);
        break;
    }
    case VType::boolean:
        ok = core::parse_uci_bool(x, v.b);
        break;
    case VType::enumeration:
        for (const char *const *n = s.names; *n; n++)
            if (x == *n) {
                v.e = uint8_t(n - s.names);
                v.s = x;
                ok = true;
                break;
            }
        break;
    case VType::string:
        v.s = x;
        ok = true;
        break;
    case VType::path:
        ok = x[0] == '/' && x.size() <= 255;
        for (char c : x)
            if (static_cast<unsigned char>(c) < 32 || c == 127)
                ok = false;
        if (ok)
            v.s = x;
        break;
    default:
        break;
    }
    if (!ok) {
        report(sink, line, s, x,
               core::strprintf("invalid value '%s' (expected %s)", printable_value(x).c_str(),
                               describe_expected(s).c_str()));
        return Parse::invalid;
    }
    return Parse::set;
}

Parse parse_text(const OptionSpec &s, std::string_view text, Value &v)
{
    UciOption o;
    o.name = s.name;
    o.values.emplace_back(text);
    o.lines.push_back(0);
    return parse_value(s, o, DiagSink(), v);
}

void store(const OptionSpec &s, const Value &v, const Target &t)
{
    const Bind &b = s.bind;
    switch (b.kind) {
    case Bind::none:
        break;
    case Bind::tr_uint:
        if (t.tr)
            t.tr->*b.p.tu = v.u;
        break;
    case Bind::tr_bool:
        if (t.tr)
            t.tr->*b.p.tb = v.b;
        break;
    case Bind::tr_str:
        if (t.tr)
            t.tr->*b.p.ts = v.s;
        break;
    case Bind::tr_list:
        if (t.tr)
            t.tr->*b.p.tl = v.list;
        break;
    case Bind::tr_probe:
        if (t.tr)
            t.tr->*b.p.tp = static_cast<ProbeType>(v.e);
        break;
    case Bind::tr_family:
        if (t.tr)
            t.tr->*b.p.tf = static_cast<Family>(v.e);
        break;
    case Bind::srv_uint:
        if (t.srv)
            t.srv->*b.p.su = v.u;
        break;
    case Bind::srv_bool:
        if (t.srv)
            t.srv->*b.p.sb = v.b;
        break;
    case Bind::srv_check:
        if (t.srv)
            t.srv->*b.p.sc = static_cast<ServerCheck>(v.e);
        break;
    case Bind::dm_str:
        if (t.dm)
            t.dm->*b.p.ds = v.s;
        break;
    case Bind::dm_uint:
        if (t.dm)
            t.dm->*b.p.du = v.u;
        break;
    case Bind::dm_bool:
        if (t.dm)
            t.dm->*b.p.db = v.b;
        break;
    }
}

bool current_values(const OptionSpec &s, const Target &t, std::vector<std::string> &out)
{
    out.clear();
    const Bind &b = s.bind;
    auto num = [&](unsigned n) { out.push_back(core::strprintf("%u", n)); };
    auto flag = [&](bool f) { out.push_back(f ? "1" : "0"); };
    switch (b.kind) {
    case Bind::none:
        return false;
    case Bind::tr_uint:
        if (!t.tr)
            return false;
        num(t.tr->*b.p.tu);
        return true;
    case Bind::tr_bool:
        if (!t.tr)
            return false;
        flag(t.tr->*b.p.tb);
        return true;
    case Bind::tr_str:
        if (!t.tr)
            return false;
        out.push_back(t.tr->*b.p.ts);
        return true;
    case Bind::tr_list:
        if (!t.tr)
            return false;
        out = t.tr->*b.p.tl;
        return true;
    case Bind::tr_probe:
        if (!t.tr)
            return false;
        out.push_back(probe_type_name(t.tr->*b.p.tp));
        return true;
    case Bind::tr_family:
        if (!t.tr)
            return false;
        out.push_back(family_name(t.tr->*b.p.tf));
        return true;
    case Bind::srv_uint:
        if (!t.srv)
            return false;
        num(t.srv->*b.p.su);
        return true;
    case Bind::srv_bool:
        if (!t.srv)
            return false;
        flag(t.srv->*b.p.sb);
        return true;
    case Bind::srv_check:
        if (!t.srv)
            return false;
        out.push_back(server_check_name(t.srv->*b.p.sc));
        return true;
    case Bind::dm_str:
        if (!t.dm)
            return false;
        out.push_back(t.dm->*b.p.ds);
        return true;
    case Bind::dm_uint:
        if (!t.dm)
            return false;
        num(t.dm->*b.p.du);
        return true;
    case Bind::dm_bool:
        if (!t.dm)
            return false;
        flag(t.dm->*b.p.db);
        return true;
    }
    return false;
}

void apply_table_defaults(uint8_t kind, const Target &t)
{
    for (const OptionSpec &s : kTable) {
        if (!(s.kinds & kind) || !s.def)
            continue;
        Value v;
        if (parse_text(s, s.def, v) == Parse::set)
            store(s, v, t);
    }
}

HostKind classify_host(std::string_view s)
{
    if (s.empty() || s.size() > 253)
        return HostKind::invalid;
    char buf[256];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    unsigned char addr[16];
    if (s.find(':') != std::string_view::npos)
        return inet_pton(AF_INET6, buf, addr) == 1 ? HostKind::ipv6 : HostKind::invalid;
    if (inet_pton(AF_INET, buf, addr) == 1)
        return HostKind::ipv4;
    return valid_hostname(s) ? HostKind::name : HostKind::invalid;
}

} // namespace cfg
