// The option schema of /etc/config/omr-tracker (reference §2.1–§2.4, plus our `daemon`
// section): one table row per option and section kind with its type, range, default and
// whether omr-trackerd uses it, bound to the field of the struct it fills (STYLE.md §14).
// Pure: no I/O. config.cc drives it; tests walk it.
#pragma once

#include "config/config.h"
#include "config/uci.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cfg {

// Section kinds an option applies to (bit mask).
enum : uint8_t {
    K_DEFAULTS = 1,  // omr-tracker.defaults
    K_INTERFACE = 2, // omr-tracker.IFACE (type interface)
    K_SERVER = 4,    // omr-tracker.server (server tracker)
    K_PROXY = 8,     // omr-tracker.proxy (ss/v2ray/xray trackers: validated, not run by us)
    K_GRE = 16,      // omr-tracker.gre (GRE tracker: validated, not run by us)
    K_DAEMON = 32,   // omr-tracker.daemon (omr-trackerd itself)
};
constexpr uint8_t K_TRACKER = K_DEFAULTS | K_INTERFACE;

const char *kind_name(uint8_t kind); // "defaults", "interface", ...

enum class VType : uint8_t {
    uint,        // decimal integer min..max
    boolean,     // UCI boolean (core::parse_uci_bool)
    enumeration, // one of |names|
    string,      // any text
    hosts4,      // hosts: IPv4 literals or host names; list, or words of an option
    hosts6,      // hosts6: IPv6 literals or host names
    hosts_any,   // openmptcprouter server ip: either family or names
    path,        // absolute path
};

// What omr-trackerd does with an option.
enum class Use : uint8_t {
    live,   // drives the daemon
    hooks,  // carried for OMR's hooks / alerts, not used by the probing itself
    unused, // accepted because the shell tracker accepted it; never had an effect
};

enum : uint8_t {
    F_NO_MERGE = 1, // server tracker: read from `server` only, never from `defaults`
};

// The field an option fills: a tagged member pointer (no RTTI, no std::function).
struct Bind {
    enum Kind : uint8_t {
        none,
        tr_uint,
        tr_bool,
        tr_str,
        tr_list,
        tr_probe,
        tr_family,
        srv_uint,
        srv_bool,
        srv_check,
        dm_str,
        dm_uint,
        dm_bool,
    };
    union Ptr {
        constexpr Ptr() : tu(nullptr) {}
        constexpr Ptr(unsigned TrackerOptions::*m) : tu(m) {}
        constexpr Ptr(bool TrackerOptions::*m) : tb(m) {}
        constexpr Ptr(std::string TrackerOptions::*m) : ts(m) {}
        constexpr Ptr(std::vector<std::string> TrackerOptions::*m) : tl(m) {}
        constexpr Ptr(ProbeType TrackerOptions::*m) : tp(m) {}
        constexpr Ptr(Family TrackerOptions::*m) : tf(m) {}
        constexpr Ptr(unsigned ServerTrackerOptions::*m) : su(m) {}
        constexpr Ptr(bool ServerTrackerOptions::*m) : sb(m) {}
        constexpr Ptr(ServerCheck ServerTrackerOptions::*m) : sc(m) {}
        constexpr Ptr(std::string DaemonOptions::*m) : ds(m) {}
        constexpr Ptr(unsigned DaemonOptions::*m) : du(m) {}
        constexpr Ptr(bool DaemonOptions::*m) : db(m) {}
        unsigned TrackerOptions::*tu;
        bool TrackerOptions::*tb;
        std::string TrackerOptions::*ts;
        std::vector<std::string> TrackerOptions::*tl;
        ProbeType TrackerOptions::*tp;
        Family TrackerOptions::*tf;
        unsigned ServerTrackerOptions::*su;
        bool ServerTrackerOptions::*sb;
        ServerCheck ServerTrackerOptions::*sc;
        std::string DaemonOptions::*ds;
        unsigned DaemonOptions::*du;
        bool DaemonOptions::*db;
    };
    Kind kind;
    Ptr p;

    constexpr Bind() : kind(none), p() {}
    template <class M>
    constexpr Bind(M m) : kind(kind_of(m)), p(m)
    {}

private:
    static constexpr Kind kind_of(unsigned TrackerOptions::*) { return tr_uint; }
    static constexpr Kind kind_of(bool TrackerOptions::*) { return tr_bool; }
    static constexpr Kind kind_of(std::string TrackerOptions::*) { return tr_str; }
    static constexpr Kind kind_of(std::vector<std::string> TrackerOptions::*) { return tr_list; }
    static constexpr Kind kind_of(ProbeType TrackerOptions::*) { return tr_probe; }
    static constexpr Kind kind_of(Family TrackerOptions::*) { return tr_family; }
    static constexpr Kind kind_of(unsigned ServerTrackerOptions::*) { return srv_uint; }
    static constexpr Kind kind_of(bool ServerTrackerOptions::*) { return srv_bool; }
    static constexpr Kind kind_of(ServerCheck ServerTrackerOptions::*) { return srv_check; }
    static constexpr Kind kind_of(std::string DaemonOptions::*) { return dm_str; }
    static constexpr Kind kind_of(unsigned DaemonOptions::*) { return dm_uint; }
    static constexpr Kind kind_of(bool DaemonOptions::*) { return dm_bool; }
};

struct OptionSpec {
    const char *name;
    uint8_t kinds;
    VType type;
    Use use;
    uint8_t flags;
    uint32_t min, max;        // VType::uint
    const char *unit;         // "seconds", "ms", "%", ...; nullptr: a plain count
    const char *const *names; // VType::enumeration, nullptr-terminated
    const char *def;          // default as UCI text; nullptr: empty, or derived (config.cc)
    Bind bind;
};

// Upper bound on the number of rows (bit sets of "options set" are this wide).
constexpr size_t kMaxSchemaRows = 128;

// The whole table, in reference order.
const OptionSpec *schema_table(size_t &count);
// The row for |name| in a section of kind |kind| (one K_* bit), or nullptr.
const OptionSpec *find_spec(std::string_view name, uint8_t kind);
// Index of |s| in the table (for "was this option set" bit sets).
size_t spec_index(const OptionSpec &s);
// True if some kind knows |name| (to word the unknown-option warning).
bool name_in_schema(std::string_view name);
// "an integer 1..100", "one of: none, ping, ...", ... (used in every message).
std::string describe_expected(const OptionSpec &s);

struct Value {
    uint32_t u = 0;
    bool b = false;
    uint8_t e = 0;
    std::string s; // string, path, enumeration name
    std::vector<std::string> list;
};

// Where parse problems go: |diags| may be null (silent), |warning| marks them as warnings,
// |suffix| is appended to each message (e.g. "; ignored").
struct DiagSink {
    const std::string *file = nullptr;
    std::string section;
    std::vector<Diag> *diags = nullptr;
    bool warning = false;
    const char *suffix = "";
};

enum class Parse { set, empty, invalid };
// Checks one UCI option against its row. empty: no value (UCI's "unset": the merge keeps
// the earlier value); invalid: one Diag per problem went to |sink|.
Parse parse_value(const OptionSpec &s, const UciOption &o, const DiagSink &sink, Value &v);
// Same for a bare text (table defaults, tests).
Parse parse_text(const OptionSpec &s, std::string_view text, Value &v);

struct Target {
    TrackerOptions *tr = nullptr;
    ServerTrackerOptions *srv = nullptr;
    DaemonOptions *dm = nullptr;
};
// Writes |v| into the field |s| is bound to, if that struct is in |t|.
void store(const OptionSpec &s, const Value &v, const Target &t);
// The current value of that field as UCI values (one, or the items of a list); false if
// |s| has no field in |t|.
bool current_values(const OptionSpec &s, const Target &t, std::vector<std::string> &out);
// Applies every table default of kind |kind| to |t|.
void apply_table_defaults(uint8_t kind, const Target &t);

enum class HostKind { invalid, ipv4, ipv6, name };
// An IPv4 literal (dotted quad), an IPv6 literal (no zone), or an RFC 1123 host name
// (labels of 1..63 letters, digits and '-', not starting or ending with '-', at most 253
// characters, a trailing dot allowed, last label not all digits).
HostKind classify_host(std::string_view s);

extern const char *const kProbeTypeNames[];
extern const char *const kFamilyNames[];
extern const char *const kServerCheckNames[];
extern const char *const kLogLevelNames[];

} // namespace cfg
