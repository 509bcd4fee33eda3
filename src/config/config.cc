// load_config(): the three UCI files → one validated Config (reference §1.2, §2, §2.5).
#include "config/config.h"

#include "config/schema.h"
#include "config/uci.h"
#include "core/str.h"
#include "core/vec.h"

#include <algorithm>
#include <bitset>
#include <memory>

namespace cfg {

namespace {

using SetBits = std::bitset<kMaxSchemaRows>; // which table rows a section chain has set

// Fields of files we only read (network, openmptcprouter), checked with the same parser.
// clang-format off
const OptionSpec kNetMetric{"metric", 0, VType::uint, Use::live, 0, 0, 4294967295u, nullptr,
                            nullptr, "0", {}};
const OptionSpec kNetAuto{"auto", 0, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr, "1",
                          {}};
const OptionSpec kNetDisabled{"disabled", 0, VType::boolean, Use::live, 0, 0, 0, nullptr,
                              nullptr, "0", {}};
const OptionSpec kSrvIp{"ip", 0, VType::hosts_any, Use::live, 0, 0, 0, nullptr, nullptr,
                        nullptr, {}};
const OptionSpec kSrvPort{"port", 0, VType::uint, Use::live, 0, 1, 65535, nullptr, nullptr,
                          "65500", {}};
const OptionSpec kSrvDisabled{"disabled", 0, VType::boolean, Use::live, 0, 0, 0, nullptr,
                              nullptr, "0", {}};
const OptionSpec kSrvMaster{"master", 0, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr,
                            "0", {}};
const OptionSpec kSrvBackup{"backup", 0, VType::boolean, Use::live, 0, 0, 0, nullptr, nullptr,
                            "0", {}};
const char *const kTlsPolicies[] = {"insecure", "pin", "ca", nullptr};
const OptionSpec kSrvTlsPolicy{"tls_policy", 0, VType::enumeration, Use::live, 0, 0, 0, nullptr,
                               kTlsPolicies, "insecure", {}};
const OptionSpec kSrvTlsCa{"tls_ca_file", 0, VType::path, Use::live, 0, 0, 0, nullptr, nullptr,
                           nullptr, {}};
const OptionSpec kDisableIpv6{"disable_ipv6", 0, VType::boolean, Use::live, 0, 0, 0, nullptr,
                              nullptr, "0", {}};
const OptionSpec kMultipathVpn{"multipathvpn", 0, VType::boolean, Use::live, 0, 0, 0, nullptr,
                               nullptr, "0", {}};
// clang-format on

// The text fields of a network interface, copied as they are.
struct NetField {
    const char *name;
    std::string NetworkIface::*field;
};
const NetField kNetFields[] = {
        {"device", &NetworkIface::device},       {"proto", &NetworkIface::proto},
        {"multipath", &NetworkIface::multipath}, {"gateway", &NetworkIface::gateway},
        {"ip6gw", &NetworkIface::ip6gw},         {"ipv6", &NetworkIface::ipv6},
};
const char *const kMultipathModes[] = {"on", "master", "backup", "handover", "off", nullptr};

// sun_path is 108 bytes including the terminating NUL (unix(7)).
constexpr size_t kMaxSocketPath = 107;

// Out of line on purpose: call sites pass literals and c_str()s (nullptr: empty), the
// strings are built once here.
void add_diag(std::vector<Diag> &to, const std::string &file, int line, const std::string &section,
              const char *option, const char *value, const char *message, bool warning)
{
    Diag d;
    d.file = file;
    d.line = line;
    d.section = section;
    if (option)
        d.option = option;
    if (value)
        d.value = value;
    d.message = message;
    d.warning = warning;
    to.push_back(std::move(d));
}

// The checked value of |spec|'s option in |s|: false when unset, empty or invalid (then
// reported to |k|).
bool get_value(const UciSection &s, const OptionSpec &spec, const DiagSink &k, Value &v)
{
    const UciOption *o = s.find(spec.name);
    return o && parse_value(spec, *o, k, v) == Parse::set;
}

std::string opt_str(const UciSection &s, const char *name)
{
    const UciOption *o = s.find(name);
    return o ? o->joined() : std::string();
}

class Loader {
public:
    explicit Loader(const std::string &dir);
    bool run(Config &out, std::vector<Diag> &errors);

private:
    struct IfaceSection {
        const UciSection *sec;
        TrackerOptions opts;
        SetBits set;
        bool matched = false;
    };
    struct NetIface {
        const UciSection *sec;
        NetworkIface net;
    };

    void error(const std::string &file, int line, const std::string &section, const char *option,
               const char *value, const char *message)
    {
        add_diag(errors_, file, line, section, option, value, message, false);
    }
    void warn(const std::string &file, int line, const std::string &section, const char *option,
              const char *value, const char *message)
    {
        add_diag(warnings_, file, line, section, option, value, message, true);
    }
    DiagSink sink(const UciPackage &pkg, const UciSection &s, bool lenient)
    {
        DiagSink k;
        k.file = &pkg.path;
        k.section = s.label();
        k.diags = lenient ? &warnings_ : &errors_;
        k.warning = lenient;
        k.suffix = lenient ? "; ignored, using the default" : "";
        return k;
    }
    void apply_section(const UciSection &sec, uint8_t kind, const Target &t, SetBits *set,
                       bool report, bool merge_only);
    // A boolean of openmptcprouter: false when unset; a bad value is a warning.
    bool omr_flag(const UciSection &s, const OptionSpec &spec);
    static void finalize(TrackerOptions &o, const SetBits &set);
    void load_tracker();
    void load_network();
    void load_omr();
    void select();
    void check_interface(const Interface &i, const IfaceSection *is);
    void check_daemon();
    void sort_by_place(std::vector<Diag> &v) const;
    int rank(const std::string &file) const
    {
        return file == f_tr_ ? 0 : file == f_omr_ ? 1 : file == f_net_ ? 2 : 3;
    }

    std::string f_tr_, f_omr_, f_net_;
    UciPackage tr_, omr_, net_;
    std::vector<Diag> errors_, warnings_;
    Config c_;
    const UciSection *defaults_sec_ = nullptr, *server_sec_ = nullptr, *daemon_sec_ = nullptr;
    TrackerOptions defaults_;
    SetBits defaults_set_;
    std::vector<IfaceSection> ifaces_;
    std::vector<NetIface> net_ifaces_;
};

Loader::Loader(const std::string &dir)
{
    std::string d = dir.empty() ? std::string(".") : dir;
    if (d.size() > 1 && d.back() == '/')
        d.pop_back();
    c_.dir = d;
    f_tr_ = core::strprintf("%s/omr-tracker", d.c_str());
    f_omr_ = core::strprintf("%s/openmptcprouter", d.c_str());
    f_net_ = core::strprintf("%s/network", d.c_str());
}

void Loader::apply_section(const UciSection &sec, uint8_t kind, const Target &t, SetBits *set,
                           bool report, bool merge_only)
{
    DiagSink k = sink(tr_, sec, false);
    if (!report)
        k.diags = nullptr;
    for (const UciOption &o : sec.options) {
        const OptionSpec *s = find_spec(o.name, kind);
        if (!s) {
            if (report)
                warn(f_tr_, o.line, sec.label(), o.name.c_str(), nullptr,
                     name_in_schema(o.name)
                             ? core::strprintf("not used in a %s section, ignored", kind_name(kind))
                                       .c_str()
                             : "unknown option, ignored");
            continue;
        }
        if (merge_only && (s->flags & F_NO_MERGE))
            continue;
        Value v;
        if (parse_value(*s, o, k, v) != Parse::set)
            continue;
        store(*s, v, t);
        if (set)
            set->set(spec_index(*s));
    }
}

bool Loader::omr_flag(const UciSection &s, const OptionSpec &spec)
{
    Value v;
    return get_value(s, spec, sink(omr_, s, true), v) && v.b;
}

void Loader::finalize(TrackerOptions &o, const SetBits &set)
{
    static const size_t tries_up = spec_index(*find_spec("tries_up", K_INTERFACE));
    if (!set[tries_up])
        o.tries_up = o.tries; // reference §2.1: C = tries
    if (o.failure_interval_s == 0)
        o.failure_interval_s = o.interval_s;
}

void Loader::load_tracker()
{
    std::vector<const UciSection *> iface_secs;
    for (const UciSection &s : tr_.sections) {
        const std::string &t = s.type;
        uint8_t kind = 0; // K_* of a type the trackers know, by its name
        for (uint8_t k = K_DEFAULTS; k <= K_DAEMON; k = uint8_t(k << 1))
            if (t == kind_name(k))
                kind = k;
        if (kind == K_INTERFACE) {
            iface_secs.push_back(&s);
        } else if (kind && s.name != t) {
            // The shell reads omr-tracker.defaults, .server, ... by name.
            warn(f_tr_, s.line, s.label(), nullptr, nullptr,
                 core::strprintf("section ignored: the trackers only read the %s section named "
                                 "'%s'",
                                 t.c_str(), t.c_str())
                         .c_str());
        } else if (kind == K_DEFAULTS) {
            defaults_sec_ = &s;
        } else if (kind == K_SERVER) {
            server_sec_ = &s;
        } else if (kind == K_DAEMON) {
            daemon_sec_ = &s;
        } else if (kind) {
            // proxy, gre: trackers omr-trackerd does not run: validated so that
            // --check-config catches their errors too, nothing is kept.
            apply_section(s, kind, Target(), nullptr, true, false);
        } else {
            warn(f_tr_, s.line, s.label(), nullptr, nullptr, "unknown section type, ignored");
        }
    }

    // defaults, then each interface section over a copy of it (reference §2 merge rule).
    // Unlike the shell, an interface section without enabled/check_quality/server_test/
    // server_http_test inherits the defaults' value rather than the validation default.
    Target td;
    td.tr = &defaults_;
    apply_table_defaults(K_TRACKER, td);
    if (defaults_sec_)
        apply_section(*defaults_sec_, K_DEFAULTS, td, &defaults_set_, true, false);
    for (const UciSection *s : iface_secs) {
        IfaceSection is{s, defaults_, defaults_set_};
        Target ti;
        ti.tr = &is.opts;
        apply_section(*s, K_INTERFACE, ti, &is.set, true, false);
        ifaces_.push_back(std::move(is));
    }
    c_.defaults = defaults_;
    finalize(c_.defaults, defaults_set_);

    // Server tracker: defaults (silently: errors there are reported once, above), then
    // the server section.
    Target ts;
    ts.srv = &c_.server_opts;
    apply_table_defaults(K_SERVER, ts);
    if (defaults_sec_)
        apply_section(*defaults_sec_, K_SERVER, ts, nullptr, false, true);
    if (server_sec_)
        apply_section(*server_sec_, K_SERVER, ts, nullptr, true, false);

    Target tdm;
    tdm.dm = &c_.daemon;
    apply_table_defaults(K_DAEMON, tdm);
    if (daemon_sec_) {
        apply_section(*daemon_sec_, K_DAEMON, tdm, nullptr, true, false);
        check_daemon();
    }
}

void Loader::check_daemon()
{
    const DaemonOptions &d = c_.daemon;
    auto line_of = [&](const char *opt) {
        const UciOption *o = daemon_sec_->find(opt);
        return o ? o->line : daemon_sec_->line;
    };
    if (d.socket_path.size() > kMaxSocketPath)
        error(f_tr_, line_of("socket_path"), daemon_sec_->label(), "socket_path",
              d.socket_path.c_str(),
              core::strprintf("path too long for a unix socket (%zu bytes, limit %zu)",
                              d.socket_path.size(), kMaxSocketPath)
                      .c_str());
    if (d.socket_path == d.status_file)
        error(f_tr_, line_of("status_file"), daemon_sec_->label(), "status_file",
              d.status_file.c_str(), "status_file and socket_path must be different files");
}

void Loader::load_network()
{
    const UciSection *g = net_.find("globals");
    c_.multipath_enabled = g && opt_str(*g, "multipath") == "enable";
    for (const UciSection &s : net_.sections) {
        if (s.type != "interface")
            continue;
        NetIface ni{&s, NetworkIface()};
        NetworkIface &n = ni.net;
        for (const NetField &f : kNetFields)
            n.*f.field = opt_str(s, f.name);
        if (n.device.empty())
            n.device = opt_str(s, "ifname");
        // netifd's own file: a value it tolerates must not stop the tracker, so problems
        // here are warnings and the default is used.
        DiagSink k = sink(net_, s, true);
        Value v;
        if (get_value(s, kNetMetric, k, v))
            n.metric = v.u;
        n.auto_up = get_value(s, kNetAuto, k, v) ? v.b : true;
        n.disabled = get_value(s, kNetDisabled, k, v) && v.b;
        if (!n.multipath.empty()) {
            bool known = false;
            for (const char *const *m = kMultipathModes; *m; m++)
                known = known || n.multipath == *m;
            if (!known) {
                const UciOption *o = s.find("multipath");
                warn(f_net_, o->line, s.label(), "multipath", n.multipath.c_str(),
                     core::strprintf("unknown multipath mode '%s' (expected on, master, backup, "
                                     "handover or off); treated as on",
                                     printable_value(n.multipath).c_str())
                             .c_str());
            }
        }
        net_ifaces_.push_back(std::move(ni));
    }
}

void Loader::load_omr()
{
    // The shell tests `openmptcprouter.settings.disable_ipv6 = 1`: unset means IPv6 stays.
    c_.settings.disable_ipv6 = false;
    if (const UciSection *s = omr_.find("settings")) {
        c_.settings.disable_ipv6 = omr_flag(*s, kDisableIpv6);
        c_.settings.vpn = opt_str(*s, "vpn");
        c_.settings.proxy = opt_str(*s, "proxy");
        c_.settings.master = opt_str(*s, "master");
    }
    unsigned masters = 0;
    for (const UciSection &s : omr_.sections) {
        if (s.type != "server")
            continue;
        // openmptcprouter is OMR's state store too (token, current, admin_error, ...):
        // options we do not read are not worth a warning here.
        DiagSink k = sink(omr_, s, false);
        Server sv;
        sv.name = s.name;
        sv.line = s.line;
        Value v;
        if (get_value(s, kSrvIp, k, v))
            sv.hosts = v.list;
        if (get_value(s, kSrvPort, k, v))
            sv.port = v.u;
        std::string user = opt_str(s, "username");
        if (!user.empty())
            sv.username = user;
        sv.password = opt_str(s, "password");
        sv.tls_pin = opt_str(s, "tls_pin");
        sv.tls_name = opt_str(s, "tls_name");
        // omr-trackerd's certificate policy (DESIGN.md "API client"); the default is the
        // shell's `curl -k`.
        if (get_value(s, kSrvTlsPolicy, k, v))
            sv.tls_policy = kTlsPolicies[v.e];
        if (get_value(s, kSrvTlsCa, k, v))
            sv.tls_ca_file = v.s;
        sv.master = get_value(s, kSrvMaster, k, v) && v.b;
        sv.backup = get_value(s, kSrvBackup, k, v) && v.b;
        bool disabled = get_value(s, kSrvDisabled, k, v) && v.b;
        if (disabled) {
            c_.skipped_servers.push_back({sv.name, "disabled"});
        } else if (sv.hosts.empty()) {
            // Friendlier than an error: OMR's wizard can leave a half-configured server.
            warn(f_omr_, s.line, s.label(), "ip", nullptr,
                 "server has no address (list ip); skipped");
            c_.skipped_servers.push_back({sv.name, "no address (list ip is empty)"});
        } else {
            if (sv.master && ++masters == 2)
                warn(f_omr_, s.line, s.label(), "master", "1",
                     "more than one server has master=1; the first one in the file is master");
            c_.servers.push_back(std::move(sv));
        }
    }
}

// Which network interfaces get a tracker: `_launch_tracker` of the init script, in order
// (reference §1.2); the first rule that applies gives the reason.
void Loader::select()
{
    for (NetIface &ni : net_ifaces_) {
        const std::string &name = ni.sec->name;
        const NetworkIface &n = ni.net;
        IfaceSection *is = nullptr;
        for (IfaceSection &x : ifaces_)
            if (x.sec->name == name) {
                is = &x;
                x.matched = true;
                break;
            }
        TrackerOptions o = is ? is->opts : defaults_;
        finalize(o, is ? is->set : defaults_set_);

        const UciSection *ovpn = omr_.find(name);
        bool mpvpn = ovpn && omr_flag(*ovpn, kMultipathVpn);
        std::string why;
        if (!c_.multipath_enabled)
            why = "multipath is disabled globally (network.globals.multipath is not 'enable')";
        else if (name.empty())
            why = "empty interface name";
        else if (name == "loopback")
            why = "loopback interface";
        else if (core::starts_with(name, "lan"))
            why = "LAN interface (name starts with 'lan')";
        else if (core::starts_with(name, "if0"))
            why = "name starts with 'if0'";
        else if ((n.multipath.empty() || n.multipath == "off") && name != "glorytun" &&
                 name != "omrvpn" && !mpvpn)
            why = n.multipath.empty() ? "not a multipath interface (network multipath not set)"
                                      : "multipath is off";
        else if (name == "omrvpn" && c_.settings.vpn == "none")
            why = "VPN disabled (openmptcprouter.settings.vpn is 'none')";
        else if (!n.auto_up)
            why = "not brought up at boot (network auto=0)";
        else if (!o.enabled)
            why = "tracker disabled (omr-tracker enabled=0)";
        else if (n.disabled)
            why = "interface disabled (network disabled=1)";
        else if (o.hosts.empty() && o.type != ProbeType::none)
            why = "no tracking hosts (omr-tracker hosts is empty and type is not 'none')";
        if (!why.empty()) {
            c_.skipped.push_back({name, why});
            continue;
        }
        Interface i;
        i.name = name;
        i.net = n;
        i.opts = std::move(o);
        i.line = is ? is->sec->line : 0;
        check_interface(i, is);
        c_.interfaces.push_back(std::move(i));
    }
    for (const IfaceSection &x : ifaces_)
        if (!x.matched)
            warn(f_tr_, x.sec->line, x.sec->label(), nullptr, nullptr,
                 core::strprintf("no interface of that name in %s, ignored", f_net_.c_str())
                         .c_str());
}

// Cross-field checks on the merged options of one tracked interface.
void Loader::check_interface(const Interface &i, const IfaceSection *is)
{
    const TrackerOptions &o = i.opts;
    std::string section = core::strprintf("interface '%s'", i.name.c_str());
    // Where a value came from: the interface section, else defaults, else the table.
    auto line_of = [&](const char *opt) {
        if (is)
            if (const UciOption *u = is->sec->find(opt))
                return u->line;
        if (defaults_sec_)
            if (const UciOption *u = defaults_sec_->find(opt))
                return u->line;
        return is ? is->sec->line : defaults_sec_ ? defaults_sec_->line : 0;
    };
    auto num = [](unsigned v) { return core::strprintf("%u", v); };
    if (o.check_quality) {
        if (o.type == ProbeType::none || o.type == ProbeType::glorytun_udp)
            warn(f_tr_, line_of("check_quality"), section, "check_quality", "1",
                 core::strprintf("has no effect with type '%s' (nothing is measured)",
                                 probe_type_name(o.type))
                         .c_str());
        if (o.failure_loss_pct == 0)
            error(f_tr_, line_of("failure_loss"), section, "failure_loss", "0",
                  "0 with check_quality on marks the link down on every cycle (expected "
                  "1..100)");
        if (o.recovery_loss_pct == 0)
            error(f_tr_, line_of("recovery_loss"), section, "recovery_loss", "0",
                  "0 with check_quality on keeps a down link down forever (expected 1..100)");
        if (o.recovery_loss_pct > o.failure_loss_pct)
            warn(f_tr_, line_of("recovery_loss"), section, "recovery_loss",
                 num(o.recovery_loss_pct).c_str(),
                 core::strprintf("%u%% is above failure_loss %u%%: a link losing between the "
                                 "two flaps between OK and ERROR every cycle",
                                 o.recovery_loss_pct, o.failure_loss_pct)
                         .c_str());
        if (o.recovery_latency_ms > o.failure_latency_ms)
            warn(f_tr_, line_of("recovery_latency"), section, "recovery_latency",
                 num(o.recovery_latency_ms).c_str(),
                 core::strprintf("%u ms is above failure_latency %u ms: a link between the "
                                 "two flaps between OK and ERROR every cycle",
                                 o.recovery_latency_ms, o.failure_latency_ms)
                         .c_str());
    }
    // Detection time of a dead link with carrier up (reference §3.5, §3.10).
    unsigned long detect = (unsigned long)o.tries * (o.timeout_s + o.interval_tries_s);
    if (detect > 600)
        warn(f_tr_, line_of("tries"), section, "tries", num(o.tries).c_str(),
             core::strprintf("a dead link is declared down only after up to %lu s "
                             "(tries x (timeout + interval_tries))",
                             detect)
                     .c_str());
    if (o.family != Family::ipv4 && o.hosts6.empty() && o.type != ProbeType::none &&
        o.type != ProbeType::glorytun_udp)
        warn(f_tr_, line_of("family"), section, "family", family_name(o.family),
             "hosts6 is empty: there is no public IPv6 host to probe");
}

// Stable by (file, line): a handful of diags.
void Loader::sort_by_place(std::vector<Diag> &v) const
{
    core::sort_small(v, [this](const Diag &a, const Diag &b) {
        int ra = rank(a.file), rb = rank(b.file);
        return ra < rb || (ra == rb && a.line < b.line);
    });
}

bool Loader::run(Config &out, std::vector<Diag> &errors)
{
    read_uci_file(f_tr_, tr_, errors_);
    std::vector<Diag> omr_errors;
    bool omr_missing = false;
    read_uci_file(f_omr_, omr_, omr_errors, &omr_missing);
    if (omr_missing)
        warn(f_omr_, 0, std::string(), nullptr, nullptr,
             "file not found: no VPS servers are known");
    else
        errors_.insert(errors_.end(), omr_errors.begin(), omr_errors.end());
    read_uci_file(f_net_, net_, errors_);

    // Validation goes on after syntax errors: whatever parsed is checked too, so one run
    // lists every problem.
    load_tracker();
    load_network();
    load_omr();
    select();

    sort_by_place(errors_);
    sort_by_place(warnings_);
    if (!errors_.empty()) {
        errors.insert(errors.end(), errors_.begin(), errors_.end());
        errors.insert(errors.end(), warnings_.begin(), warnings_.end());
        return false;
    }
    c_.warnings = std::move(warnings_);
    out = std::move(c_);
    return true;
}

void put(std::string &o, const char *kw, const char *name, std::string_view value,
         const char *comment = nullptr)
{
    o += '\t';
    o += kw;
    o += ' ';
    o += name;
    o += ' ';
    o += uci_quote(value);
    if (comment) {
        o += " # ";
        o += comment;
    }
    o += '\n';
}

void put_opt(std::string &o, const char *name, std::string_view value)
{
    put(o, "option", name, value);
}

void put_flag(std::string &o, const char *name, bool on)
{
    put_opt(o, name, on ? "1" : "0");
}

void put_uint(std::string &o, const char *name, unsigned v)
{
    put_opt(o, name, core::strprintf("%u", v));
}

// An option only when it has a value.
void put_set(std::string &o, const char *name, const std::string &value)
{
    if (!value.empty())
        put_opt(o, name, value);
}

// "\n<head>'name'<tail>\n": a section header or a comment about one.
void put_head(std::string &o, const char *head, const std::string &name, const char *tail = "",
              const std::string &why = std::string())
{
    o += head;
    o += uci_quote(name);
    o += tail;
    o += why;
    o += '\n';
}

// Every row of |kind| bound to a struct in |t|, in table order, with its current value.
void put_rows(std::string &o, uint8_t kind, const Target &t)
{
    size_t n;
    const OptionSpec *tab = schema_table(n);
    std::vector<std::string> vals;
    for (size_t r = 0; r < n; r++) {
        const OptionSpec &s = tab[r];
        if (!(s.kinds & kind) || !current_values(s, t, vals))
            continue;
        const char *note = s.use == Use::unused  ? "accepted, not used"
                           : s.use == Use::hooks ? "for hooks and alerts"
                                                 : nullptr;
        if (s.bind.kind == Bind::tr_list) {
            if (vals.empty())
                o += core::strprintf("\t# list %s: empty\n", s.name);
            for (const std::string &v : vals)
                put(o, "list", s.name, v);
        } else {
            put(o, "option", s.name, vals.empty() ? std::string_view() : vals[0], note);
        }
    }
}

} // namespace

const char *family_name(Family f)
{
    return kFamilyNames[static_cast<unsigned>(f)];
}

const char *probe_type_name(ProbeType t)
{
    return kProbeTypeNames[static_cast<unsigned>(t)];
}

const char *server_check_name(ServerCheck t)
{
    return kServerCheckNames[static_cast<unsigned>(t)];
}

std::string Diag::format() const
{
    std::string out;
    if (!file.empty()) {
        out += file;
        if (line > 0)
            out += core::strprintf(":%d", line);
        out += ": ";
    }
    if (warning)
        out += "warning: ";
    if (!section.empty()) {
        out += section;
        out += ": ";
    }
    if (!option.empty()) {
        out += "option '";
        out += option;
        out += "': ";
    }
    out += message;
    return out;
}

bool TrackerOptions::operator==(const TrackerOptions &o) const
{
    return enabled == o.enabled && hosts == o.hosts && hosts6 == o.hosts6 && type == o.type &&
           family == o.family && timeout_s == o.timeout_s && count == o.count && size == o.size &&
           max_ttl == o.max_ttl && tries == o.tries && tries_up == o.tries_up &&
           interval_s == o.interval_s && interval_tries_s == o.interval_tries_s &&
           failure_interval_s == o.failure_interval_s && wait_test_s == o.wait_test_s &&
           check_quality == o.check_quality && failure_loss_pct == o.failure_loss_pct &&
           failure_latency_ms == o.failure_latency_ms && recovery_loss_pct == o.recovery_loss_pct &&
           recovery_latency_ms == o.recovery_latency_ms && server_test == o.server_test &&
           server_http_test == o.server_http_test && reliability == o.reliability &&
           initial_state == o.initial_state && keep_failure_interval == o.keep_failure_interval &&
           options == o.options && restart_down == o.restart_down && mail_alert == o.mail_alert &&
           window == o.window && up_hysteresis == o.up_hysteresis &&
           flap_damping == o.flap_damping && flap_half_life_s == o.flap_half_life_s &&
           adaptive_timeout == o.adaptive_timeout && min_timeout_ms == o.min_timeout_ms &&
           hooks_on_change_only == o.hooks_on_change_only && dns_query_name == o.dns_query_name &&
           script_alert_up == o.script_alert_up && script_alert_down == o.script_alert_down;
}

bool NetworkIface::operator==(const NetworkIface &o) const
{
    return device == o.device && proto == o.proto && multipath == o.multipath &&
           gateway == o.gateway && ip6gw == o.ip6gw && ipv6 == o.ipv6 && metric == o.metric &&
           auto_up == o.auto_up && disabled == o.disabled;
}

bool ServerTrackerOptions::operator==(const ServerTrackerOptions &o) const
{
    return enabled == o.enabled && type == o.type && tries == o.tries && timeout_s == o.timeout_s &&
           interval_s == o.interval_s && interval_tries_s == o.interval_tries_s &&
           wait_test_s == o.wait_test_s && mail_alert == o.mail_alert;
}

bool Server::operator==(const Server &o) const
{
    // |line| is where the section is, not what it is: moving it must not look like a change.
    return name == o.name && hosts == o.hosts && port == o.port && username == o.username &&
           password == o.password && master == o.master && backup == o.backup &&
           tls_policy == o.tls_policy && tls_pin == o.tls_pin && tls_ca_file == o.tls_ca_file &&
           tls_name == o.tls_name;
}

bool DaemonOptions::operator==(const DaemonOptions &o) const
{
    return socket_path == o.socket_path && status_file == o.status_file &&
           log_level == o.log_level && hooks_dir == o.hooks_dir &&
           server_hooks_dir == o.server_hooks_dir && hook_timeout_s == o.hook_timeout_s &&
           pin_file == o.pin_file && user == o.user && dns_resolv_conf == o.dns_resolv_conf &&
           dns_resolv_auto == o.dns_resolv_auto && dns_hosts_file == o.dns_hosts_file &&
           dns_per_wan == o.dns_per_wan && dns_ttl_floor_s == o.dns_ttl_floor_s &&
           dns_ttl_ceiling_s == o.dns_ttl_ceiling_s && dns_serve_stale == o.dns_serve_stale &&
           dns_timeout_s == o.dns_timeout_s;
}

const Interface *Config::find_interface(const std::string &name) const
{
    for (const Interface &i : interfaces)
        if (i.name == name)
            return &i;
    return nullptr;
}

const Server *Config::find_server(const std::string &name) const
{
    for (const Server &s : servers)
        if (s.name == name)
            return &s;
    return nullptr;
}

bool load_config(const std::string &dir, Config &out, std::vector<Diag> &errors)
{
    // On the heap: the Loader is large, and as a local it puts every access to it beyond
    // the short stack offsets (much bigger code on MIPS16).
    auto l = std::make_unique<Loader>(dir);
    return l->run(out, errors);
}

std::string dump_config(const Config &c)
{
    std::string o = "# omr-trackerd: effective configuration read from ";
    o += c.dir;
    o += "\n# (defaults filled in, derived values resolved, secrets masked)\n"
         "\npackage omr-tracker\n"
         "\nconfig daemon 'daemon'\n";
    // put_rows() only reads through the Target.
    Target td;
    td.dm = const_cast<DaemonOptions *>(&c.daemon);
    put_rows(o, K_DAEMON, td);
    for (const Interface &i : c.interfaces) {
        put_head(o, "\nconfig interface ", i.name);
        Target ti;
        ti.tr = const_cast<TrackerOptions *>(&i.opts);
        put_rows(o, K_INTERFACE, ti);
    }
    for (const Skipped &s : c.skipped)
        put_head(o, "\n# interface ", s.name, " is not tracked: ", s.why);
    o += "\nconfig server 'server'\n";
    Target ts;
    ts.srv = const_cast<ServerTrackerOptions *>(&c.server_opts);
    put_rows(o, K_SERVER, ts);

    o += "\npackage openmptcprouter\n"
         "\nconfig settings 'settings'\n";
    put_flag(o, "disable_ipv6", c.settings.disable_ipv6);
    put_opt(o, "vpn", c.settings.vpn);
    put_opt(o, "proxy", c.settings.proxy);
    put_opt(o, "master", c.settings.master);
    for (const Server &s : c.servers) {
        put_head(o, "\nconfig server ", s.name);
        for (const std::string &h : s.hosts)
            put(o, "list", "ip", h);
        put_uint(o, "port", s.port);
        put_opt(o, "username", s.username);
        if (!s.password.empty())
            put_opt(o, "password", "********");
        else
            o += "\t# no password\n";
        put_flag(o, "master", s.master);
        put_flag(o, "backup", s.backup);
        put_opt(o, "tls_policy", s.tls_policy);
        put_set(o, "tls_pin", s.tls_pin);
        put_set(o, "tls_ca_file", s.tls_ca_file);
        put_set(o, "tls_name", s.tls_name);
    }
    for (const Skipped &s : c.skipped_servers)
        put_head(o, "\n# server ", s.name, " is not used: ", s.why);

    o += "\npackage network\n"
         "\nconfig globals 'globals'\n";
    put_opt(o, "multipath", c.multipath_enabled ? "enable" : "disable");
    for (const Interface &i : c.interfaces) {
        const NetworkIface &n = i.net;
        put_head(o, "\nconfig interface ", i.name);
        put_opt(o, "device", n.device);
        put_opt(o, "proto", n.proto);
        put_opt(o, "multipath", n.multipath);
        put_set(o, "gateway", n.gateway);
        put_set(o, "ip6gw", n.ip6gw);
        put_set(o, "ipv6", n.ipv6);
        put_uint(o, "metric", n.metric);
        put_flag(o, "auto", n.auto_up);
        put_flag(o, "disabled", n.disabled);
    }
    return o;
}

} // namespace cfg
