// load_config(): the three UCI files → one validated Config (reference §1.2, §2, §2.5).
#include "config/config.h"

#include "config/schema.h"
#include "config/uci.h"
#include "core/str.h"

#include <algorithm>
#include <bitset>

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

const char *const kMultipathModes[] = {"on", "master", "backup", "handover", "off", nullptr};

// sun_path is 108 bytes including the terminating NUL (unix(7)).
constexpr size_t kMaxSocketPath = 107;

// Out of line on purpose: call sites pass literals and views, the strings are built once here.
Diag make_diag(const std::string &file, int line, std::string_view section, std::string_view option,
               std::string_view value, std::string_view message, bool warning)
{
    Diag d;
    d.file = file;
    d.line = line;
    d.section = std::string(section);
    d.option = std::string(option);
    d.value = std::string(value);
    d.message = std::string(message);
    d.warning = warning;
    return d;
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

    void error(const std::string &file, int line, std::string_view section, std::string_view option,
               std::string_view value, std::string_view message)
    {
        errors_.push_back(make_diag(file, line, section, option, value, message, false));
    }
    void warn(const std::string &file, int line, std::string_view section, std::string_view option,
              std::string_view value, std::string_view message)
    {
        warnings_.push_back(make_diag(file, line, section, option, value, message, true));
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
    bool get_bool(const UciPackage &pkg, const UciSection &s, const OptionSpec &spec, bool def,
                  bool lenient);
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
    f_tr_ = d + "/omr-tracker";
    f_omr_ = d + "/openmptcprouter";
    f_net_ = d + "/network";
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
                warn(f_tr_, o.line, sec.label(), o.name, {},
                     name_in_schema(o.name)
                             ? core::strprintf("not used in a %s section, ignored", kind_name(kind))
                             : std::string("unknown option, ignored"));
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

bool Loader::get_bool(const UciPackage &pkg, const UciSection &s, const OptionSpec &spec, bool def,
                      bool lenient)
{
    const UciOption *o = s.find(spec.name);
    Value v;
    if (o && parse_value(spec, *o, sink(pkg, s, lenient), v) == Parse::set)
        return v.b;
    return def;
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
        bool known =
                t == "defaults" || t == "server" || t == "proxy" || t == "gre" || t == "daemon";
        if (t == "interface") {
            iface_secs.push_back(&s);
        } else if (known && s.name != t) {
            // The shell reads omr-tracker.defaults, .server, ... by name.
            warn(f_tr_, s.line, s.label(), {}, {},
                 "section ignored: the trackers only read the " + t + " section named '" + t + "'");
        } else if (t == "defaults") {
            defaults_sec_ = &s;
        } else if (t == "server") {
            server_sec_ = &s;
        } else if (t == "daemon") {
            daemon_sec_ = &s;
        } else if (t == "proxy" || t == "gre") {
            // Trackers omr-trackerd does not run: validated so that --check-config
            // catches their errors too, nothing is kept.
            apply_section(s, t == "proxy" ? K_PROXY : K_GRE, Target(), nullptr, true, false);
        } else {
            warn(f_tr_, s.line, s.label(), {}, {}, "unknown section type, ignored");
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
        error(f_tr_, line_of("socket_path"), daemon_sec_->label(), "socket_path", d.socket_path,
              core::strprintf("path too long for a unix socket (%zu bytes, limit %zu)",
                              d.socket_path.size(), kMaxSocketPath));
    if (d.socket_path == d.status_file)
        error(f_tr_, line_of("status_file"), daemon_sec_->label(), "status_file", d.status_file,
              "status_file and socket_path must be different files");
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
        n.device = opt_str(s, "device");
        if (n.device.empty())
            n.device = opt_str(s, "ifname");
        n.proto = opt_str(s, "proto");
        n.multipath = opt_str(s, "multipath");
        n.gateway = opt_str(s, "gateway");
        n.ip6gw = opt_str(s, "ip6gw");
        n.ipv6 = opt_str(s, "ipv6");
        // netifd's own file: a value it tolerates must not stop the tracker, so problems
        // here are warnings and the default is used.
        if (const UciOption *o = s.find("metric")) {
            Value v;
            if (parse_value(kNetMetric, *o, sink(net_, s, true), v) == Parse::set)
                n.metric = v.u;
        }
        n.auto_up = get_bool(net_, s, kNetAuto, true, true);
        n.disabled = get_bool(net_, s, kNetDisabled, false, true);
        if (!n.multipath.empty()) {
            bool known = false;
            for (const char *const *m = kMultipathModes; *m; m++)
                known = known || n.multipath == *m;
            if (!known) {
                const UciOption *o = s.find("multipath");
                warn(f_net_, o->line, s.label(), "multipath", n.multipath,
                     "unknown multipath mode '" + printable_value(n.multipath) +
                             "' (expected on, master, backup, handover or off); treated as on");
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
        c_.settings.disable_ipv6 = get_bool(omr_, *s, kDisableIpv6, false, true);
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
        if (const UciOption *o = s.find("ip"))
            if (parse_value(kSrvIp, *o, k, v) == Parse::set)
                sv.hosts = v.list;
        if (const UciOption *o = s.find("port"))
            if (parse_value(kSrvPort, *o, k, v) == Parse::set)
                sv.port = v.u;
        std::string user = opt_str(s, "username");
        if (!user.empty())
            sv.username = user;
        sv.password = opt_str(s, "password");
        // omr-trackerd's certificate policy (DESIGN.md "API client"); the default is the
        // shell's `curl -k`.
        if (const UciOption *o = s.find("tls_policy"))
            if (parse_value(kSrvTlsPolicy, *o, k, v) == Parse::set)
                sv.tls_policy = kTlsPolicies[v.e];
        if (const UciOption *o = s.find("tls_ca_file"))
            if (parse_value(kSrvTlsCa, *o, k, v) == Parse::set)
                sv.tls_ca_file = v.s;
        sv.tls_pin = opt_str(s, "tls_pin");
        sv.tls_name = opt_str(s, "tls_name");
        sv.master = get_bool(omr_, s, kSrvMaster, false, false);
        sv.backup = get_bool(omr_, s, kSrvBackup, false, false);
        bool disabled = get_bool(omr_, s, kSrvDisabled, false, false);
        if (disabled) {
            c_.skipped_servers.push_back({sv.name, "disabled"});
        } else if (sv.hosts.empty()) {
            // Friendlier than an error: OMR's wizard can leave a half-configured server.
            warn(f_omr_, s.line, s.label(), "ip", {}, "server has no address (list ip); skipped");
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
        bool mpvpn = ovpn && get_bool(omr_, *ovpn, kMultipathVpn, false, true);
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
            warn(f_tr_, x.sec->line, x.sec->label(), {}, {},
                 "no interface of that name in " + f_net_ + ", ignored");
}

// Cross-field checks on the merged options of one tracked interface.
void Loader::check_interface(const Interface &i, const IfaceSection *is)
{
    const TrackerOptions &o = i.opts;
    std::string section = "interface '" + i.name + "'";
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
                                 probe_type_name(o.type)));
        if (o.failure_loss_pct == 0)
            error(f_tr_, line_of("failure_loss"), section, "failure_loss", "0",
                  "0 with check_quality on marks the link down on every cycle (expected "
                  "1..100)");
        if (o.recovery_loss_pct == 0)
            error(f_tr_, line_of("recovery_loss"), section, "recovery_loss", "0",
                  "0 with check_quality on keeps a down link down forever (expected 1..100)");
        if (o.recovery_loss_pct > o.failure_loss_pct)
            warn(f_tr_, line_of("recovery_loss"), section, "recovery_loss",
                 num(o.recovery_loss_pct),
                 core::strprintf("%u%% is above failure_loss %u%%: a link losing between the "
                                 "two flaps between OK and ERROR every cycle",
                                 o.recovery_loss_pct, o.failure_loss_pct));
        if (o.recovery_latency_ms > o.failure_latency_ms)
            warn(f_tr_, line_of("recovery_latency"), section, "recovery_latency",
                 num(o.recovery_latency_ms),
                 core::strprintf("%u ms is above failure_latency %u ms: a link between the "
                                 "two flaps between OK and ERROR every cycle",
                                 o.recovery_latency_ms, o.failure_latency_ms));
    }
    // Detection time of a dead link with carrier up (reference §3.5, §3.10).
    unsigned long detect = (unsigned long)o.tries * (o.timeout_s + o.interval_tries_s);
    if (detect > 600)
        warn(f_tr_, line_of("tries"), section, "tries", num(o.tries),
             core::strprintf("a dead link is declared down only after up to %lu s "
                             "(tries x (timeout + interval_tries))",
                             detect));
    if (o.family != Family::ipv4 && o.hosts6.empty() && o.type != ProbeType::none &&
        o.type != ProbeType::glorytun_udp)
        warn(f_tr_, line_of("family"), section, "family", family_name(o.family),
             "hosts6 is empty: there is no public IPv6 host to probe");
}

// Stable insertion sort by (file, line): a handful of diags, and far smaller code than
// std::stable_sort's merge machinery.
void Loader::sort_by_place(std::vector<Diag> &v) const
{
    for (size_t i = 1; i < v.size(); i++) {
        int r = rank(v[i].file);
        size_t j = i;
        while (j > 0) {
            int rp = rank(v[j - 1].file);
            if (rp < r || (rp == r && v[j - 1].line <= v[i].line))
                break;
            j--;
        }
        if (j != i)
            std::rotate(v.begin() + long(j), v.begin() + long(i), v.begin() + long(i) + 1);
    }
}

bool Loader::run(Config &out, std::vector<Diag> &errors)
{
    read_uci_file(f_tr_, tr_, errors_);
    std::vector<Diag> omr_errors;
    bool omr_missing = false;
    read_uci_file(f_omr_, omr_, omr_errors, &omr_missing);
    if (omr_missing)
        warn(f_omr_, 0, {}, {}, {}, "file not found: no VPS servers are known");
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

void put(std::string &o, const char *kw, const std::string &name, const std::string &value,
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
            put(o, "option", s.name, vals.empty() ? std::string() : vals[0], note);
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
    if (!section.empty())
        out += section + ": ";
    if (!option.empty())
        out += "option '" + option + "': ";
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
    Loader l(dir);
    return l.run(out, errors);
}

std::string dump_config(const Config &c)
{
    std::string o;
    o += "# omr-trackerd: effective configuration read from " + c.dir + "\n";
    o += "# (defaults filled in, derived values resolved, secrets masked)\n";

    o += "\npackage omr-tracker\n";
    o += "\nconfig daemon 'daemon'\n";
    Target td;
    DaemonOptions dm = c.daemon;
    td.dm = &dm;
    put_rows(o, K_DAEMON, td);
    for (const Interface &i : c.interfaces) {
        o += "\nconfig interface " + uci_quote(i.name) + "\n";
        Target ti;
        TrackerOptions opts = i.opts;
        ti.tr = &opts;
        put_rows(o, K_INTERFACE, ti);
    }
    for (const Skipped &s : c.skipped)
        o += "\n# interface " + uci_quote(s.name) + " is not tracked: " + s.why + "\n";
    o += "\nconfig server 'server'\n";
    Target ts;
    ServerTrackerOptions so = c.server_opts;
    ts.srv = &so;
    put_rows(o, K_SERVER, ts);

    o += "\npackage openmptcprouter\n";
    o += "\nconfig settings 'settings'\n";
    put(o, "option", "disable_ipv6", c.settings.disable_ipv6 ? "1" : "0");
    put(o, "option", "vpn", c.settings.vpn);
    put(o, "option", "proxy", c.settings.proxy);
    put(o, "option", "master", c.settings.master);
    for (const Server &s : c.servers) {
        o += "\nconfig server " + uci_quote(s.name) + "\n";
        for (const std::string &h : s.hosts)
            put(o, "list", "ip", h);
        put(o, "option", "port", core::strprintf("%u", s.port));
        put(o, "option", "username", s.username);
        if (!s.password.empty())
            put(o, "option", "password", "********");
        else
            o += "\t# no password\n";
        put(o, "option", "master", s.master ? "1" : "0");
        put(o, "option", "backup", s.backup ? "1" : "0");
        put(o, "option", "tls_policy", s.tls_policy);
        if (!s.tls_pin.empty())
            put(o, "option", "tls_pin", s.tls_pin);
        if (!s.tls_ca_file.empty())
            put(o, "option", "tls_ca_file", s.tls_ca_file);
        if (!s.tls_name.empty())
            put(o, "option", "tls_name", s.tls_name);
    }
    for (const Skipped &s : c.skipped_servers)
        o += "\n# server " + uci_quote(s.name) + " is not used: " + s.why + "\n";

    o += "\npackage network\n";
    o += "\nconfig globals 'globals'\n";
    put(o, "option", "multipath", c.multipath_enabled ? "enable" : "disable");
    for (const Interface &i : c.interfaces) {
        const NetworkIface &n = i.net;
        o += "\nconfig interface " + uci_quote(i.name) + "\n";
        put(o, "option", "device", n.device);
        put(o, "option", "proto", n.proto);
        put(o, "option", "multipath", n.multipath);
        if (!n.gateway.empty())
            put(o, "option", "gateway", n.gateway);
        if (!n.ip6gw.empty())
            put(o, "option", "ip6gw", n.ip6gw);
        if (!n.ipv6.empty())
            put(o, "option", "ipv6", n.ipv6);
        put(o, "option", "metric", core::strprintf("%u", n.metric));
        put(o, "option", "auto", n.auto_up ? "1" : "0");
        put(o, "option", "disabled", n.disabled ? "1" : "0");
    }
    return o;
}

} // namespace cfg
