#include "ctl/metrics.h"

#include "core/json.h"
#include "core/str.h"

#include <cmath>
#include <string>
#include <vector>

namespace ctl {

namespace {

struct Label {
    const char *name;
    std::string value;
};

// One metric family: HELP and TYPE, then its samples, written only if it has any.
class Family {
public:
    Family(const char *name, const char *type, const char *help)
        : name_(name), type_(type), help_(help)
    {}

    void add(const std::vector<Label> &labels, double v)
    {
        if (!std::isfinite(v))
            return; // a number we cannot trust (or an overflowed one) is left out
        samples_ += name_;
        if (!labels.empty()) {
            samples_ += '{';
            for (size_t i = 0; i < labels.size(); i++) {
                if (i)
                    samples_ += ',';
                samples_ += labels[i].name;
                samples_ += "=\"";
                samples_ += prom_escape_label(labels[i].value);
                samples_ += '"';
            }
            samples_ += '}';
        }
        samples_ += ' ';
        samples_ += format_value(v);
        samples_ += '\n';
    }

    void write(std::string &out) const
    {
        if (samples_.empty())
            return;
        out += "# HELP ";
        out += name_;
        out += ' ';
        out += help_; // constant text: no backslash, no line feed
        out += "\n# TYPE ";
        out += name_;
        out += ' ';
        out += type_;
        out += '\n';
        out += samples_;
    }

private:
    static std::string format_value(double v)
    {
        if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) // 2^53: exact
            return core::strprintf("%.0f", v);
        return core::strprintf("%.15g", v);
    }

    const char *name_;
    const char *type_;
    const char *help_;
    std::string samples_;
};

const core::JsonValue *member(const core::JsonValue &o, const char *k)
{
    return o.is_object() ? o.get(k) : nullptr;
}

bool number(const core::JsonValue &o, const char *k, double &out)
{
    const core::JsonValue *v = member(o, k);
    if (!v || !v->is_number() || !std::isfinite(v->as_number()))
        return false;
    out = v->as_number();
    return true;
}

// A counter or size: a number that must not be negative.
bool count(const core::JsonValue &o, const char *k, double &out)
{
    return number(o, k, out) && out >= 0;
}

std::string text(const core::JsonValue &o, const char *k)
{
    const core::JsonValue *v = member(o, k);
    return v && v->is_string() ? v->as_string() : std::string();
}

bool flag(const core::JsonValue &o, const char *k)
{
    const core::JsonValue *v = member(o, k);
    return v && v->is_bool() && v->as_bool();
}

// False for a repeated key (a document we did not write could have one): one series per
// name.
bool first_of_name(const core::JsonValue &g, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (g.key_at(k) == g.key_at(i))
            return false;
    return true;
}

// Only the first lane of a name counts (one series per server and interface).
bool first_wan(const core::JsonValue &wans, size_t i)
{
    std::string n = text(wans.at(i), "wan");
    for (size_t k = 0; k < i; k++)
        if (wans.at(k).is_object() && text(wans.at(k), "wan") == n)
            return false;
    return true;
}

// servers.X.dns as omr-trackerd writes it: [{entry, resolvers: [{queries_a, queries_aaaa,
// failures, changes, ...}, ...]}, ...], one resolver entry per DNS context of the name.
struct DnsSums {
    bool any = false;
    double queries = 0, changes = 0; // counters, summed
    double failing = 0;              // consecutive failed refreshes: a gauge, the worst one
};

DnsSums dns_sums(const core::JsonValue &dns)
{
    DnsSums t;
    for (size_t i = 0; i < dns.size(); i++) {
        const core::JsonValue *r = member(dns.at(i), "resolvers");
        for (size_t k = 0; r && r->is_array() && k < r->size(); k++) {
            const core::JsonValue &x = r->at(k);
            double a = 0, b = 0, f = 0, c = 0;
            if (!x.is_object() || !count(x, "queries_a", a) || !count(x, "queries_aaaa", b))
                continue;
            t.any = true;
            t.queries += a + b;
            if (count(x, "failures", f) && f > t.failing)
                t.failing = f;
            if (count(x, "changes", c))
                t.changes += c;
        }
    }
    return t;
}

const char *const kStates[] = {"OK", "ERROR", "UNKNOWN"};

// The state as one of kStates: anything else reads as UNKNOWN.
const char *state_of(const core::JsonValue &o)
{
    std::string s = text(o, "status");
    for (const char *k : kStates)
        if (s == k)
            return k;
    return "UNKNOWN";
}

struct EntryFamilies {
    Family up, state, info, transitions, since;
    EntryFamilies(const char *up_name, const char *state_name, const char *info_name,
                  const char *tr_name, const char *since_name, const char *what)
        : up(up_name, "gauge", what), state(state_name, "gauge", "1 for the current state"),
          info(info_name, "gauge", "Descriptive labels; the value is always 1"),
          transitions(tr_name, "counter", "Status changes since the daemon started"),
          since(since_name, "gauge", "Wall-clock time of the last status change")
    {}

    void add_common(const char *label, const std::string &name, const core::JsonValue &o)
    {
        const char *st = state_of(o);
        up.add({{label, name}}, std::string(st) == "OK" ? 1 : 0);
        for (const char *k : kStates)
            state.add({{label, name}, {"state", k}}, std::string(st) == k ? 1 : 0);
        double v;
        if (count(o, "transitions", v))
            transitions.add({{label, name}}, v);
        if (count(o, "since", v) && v > 0)
            since.add({{label, name}}, v);
    }

    void write_common(std::string &out) const
    {
        up.write(out);
        state.write(out);
        info.write(out);
    }
};

// Length of the valid UTF-8 sequence at |s|[i], or 0 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t utf8_len(std::string_view s, size_t i)
{
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || c > 0xf4 || i + n > s.size())
        return 0;
    for (size_t k = 1; k < n; k++)
        if ((b(i + k) & 0xc0) != 0x80)
            return 0;
    unsigned char c1 = b(i + 1);
    if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) ||
        (c == 0xf4 && c1 > 0x8f))
        return 0;
    return n;
}

} // namespace

std::string prom_escape_label(std::string_view v)
{
    // Label values must be UTF-8: a byte that does not start a valid sequence becomes
    // U+FFFD, so one bad device name cannot make the whole scrape unreadable.
    std::string out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size();) {
        char c = v[i];
        size_t n = utf8_len(v, i);
        if (n == 0) {
            out += "\xef\xbf\xbd";
            i++;
        } else if (n > 1) {
            out.append(v.data() + i, n);
            i += n;
        } else {
            if (c == '\\')
                out += "\\\\";
            else if (c == '"')
                out += "\\\"";
            else if (c == '\n')
                out += "\\n";
            else
                out += c;
            i++;
        }
    }
    return out;
}

std::string metrics_down_text()
{
    std::string out;
    Family up("omrt_up", "gauge", "1 if omr-trackerd answered this scrape");
    up.add({}, 0);
    up.write(out);
    return out;
}

std::string metrics_text(const core::JsonValue &st)
{
    std::string out;
    Family up("omrt_up", "gauge", "1 if omr-trackerd answered this scrape");
    up.add({}, 1);
    up.write(out);

    const core::JsonValue *d = member(st, "daemon");
    if (d) {
        Family build("omrt_build_info", "gauge", "omr-trackerd version; the value is always 1");
        std::string version = text(*d, "version");
        if (!version.empty())
            build.add({{"version", version}}, 1);
        build.write(out);
    }

    // ---- interfaces
    EntryFamilies ifs("omrt_interface_up", "omrt_interface_state", "omrt_interface_info",
                      "omrt_interface_transitions_total",
                      "omrt_interface_last_change_timestamp_seconds",
                      "1 if the interface is OK, 0 if ERROR or not checked yet");
    Family lat("omrt_interface_latency_seconds", "gauge", "Round-trip time of the probes");
    Family loss("omrt_interface_loss_ratio", "gauge", "Share of probes lost, 0 to 1");
    Family jit("omrt_interface_jitter_seconds", "gauge", "Variation of the round-trip time");
    Family sent("omrt_interface_probes_sent_total", "counter", "Probes sent through the interface");
    Family probes("omrt_interface_probe_results_total", "counter",
                  "Probes through the interface by outcome: reply, timeout, error");
    Family ignored("omrt_interface_ignored_packets_total", "counter",
                   "ICMP packets received and ignored: foreign (not ours), duplicate, late, "
                   "malformed (forged or mangled)");
    if (const core::JsonValue *g = member(st, "interfaces"); g && g->is_object()) {
        for (size_t i = 0; i < g->size(); i++) {
            const core::JsonValue &o = g->at(i);
            if (!o.is_object() || !first_of_name(*g, i))
                continue;
            const std::string &name = g->key_at(i);
            ifs.add_common("interface", name, o);
            ifs.info.add({{"interface", name},
                          {"device", text(o, "device")},
                          {"reason", text(o, "reason")}},
                         1);
            double v;
            if (count(o, "latency_ms", v))
                lat.add({{"interface", name}}, v / 1000);
            if (count(o, "loss_pct", v) && v <= 100)
                loss.add({{"interface", name}}, v / 100);
            if (count(o, "jitter_ms", v))
                jit.add({{"interface", name}}, v / 1000);
            if (const core::JsonValue *p = member(o, "probes"); p && p->is_object()) {
                if (count(*p, "sent", v))
                    sent.add({{"interface", name}}, v);
                static const char *const kOutcomes[][2] = {
                        {"replies", "reply"}, {"timeouts", "timeout"}, {"errors", "error"}};
                for (const auto &k : kOutcomes)
                    if (count(*p, k[0], v))
                        probes.add({{"interface", name}, {"result", k[1]}}, v);
                if (const core::JsonValue *ig = member(*p, "ignored"); ig && ig->is_object()) {
                    for (const char *k : {"foreign", "duplicate", "late", "malformed"})
                        if (count(*ig, k, v))
                            ignored.add({{"interface", name}, {"kind", k}}, v);
                }
            }
        }
    }
    ifs.write_common(out);
    lat.write(out);
    loss.write(out);
    jit.write(out);
    sent.write(out);
    probes.write(out);
    ignored.write(out);
    ifs.transitions.write(out);
    ifs.since.write(out);

    // ---- servers
    EntryFamilies srv("omrt_server_up", "omrt_server_state", "omrt_server_info",
                      "omrt_server_transitions_total", "omrt_server_last_change_timestamp_seconds",
                      "1 if the VPS is OK, 0 if ERROR or not checked yet");
    Family cur("omrt_server_current", "gauge", "1 if this VPS is the one in use");
    Family dns_q("omrt_server_dns_queries_total", "counter",
                 "DNS queries sent for the server's host names");
    Family dns_f("omrt_server_dns_failures_total", "counter",
                 "DNS queries for the server's host names that failed");
    Family api_c("omrt_server_api_checks_total", "counter", "VPS API checks made");
    Family api_f("omrt_server_api_check_failures_total", "counter", "VPS API checks that failed");
    Family api_l("omrt_server_api_latency_seconds", "gauge", "Duration of the last VPS API check");
    Family dns_c("omrt_server_dns_changes_total", "counter",
                 "Changes of the server's resolved addresses (DDNS)");
    Family dns_fail("omrt_server_dns_consecutive_failures", "gauge",
                    "Failed refreshes in a row of the server's names (worst resolver)");
    Family rounds("omrt_server_checks_total", "counter", "Check rounds made");
    Family failovers("omrt_server_failovers_total", "counter",
                     "Times the server became current after another one");
    Family wan_ok("omrt_server_interface_up", "gauge",
                  "1 if the server answered through this interface in the last round");
    Family wan_rtt("omrt_server_interface_rtt_seconds", "gauge",
                   "Round-trip time to the server through this interface, last round");
    if (const core::JsonValue *g = member(st, "servers"); g && g->is_object()) {
        for (size_t i = 0; i < g->size(); i++) {
            const core::JsonValue &o = g->at(i);
            if (!o.is_object() || !first_of_name(*g, i))
                continue;
            const std::string &name = g->key_at(i);
            srv.add_common("server", name, o);
            bool m = flag(o, "master"), b = flag(o, "backup");
            srv.info.add({{"server", name},
                          {"host", text(o, "name")},
                          {"reason", text(o, "reason")},
                          {"role", m && b ? "master+backup"
                                   : m    ? "master"
                                   : b    ? "backup"
                                          : "none"}},
                         1);
            cur.add({{"server", name}}, flag(o, "current") ? 1 : 0);
            double v;
            if (count(o, "checks", v))
                rounds.add({{"server", name}}, v);
            if (count(o, "failovers", v))
                failovers.add({{"server", name}}, v);
            const core::JsonValue *dns = member(o, "dns");
            if (dns && dns->is_object()) {
                if (count(*dns, "queries", v))
                    dns_q.add({{"server", name}}, v);
                if (count(*dns, "failures", v))
                    dns_f.add({{"server", name}}, v);
            } else if (dns && dns->is_array()) {
                DnsSums t = dns_sums(*dns);
                if (t.any) {
                    dns_q.add({{"server", name}}, t.queries);
                    dns_c.add({{"server", name}}, t.changes);
                    dns_fail.add({{"server", name}}, t.failing);
                }
            }
            const core::JsonValue *api = member(o, "api");
            if (api && api->is_object()) {
                if (count(*api, "checks", v))
                    api_c.add({{"server", name}}, v);
                if (count(*api, "failures", v))
                    api_f.add({{"server", name}}, v);
                if (count(*api, "latency_ms", v))
                    api_l.add({{"server", name}}, v / 1000);
            } else if (count(o, "api_checks", v)) {
                api_c.add({{"server", name}}, v);
            }
            const core::JsonValue *wans = member(o, "wans");
            for (size_t k = 0; wans && wans->is_array() && k < wans->size(); k++) {
                const core::JsonValue &l = wans->at(k);
                std::string wan = text(l, "wan");
                if (!l.is_object() || wan.empty() || !first_wan(*wans, k))
                    continue;
                const core::JsonValue *ok = member(l, "ok");
                if (ok && ok->is_bool())
                    wan_ok.add({{"server", name}, {"interface", wan}}, ok->as_bool() ? 1 : 0);
                if (count(l, "rtt_ms", v))
                    wan_rtt.add({{"server", name}, {"interface", wan}}, v / 1000);
            }
        }
    }
    srv.write_common(out);
    cur.write(out);
    srv.transitions.write(out);
    srv.since.write(out);
    rounds.write(out);
    failovers.write(out);
    wan_ok.write(out);
    wan_rtt.write(out);
    dns_q.write(out);
    dns_f.write(out);
    dns_c.write(out);
    dns_fail.write(out);
    api_c.write(out);
    api_f.write(out);
    api_l.write(out);

    // ---- the daemon itself
    if (d) {
        double v;
        Family cpu("omrt_process_cpu_seconds_total", "counter", "User and system CPU time");
        Family rss("omrt_process_resident_memory_bytes", "gauge", "Resident set size");
        Family heap("omrt_process_heap_bytes", "gauge",
                    "Heap bytes allocated and not freed (absent where the C library cannot say)");
        Family fds("omrt_process_open_fds", "gauge", "Open file descriptors");
        Family lag("omrt_loop_lag_seconds", "gauge",
                   "Worst lateness of the event loop's self-check timer over the last minute");
        Family upt("omrt_uptime_seconds", "gauge", "Time since the daemon started");
        Family wr("omrt_status_file_writes_total", "counter", "Status file rewrites");
        Family wre("omrt_status_file_write_error", "gauge",
                   "1 if the last status file write failed");
        if (count(*d, "cpu_ms", v))
            cpu.add({}, v / 1000);
        if (count(*d, "rss_kb", v))
            rss.add({}, v * 1024);
        if (count(*d, "heap_bytes", v))
            heap.add({}, v);
        if (count(*d, "open_fds", v))
            fds.add({}, v);
        if (count(*d, "loop_lag_ms", v))
            lag.add({}, v / 1000);
        if (count(*d, "uptime_s", v))
            upt.add({}, v);
        if (count(*d, "status_writes", v))
            wr.add({}, v);
        if (const core::JsonValue *e = member(*d, "status_write_error"))
            wre.add({}, e->is_string() ? 1 : 0);
        cpu.write(out);
        rss.write(out);
        heap.write(out);
        fds.write(out);
        lag.write(out);
        upt.write(out);
        wr.write(out);
        wre.write(out);
    }
    return out;
}

} // namespace ctl
