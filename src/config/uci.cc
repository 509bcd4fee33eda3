#include "config/uci.h"

#include "core/files.h"
#include "core/str.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace cfg {

namespace {

// isspace() in the "C" locale, without the locale.
bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// libuci uci_validate_type: any printable ASCII but space.
bool valid_type(std::string_view s)
{
    if (s.empty())
        return false;
    for (char c : s)
        if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126)
            return false;
    return true;
}

// libuci uci_validate_package: a name that may also contain '-'.
bool valid_package(std::string_view s)
{
    if (s.empty())
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    return true;
}

// The parser mirrors libuci's line buffer on the contiguous text: [.., end_) has been
// "fetched" (whole lines, each ending after its '\n'); lim_ <= end_ is where the buffer
// logically ends (a '#' cuts it, like libuci writing a NUL there). pos_ only moves
// forward, so the parse is linear in the input.
class Parser {
public:
    Parser(std::string_view t, const std::string &path, UciPackage &pkg, std::vector<Diag> &errors,
           const UciLimits &lim)
        : t_(t), path_(path), pkg_(pkg), errors_(errors), lim_cfg_(lim)
    {}

    bool run();

private:
    char cur() const { return pos_ < lim_ ? t_[pos_] : '\0'; }
    char at(size_t i) const { return i < lim_ ? t_[i] : '\0'; }
    void skip_ws()
    {
        while (pos_ < lim_ && is_space(t_[pos_]))
            pos_++;
    }
    bool fetch();
    bool backslash();
    void add(std::string &out);
    bool single_quote(std::string &out);
    bool double_quote(std::string &out);
    bool parse_str(std::string &out);
    bool next_arg(std::string &out);
    bool assert_eol(int line);
    void parse_line();
    bool stmt_package(int line);
    bool stmt_config(int line);
    bool stmt_option(int line, bool list);
    void error(int line, std::string_view message, std::string_view option = {},
               std::string_view value = {});
    // A bad token: |fmt| has one %s for the token, shown with printable_value(); the
    // token is the Diag's value (and its option when |is_option|).
    void bad_token(int line, const char *fmt, std::string_view token, bool is_option = false)
            __attribute__((format(printf, 3, 0)));

    std::string_view t_;
    const std::string &path_;
    UciPackage &pkg_;
    std::vector<Diag> &errors_;
    const UciLimits &lim_cfg_;
    size_t pos_ = 0, lim_ = 0, end_ = 0;
    int line_ = 0; // line number of the last fetched line
    long cur_sec_ = -1;
    bool skip_options_ = false; // after a broken `config`: its options are not reported
    bool too_long_ = false;
    size_t nerrors_ = 0;
};

void Parser::error(int line, std::string_view message, std::string_view option,
                   std::string_view value)
{
    Diag d;
    d.file = path_;
    d.line = line;
    if (cur_sec_ >= 0)
        d.section = pkg_.sections[size_t(cur_sec_)].label();
    d.option = option;
    d.value = value;
    d.message = message;
    errors_.push_back(std::move(d));
    nerrors_++;
}

void Parser::bad_token(int line, const char *fmt, std::string_view token, bool is_option)
{
    error(line, core::strprintf(fmt, printable_value(token).c_str()),
          is_option ? token : std::string_view(), token);
}

// uci_getln: appends the next line to the buffer. Only valid once the buffer is used up.
bool Parser::fetch()
{
    if (pos_ != end_ || end_ >= t_.size())
        return false;
    size_t nl = t_.find('\n', end_);
    end_ = lim_ = nl == std::string_view::npos ? t_.size() : nl + 1;
    line_++;
    return true;
}

// parse_backslash: true if the escaped character is to be taken literally; false if the
// backslash ended the line and the next line was joined.
bool Parser::backslash()
{
    pos_++;
    char c = cur();
    if (c == '\0' || c == '\n' || (c == '\r' && at(pos_ + 1) == '\n' && at(pos_ + 2) == '\0')) {
        pos_ += c == '\n' ? 1 : c == '\r' ? 2 : 0;
        fetch();
        return false;
    }
    return true;
}

void Parser::add(std::string &out)
{
    if (out.size() < lim_cfg_.max_value_bytes)
        out.push_back(t_[pos_]);
    else
        too_long_ = true;
    pos_++;
}

bool Parser::single_quote(std::string &out)
{
    int open_line = line_;
    pos_++;
    for (;;) {
        char c = cur();
        if (c == '\'') {
            pos_++;
            return true;
        }
        if (c == '\0') {
            if (!fetch()) {
                error(open_line, "unterminated quote: the ' opened on this line is never closed");
                return false;
            }
            continue;
        }
        add(out);
    }
}

bool Parser::double_quote(std::string &out)
{
    int open_line = line_;
    pos_++;
    for (;;) {
        char c = cur();
        if (c == '"') {
            pos_++;
            return true;
        }
        if (c == '\0') {
            if (!fetch()) {
                error(open_line, "unterminated quote: the \" opened on this line is never closed");
                return false;
            }
            continue;
        }
        if (c == '\\' && !backslash())
            continue;
        add(out);
    }
}

// parse_str: one token, made of unquoted, '…' and "…" parts up to unquoted whitespace,
// ';' (statement separator, left in place for next_arg) or '#' (rest of line is a comment).
bool Parser::parse_str(std::string &out)
{
    bool next = true;
    too_long_ = false;
    int line = line_;
    do {
        char c = cur();
        if (c == '\'') {
            if (!single_quote(out))
                return false;
        } else if (c == '"') {
            if (!double_quote(out))
                return false;
        } else if (c == '#') {
            lim_ = pos_;
            break;
        } else if (c == '\0') {
            break;
        } else if (c == ';') {
            next = false;
            break;
        } else if (c == '\\') {
            if (!backslash())
                continue;
            add(out);
        } else {
            add(out);
        }
    } while (cur() != '\0' && !is_space(cur()));
    if (cur() != '\0' && next)
        pos_++;
    if (too_long_) {
        error(line,
              core::strprintf("value too long (more than %zu bytes)", lim_cfg_.max_value_bytes));
        return false;
    }
    return true;
}

bool Parser::next_arg(std::string &out)
{
    out.clear();
    skip_ws();
    if (cur() == ';') {
        pos_++;
        return true;
    }
    return parse_str(out);
}

bool Parser::assert_eol(int line)
{
    std::string extra;
    skip_ws();
    if (cur() != '\0')
        line = line_; // the statement may have run over several lines
    if (!next_arg(extra))
        return false;
    if (!extra.empty()) {
        bad_token(line, "too many arguments: unexpected '%s' (quote a value that contains spaces)",
                  extra);
        return false;
    }
    return true;
}

bool Parser::stmt_package(int line)
{
    std::string name;
    if (!next_arg(name))
        return false;
    if (name.empty()) {
        error(line, "'package' without a name");
        return false;
    }
    if (!valid_package(name)) {
        bad_token(line, "invalid package name '%s'", name);
        return false;
    }
    // Inside a file loaded by name the statement only has to be valid (libuci "single").
    return assert_eol(line);
}

bool Parser::stmt_config(int line)
{
    cur_sec_ = -1;
    skip_options_ = true;
    std::string type, name;
    if (!next_arg(type))
        return false;
    if (type.empty()) {
        error(line, "'config' without a section type");
        return false;
    }
    if (!valid_type(type)) {
        bad_token(line, "invalid section type '%s' (printable characters, no spaces)", type);
        return false;
    }
    if (!next_arg(name))
        return false;
    if (!name.empty() && !uci_valid_name(name)) {
        bad_token(line, "invalid section name '%s' (letters, digits and '_' only)", name);
        return false;
    }
    if (!assert_eol(line))
        return false;

    auto &secs = pkg_.sections;
    if (!name.empty()) {
        for (size_t i = 0; i < secs.size(); i++) {
            if (secs[i].name != name)
                continue;
            if (secs[i].type != type) {
                error(line,
                      core::strprintf("section '%s' redeclared with type '%s' (it has type "
                                      "'%s' since line %d)",
                                      name.c_str(), printable_value(type).c_str(),
                                      secs[i].type.c_str(), secs[i].line),
                      {}, type);
                return false;
            }
            cur_sec_ = long(i); // libuci reopens it: later options merge
            skip_options_ = false;
            return true;
        }
    }
    if (secs.size() >= lim_cfg_.max_sections) {
        error(line, core::strprintf("too many sections (limit %zu)", lim_cfg_.max_sections));
        return false;
    }
    UciSection s;
    s.type = std::move(type);
    s.line = line;
    if (name.empty()) {
        s.anonymous = true;
        s.name = uci_anonymous_name(unsigned(secs.size() + 1), s.type);
    } else {
        s.name = std::move(name);
    }
    secs.push_back(std::move(s));
    cur_sec_ = long(secs.size() - 1);
    skip_options_ = false;
    return true;
}

bool Parser::stmt_option(int line, bool list)
{
    const char *kw = list ? "list" : "option";
    if (cur_sec_ < 0) {
        if (!skip_options_)
            error(line, core::strprintf("expected 'config' before '%s'", kw));
        return false;
    }
    std::string name, value;
    if (!next_arg(name))
        return false;
    if (name.empty()) {
        error(line, core::strprintf("'%s' without a name", kw));
        return false;
    }
    if (!uci_valid_name(name)) {
        bad_token(line, "invalid option name '%s' (letters, digits and '_' only)", name, true);
        return false;
    }
    if (!next_arg(value) || !assert_eol(line))
        return false;

    UciSection &sec = pkg_.sections[size_t(cur_sec_)];
    UciOption *o = nullptr;
    size_t idx = 0;
    for (; idx < sec.options.size(); idx++)
        if (sec.options[idx].name == name) {
            o = &sec.options[idx];
            break;
        }
    if (!list && value.empty())
        return true; // uci_set with an empty value while parsing: nothing happens
    if (o && list && o->is_list) {
        if (o->values.size() >= lim_cfg_.max_list_values) {
            error(line,
                  core::strprintf("too many values in list '%s' (limit %zu)", name.c_str(),
                                  lim_cfg_.max_list_values),
                  name);
            return false;
        }
        o->values.push_back(std::move(value));
        o->lines.push_back(line);
        return true;
    }
    if (o && !list && !o->is_list && o->values[0] == value)
        return true; // same value: libuci keeps the option where it is
    UciOption n;
    n.name = std::move(name);
    n.is_list = list;
    n.line = line;
    if (o && list) { // string option becomes a list, old value first
        n.values.push_back(std::move(o->values[0]));
        n.lines.push_back(o->lines[0]);
        n.line = o->line;
    }
    n.values.push_back(std::move(value));
    n.lines.push_back(line);
    if (o) {
        // libuci frees the old option and appends the new one at the end.
        sec.options.erase(sec.options.begin() + long(idx));
    } else if (sec.options.size() >= lim_cfg_.max_options) {
        error(line,
              core::strprintf("too many options in one section (limit %zu)", lim_cfg_.max_options),
              n.name);
        return false;
    }
    sec.options.push_back(std::move(n));
    return true;
}

void Parser::parse_line()
{
    for (;;) {
        skip_ws();
        if (cur() == '\0')
            return;
        size_t b = pos_;
        while (cur() != '\0' && !is_space(cur()))
            pos_++;
        std::string_view word = t_.substr(b, pos_ - b);
        if (word[0] == '#')
            return;
        if (cur() != '\0')
            pos_++;
        int line = line_;
        bool ok;
        if (word == "config" || word == "c")
            ok = stmt_config(line);
        else if (word == "option" || word == "o")
            ok = stmt_option(line, false);
        else if (word == "list" || word == "l")
            ok = stmt_option(line, true);
        else if (word == "package" || word == "p")
            ok = stmt_package(line);
        else {
            bad_token(line, "unknown statement '%s' (expected config, option, list or package)",
                      word);
            ok = false;
        }
        if (!ok)
            return;
    }
}

bool Parser::run()
{
    if (t_.size() > lim_cfg_.max_file_bytes) {
        error(0, core::strprintf("file too large (%zu bytes, limit %zu)", t_.size(),
                                 lim_cfg_.max_file_bytes));
        return false;
    }
    size_t nul = t_.find('\0');
    if (nul != std::string_view::npos) {
        int line = 1;
        for (size_t i = 0; i < nul; i++)
            line += t_[i] == '\n';
        error(line, "NUL byte in file (not a text file)");
        return false;
    }
    while (end_ < t_.size()) {
        pos_ = end_;
        fetch();
        parse_line();
    }
    return nerrors_ == 0;
}

} // namespace

std::string UciOption::joined() const
{
    std::string out;
    for (size_t i = 0; i < values.size(); i++) {
        if (i)
            out += ' ';
        out += values[i];
    }
    return out;
}

const UciOption *UciSection::find(std::string_view option) const
{
    for (const UciOption &o : options)
        if (o.name == option)
            return &o;
    return nullptr;
}

std::string UciSection::label() const
{
    std::string s = type + " '" + name + "'";
    if (anonymous)
        s += " (anonymous)";
    return s;
}

const UciSection *UciPackage::find(std::string_view section) const
{
    for (const UciSection &s : sections)
        if (s.name == section)
            return &s;
    return nullptr;
}

const UciSection *UciPackage::find(std::string_view type, std::string_view section) const
{
    const UciSection *s = find(section);
    return s && s->type == type ? s : nullptr;
}

bool parse_uci(std::string_view text, const std::string &path, UciPackage &out,
               std::vector<Diag> &errors, const UciLimits &limits)
{
    out.path = path;
    out.sections.clear();
    Parser p(text, path, out, errors, limits);
    return p.run();
}

bool read_uci_file(const std::string &path, UciPackage &out, std::vector<Diag> &errors,
                   bool *missing, const UciLimits &limits)
{
    if (missing)
        *missing = false;
    struct stat st;
    std::string text, err;
    if (stat(path.c_str(), &st) != 0) {
        int e = errno;
        if (e == ENOENT && missing)
            *missing = true;
        err = e == ENOENT ? std::string("file not found")
                          : core::strprintf("cannot read: %s", strerror(e));
    } else if (!S_ISREG(st.st_mode)) {
        err = "not a regular file";
    } else if (core::read_file(path, text, limits.max_file_bytes, &err)) {
        return parse_uci(text, path, out, errors, limits);
    }
    out.path = path;
    out.sections.clear();
    Diag d;
    d.file = path;
    d.message = std::move(err);
    errors.push_back(std::move(d));
    return false;
}

std::string uci_anonymous_name(unsigned index, std::string_view type)
{
    // libuci list.c djbhash() over the type; types are printable ASCII, so the result does
    // not depend on the signedness of char.
    uint32_t h = 5381;
    for (char c : type)
        h = (h << 5) + h + uint32_t(static_cast<unsigned char>(c));
    return core::strprintf("cfg%02x%04x", index, unsigned(h & 0xffff));
}

bool uci_valid_name(std::string_view s)
{
    if (s.empty())
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    return true;
}

std::string uci_quote(std::string_view v)
{
    std::string out = "'";
    for (char c : v) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += '\'';
    return out;
}

std::string printable_value(std::string_view v)
{
    std::string out;
    for (char c : v) {
        unsigned char u = static_cast<unsigned char>(c);
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (u < 32 || u == 127)
            out += core::strprintf("\\x%02x", u);
        else
            out += c;
        if (out.size() > 200)
            break;
    }
    return core::truncate_for_log(out, 64);
}

} // namespace cfg
