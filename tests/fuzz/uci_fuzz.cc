// Fuzz target: the UCI reader (cfg::parse_uci), which reads /etc/config files that other
// software (LuCI, uci-defaults scripts, the user) writes.
//
// Properties checked on every input, besides memory safety:
//  - the limits hold (sections, options per section, values per list, value bytes);
//  - every section and option name is valid, every plain option has exactly one value;
//  - round trip: a package that parsed without error, written back in UCI syntax with
//    uci_quote(), parses again without error into the same sections, options and values.
// The input is parsed twice: with the daemon's limits and with tiny ones, so the paths
// that reject oversized input are reached with small inputs too.
#include "config/uci.h"
#include "fuzz_util.h"

#include <string>
#include <vector>

namespace {

void check_limits(const cfg::UciPackage &pkg, const cfg::UciLimits &lim)
{
    FUZZ_CHECK(pkg.sections.size() <= lim.max_sections);
    for (const cfg::UciSection &s : pkg.sections) {
        FUZZ_CHECK(!s.type.empty() && s.type.size() <= lim.max_value_bytes);
        FUZZ_CHECK(cfg::uci_valid_name(s.name));
        FUZZ_CHECK(s.options.size() <= lim.max_options);
        for (const cfg::UciOption &o : s.options) {
            FUZZ_CHECK(cfg::uci_valid_name(o.name));
            FUZZ_CHECK(o.values.size() == o.lines.size());
            FUZZ_CHECK(o.is_list ? o.values.size() <= lim.max_list_values : o.values.size() == 1);
            for (const std::string &v : o.values)
                FUZZ_CHECK(v.size() <= lim.max_value_bytes);
            FUZZ_CHECK(s.find(o.name) == &o);
        }
        // An anonymous section's generated name may equal an explicit name given before
        // (libuci does not check either): lookups find the first one.
        const cfg::UciSection *first = pkg.find(s.name);
        FUZZ_CHECK(first && first <= &s && (first == &s || s.anonymous || first->anonymous));
    }
}

std::string write_back(const cfg::UciPackage &pkg)
{
    std::string out;
    for (const cfg::UciSection &s : pkg.sections) {
        out += "config " + cfg::uci_quote(s.type);
        if (!s.anonymous)
            out += " " + cfg::uci_quote(s.name);
        out += "\n";
        for (const cfg::UciOption &o : s.options)
            for (const std::string &v : o.values)
                out += std::string(o.is_list ? "\tlist " : "\toption ") + o.name + " " +
                       cfg::uci_quote(v) + "\n";
        out += "\n";
    }
    return out;
}

void check_round_trip(const cfg::UciPackage &a)
{
    std::string text = write_back(a);
    cfg::UciPackage b;
    std::vector<cfg::Diag> errors;
    cfg::UciLimits big;
    big.max_value_bytes = 1 << 20;
    big.max_file_bytes = 64 << 20;
    bool ok = cfg::parse_uci(text, "roundtrip", b, errors, big);
    if (!ok)
        std::fprintf(stderr, "round trip failed: %s\n--- text:\n%s\n",
                     errors.empty() ? "?" : errors[0].format().c_str(), text.c_str());
    FUZZ_CHECK(ok);
    FUZZ_CHECK(a.sections.size() == b.sections.size());
    for (size_t i = 0; i < a.sections.size(); i++) {
        const cfg::UciSection &x = a.sections[i], &y = b.sections[i];
        FUZZ_CHECK(x.type == y.type);
        FUZZ_CHECK(x.anonymous == y.anonymous);
        if (!x.anonymous)
            FUZZ_CHECK(x.name == y.name);
        FUZZ_CHECK(x.options.size() == y.options.size());
        for (size_t j = 0; j < x.options.size(); j++) {
            FUZZ_CHECK(x.options[j].name == y.options[j].name);
            FUZZ_CHECK(x.options[j].is_list == y.options[j].is_list);
            FUZZ_CHECK(x.options[j].values == y.options[j].values);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view text(reinterpret_cast<const char *>(data), size);

    cfg::UciLimits normal;
    cfg::UciPackage pkg;
    std::vector<cfg::Diag> errors;
    bool ok = cfg::parse_uci(text, "/etc/config/fuzz", pkg, errors, normal);
    FUZZ_CHECK(ok == errors.empty());
    check_limits(pkg, normal);
    for (const cfg::Diag &d : errors) {
        FUZZ_CHECK(!d.message.empty());
        (void)d.format();
    }
    for (const cfg::UciSection &s : pkg.sections) {
        (void)s.label();
        for (const cfg::UciOption &o : s.options)
            (void)cfg::printable_value(o.joined());
    }
    if (ok)
        check_round_trip(pkg);

    cfg::UciLimits tiny;
    tiny.max_file_bytes = 512;
    tiny.max_value_bytes = 16;
    tiny.max_sections = 4;
    tiny.max_options = 4;
    tiny.max_list_values = 4;
    cfg::UciPackage small;
    errors.clear();
    ok = cfg::parse_uci(text, "/etc/config/fuzz", small, errors, tiny);
    FUZZ_CHECK(ok == errors.empty());
    check_limits(small, tiny);
    return 0;
}
