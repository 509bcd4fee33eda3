#include "dns/sysconf.h"

#include "core/files.h"
#include "core/str.h"

#include <net/if.h>
#include <sys/socket.h>

namespace dns {

namespace {

// Calls fn(line_no, line) for each line of |text|, without the line end ("\n" or "\r\n").
template <class F>
void for_each_line(std::string_view text, F fn)
{
    unsigned no = 0;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        fn(++no, line);
    }
}

bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

// The next blank-separated word of |s|, advancing |s| past it.
std::string_view next_word(std::string_view &s)
{
    size_t i = 0;
    while (i < s.size() && is_blank(s[i]))
        i++;
    size_t j = i;
    while (j < s.size() && !is_blank(s[j]))
        j++;
    std::string_view w = s.substr(i, j - i);
    s = s.substr(j);
    return w;
}

bool valid_scope(std::string_view s)
{
    if (s.empty() || s.size() >= IFNAMSIZ)
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == '@'))
            return false;
    return true;
}

// "ADDR" or "ADDR%SCOPE" (scope only for IPv6).
bool parse_addr_scope(std::string_view s, ServerAddr &out, std::string *err)
{
    std::string_view scope;
    size_t pct = s.find('%');
    if (pct != std::string_view::npos) {
        scope = s.substr(pct + 1);
        s = s.substr(0, pct);
    }
    if (!parse_ip(s, out.addr)) {
        if (err)
            *err = "not an IP address";
        return false;
    }
    if (pct != std::string_view::npos) {
        if (!out.addr.is_v6() || !valid_scope(scope)) {
            if (err)
                *err = "bad %scope (only an interface name on an IPv6 address)";
            return false;
        }
        out.scope = std::string(scope);
    }
    return true;
}

bool parse_port(std::string_view s, uint16_t &out)
{
    uint64_t v;
    if (!core::parse_u64(s, v) || v == 0 || v > 65535)
        return false;
    out = uint16_t(v);
    return true;
}

} // namespace

std::string ServerAddr::str() const
{
    std::string a = addr.str();
    if (!scope.empty()) {
        a += '%';
        a += scope;
    }
    if (port == 53)
        return a;
    return core::strprintf(addr.is_v6() ? "[%s]:%u" : "%s:%u", a.c_str(), unsigned(port));
}

bool parse_server(std::string_view spec, ServerAddr &out, std::string *err)
{
    ServerAddr s;
    std::string why;
    bool ok;
    if (!spec.empty() && spec.front() == '[') {
        size_t close = spec.find(']');
        ok = close != std::string_view::npos &&
             parse_addr_scope(spec.substr(1, close - 1), s, &why) && s.addr.is_v6();
        if (ok && close + 1 < spec.size())
            ok = spec[close + 1] == ':' && parse_port(spec.substr(close + 2), s.port);
        if (!ok && why.empty())
            why = "expected [IPv6]:PORT";
    } else {
        size_t colon = spec.find(':');
        if (colon != std::string_view::npos &&
            spec.find(':', colon + 1) == std::string_view::npos) {
            // Exactly one colon: IPv4:PORT.
            ok = parse_addr_scope(spec.substr(0, colon), s, &why) && s.addr.is_v4() &&
                 parse_port(spec.substr(colon + 1), s.port);
            if (!ok && why.empty())
                why = "expected IPv4:PORT";
        } else {
            ok = parse_addr_scope(spec, s, &why);
        }
    }
    if (!ok) {
        if (err)
            *err = core::strprintf("invalid name server '%s': %s",
                                   core::truncate_for_log(spec, 64).c_str(), why.c_str());
        return false;
    }
    out = std::move(s);
    return true;
}

std::string join(const std::vector<ServerAddr> &servers)
{
    std::string out;
    for (const ServerAddr &s : servers) {
        if (!out.empty())
            out += ", ";
        out += s.str();
    }
    return out.empty() ? std::string("none") : out;
}

namespace {

// Handles one resolv.conf line for |conf|; returns false if the line is not a resolv.conf
// line at all (the caller decides whether that matters).
void resolv_line(ResolvConf &conf, unsigned no, std::string_view line)
{
    if (line.size() > kMaxLineBytes) {
        conf.warnings.push_back(
                core::strprintf("line %u: longer than %zu bytes, ignored", no, kMaxLineBytes));
        return;
    }
    std::string_view rest = line;
    std::string_view key = next_word(rest);
    if (key.empty() || key[0] == '#' || key[0] == ';')
        return;
    if (key == "nameserver") {
        std::string_view value = next_word(rest);
        ServerAddr s;
        std::string err;
        // resolv.conf has no ports: "1.2.3.4:53" is as invalid here as it is for glibc.
        if (value.empty() || value.front() == '[' || !parse_server(value, s, &err) ||
            s.port != 53) {
            conf.warnings.push_back(core::strprintf("line %u: invalid nameserver address '%s'", no,
                                                    core::truncate_for_log(value, 64).c_str()));
            return;
        }
        for (const ServerAddr &have : conf.servers)
            if (have == s)
                return; // duplicate: udns would ask it twice
        if (conf.servers.size() < kMaxServers)
            conf.servers.push_back(std::move(s));
        else
            conf.dropped.push_back(s.str());
        return;
    }
    static const char *const kTolerated[] = {"search",   "domain", "options",
                                             "sortlist", "lookup", "family"};
    for (const char *k : kTolerated)
        if (key == k)
            return;
    conf.warnings.push_back(core::strprintf("line %u: unknown keyword '%s' ignored", no,
                                            core::truncate_for_log(key, 32).c_str()));
}

void finish_warnings(ResolvConf &conf)
{
    if (!conf.dropped.empty())
        conf.warnings.push_back(
                core::strprintf("more than %zu name servers; ignored: %s", kMaxServers,
                                core::truncate_for_log(
                                        [&] {
                                            std::string all;
                                            for (const std::string &d : conf.dropped) {
                                                if (!all.empty())
                                                    all += ", ";
                                                all += d;
                                            }
                                            return all;
                                        }(),
                                        200)
                                        .c_str()));
}

} // namespace

ResolvConf parse_resolv_conf(std::string_view text)
{
    ResolvConf conf;
    for_each_line(text, [&](unsigned no, std::string_view line) { resolv_line(conf, no, line); });
    finish_warnings(conf);
    return conf;
}

std::vector<IfaceResolv> parse_resolv_auto(std::string_view text)
{
    std::vector<IfaceResolv> out;
    IfaceResolv *cur = nullptr;
    for_each_line(text, [&](unsigned no, std::string_view line) {
        std::string_view rest = line;
        std::string_view first = next_word(rest);
        if (first == "#" || first == "#Interface") {
            std::string_view w = first == "#" ? next_word(rest) : std::string_view("Interface");
            if (w == "Interface") {
                std::string_view name = next_word(rest);
                if (!name.empty() && name.size() <= 64) {
                    cur = &out.emplace_back();
                    cur->iface.assign(name.data(), name.size());
                }
                return;
            }
        }
        if (!cur) {
            if (first.empty() || first[0] == '#' || first[0] == ';')
                return;
            cur = &out.emplace_back();
        }
        resolv_line(cur->conf, no, line);
    });
    for (IfaceResolv &r : out)
        finish_warnings(r.conf);
    return out;
}

bool load_resolv_conf(const std::string &path, ResolvConf &out, std::string *err)
{
    std::string text;
    if (!core::read_file(path, text, kMaxResolvConfBytes, err))
        return false;
    out = parse_resolv_conf(text);
    return true;
}

bool load_resolv_auto(const std::string &path, const std::string &iface, ResolvConf &out,
                      std::string *err)
{
    std::string text;
    if (!core::read_file(path, text, kMaxResolvConfBytes, err))
        return false;
    for (IfaceResolv &r : parse_resolv_auto(text))
        if (r.iface == iface) {
            out = std::move(r.conf);
            return true;
        }
    if (err)
        *err = core::strprintf("%s has no servers for interface %s", path.c_str(), iface.c_str());
    return false;
}

// ---------------------------------------------------------------------------

size_t HostsTable::parse(std::string_view text)
{
    entries_.clear();
    warnings_ = 0;
    for_each_line(text, [&](unsigned, std::string_view line) {
        size_t hash = line.find('#');
        if (hash != std::string_view::npos)
            line = line.substr(0, hash);
        if (line.size() > 4 * kMaxLineBytes) {
            warnings_++;
            return;
        }
        std::string_view rest = line;
        std::string_view addr = next_word(rest);
        if (addr.empty())
            return;
        ServerAddr a; // reuses the ADDR%SCOPE parser; the scope is dropped
        if (!parse_addr_scope(addr, a, nullptr)) {
            warnings_++;
            return;
        }
        for (std::string_view n = next_word(rest); !n.empty(); n = next_word(rest)) {
            std::string norm;
            if (normalize_name(n, norm, nullptr))
                entries_.push_back(Entry{std::move(norm), a.addr});
            else
                warnings_++;
        }
    });
    return entries_.size();
}

bool HostsTable::load(const std::string &path, std::string *err)
{
    std::string text;
    if (!core::read_file(path, text, kMaxHostsBytes, err))
        return false;
    parse(text);
    return true;
}

size_t HostsTable::lookup(std::string_view name, bool want_v4, bool want_v6, AddrList &out) const
{
    std::string norm;
    if (!normalize_name(name, norm, nullptr))
        return 0;
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        bool v4 = pass == 0;
        if (v4 ? !want_v4 : !want_v6)
            continue;
        for (const Entry &e : entries_)
            if (e.addr.is_v4() == v4 && e.name == norm) {
                bool dup = false;
                for (size_t i = out.size() - n; i < out.size(); i++)
                    dup = dup || out[i] == e.addr;
                if (!dup) {
                    out.push_back(e.addr);
                    n++;
                }
            }
    }
    return n;
}

// ---------------------------------------------------------------------------

bool normalize_name(std::string_view name, std::string &out, std::string *err)
{
    auto fail = [&](const char *why) {
        if (err)
            *err = core::strprintf("invalid host name '%s': %s",
                                   core::truncate_for_log(name, 80).c_str(), why);
        return false;
    };
    std::string_view n = name;
    if (!n.empty() && n.back() == '.')
        n.remove_suffix(1);
    if (n.empty())
        return fail("empty");
    if (n.size() > 253)
        return fail("longer than 253 characters");
    std::string norm;
    norm.reserve(n.size());
    size_t label = 0;
    for (char c : n) {
        if (c == '.') {
            if (label == 0)
                return fail("empty label");
            label = 0;
            norm += c;
            continue;
        }
        if (++label > 63)
            return fail("label longer than 63 characters");
        if (c >= 'A' && c <= 'Z')
            c = char(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return fail("only letters, digits, '-' and '_' are allowed");
        norm += c;
    }
    if (label == 0)
        return fail("empty label"); // "a.." (one trailing dot was removed above)
    out = std::move(norm);
    return true;
}

} // namespace dns
