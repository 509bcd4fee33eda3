// A reader for OpenWrt's UCI file format (/etc/config/*), without libuci.
//
// It follows libuci's file.c/list.c (parse_str, parse_backslash, uci_parse_config,
// uci_parse_option, uci_set, uci_add_list), strict mode, which is what `uci` and
// /lib/functions.sh use:
//   - statements `package NAME`, `config TYPE [NAME]`, `option NAME VALUE`,
//     `list NAME VALUE` (also abbreviated p/c/o/l), several per line with ';';
//   - '#' starts a comment wherever an unquoted token could continue ("a#b" is "a");
//   - tokens are unquoted, 'single-quoted' (no escapes) or "double-quoted" (backslash
//     takes the next character literally: "\n" is "n"); adjacent parts concatenate
//     ('a'"b"c is abc); a backslash before the end of a line joins the next line, with
//     nothing inserted; a quoted value may span lines and keeps the newlines;
//   - section and option names are [A-Za-z0-9_]; types any printable ASCII but space;
//   - an anonymous section gets libuci's generated name cfgNNHHHH (NN: section count,
//     HHHH: djb hash of the type), so names match `uci show`;
//   - `option X ''` is a no-op (libuci does not create or clear an option with an empty
//     value); a later `option X v` replaces X and moves it last; `list X v` appends, and
//     turns an existing option X into a list whose first item is the old value; an
//     `option` after a `list` of the same name replaces the list;
//   - `config T NAME` for an existing NAME reopens that section (options merge); with a
//     different type it is an error (libuci strict mode);
//   - more arguments than a statement takes is an error ("too many arguments").
// Differences, all on input libuci rejects or never sees: every syntax error is reported
// (libuci stops at the first) and parsing resumes on the next line; a trailing ';' at
// the end of a line is accepted; a NUL byte rejects the file; sizes are bounded
// (UciLimits), so a huge or hostile file is an error, never unbounded memory.
#pragma once

#include "config/config.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cfg {

struct UciLimits {
    size_t max_file_bytes = 1024 * 1024;
    size_t max_value_bytes = 16 * 1024; // one token (name, type or value)
    size_t max_sections = 1024;
    size_t max_options = 256;      // per section
    size_t max_list_values = 1024; // per list
};

struct UciOption {
    std::string name;
    bool is_list = false;
    std::vector<std::string> values; // exactly one for a plain option
    std::vector<int> lines;          // line of each value's statement
    int line = 0;                    // line of the first statement that set it

    // The value of a plain option, or the items of a list joined with single spaces
    // (what /lib/functions.sh's config_get returns).
    std::string joined() const;
};

struct UciSection {
    std::string type;
    std::string name; // generated cfgNNHHHH when anonymous
    bool anonymous = false;
    int line = 0;
    std::vector<UciOption> options;

    const UciOption *find(std::string_view option) const;
    // "interface 'wan1'", or "interface 'cfg01e63d' (anonymous)" — used in messages.
    std::string label() const;
};

struct UciPackage {
    std::string path; // as given; used as Diag::file
    std::vector<UciSection> sections;

    const UciSection *find(std::string_view section) const;
    const UciSection *find(std::string_view type, std::string_view section) const;
};

// Parses |text| into |out| (out.path = |path|). Pure: no I/O, no global state, safe on
// any input (fuzz target). Every syntax error is appended to |errors| with file:line;
// sections and options before and after an error are kept as far as they parsed.
// Returns true when there was no error.
bool parse_uci(std::string_view text, const std::string &path, UciPackage &out,
               std::vector<Diag> &errors, const UciLimits &limits = UciLimits());

// Reads and parses a file. A missing file sets *missing (if given) and adds an error
// (line 0) like any other unreadable file; the caller decides whether that matters.
bool read_uci_file(const std::string &path, UciPackage &out, std::vector<Diag> &errors,
                   bool *missing = nullptr, const UciLimits &limits = UciLimits());

// libuci's generated name of an anonymous section: the |index|-th section of the
// package (1-based, every section counts) of type |type|.
std::string uci_anonymous_name(unsigned index, std::string_view type);

// [A-Za-z0-9_]+ (libuci uci_validate_name).
bool uci_valid_name(std::string_view s);

// A value in UCI syntax, single-quoted as `uci export` writes it ('it'\''s').
std::string uci_quote(std::string_view v);

// A value for a message: control characters escaped, long values shortened.
std::string printable_value(std::string_view v);

} // namespace cfg
