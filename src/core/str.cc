#include "core/str.h"

#include <cstdarg>
#include <cstdio>
#include <strings.h>

namespace core {

std::string_view trim(std::string_view s)
{
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
        b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
        e--;
    return s.substr(b, e - b);
}

std::vector<std::string> split_words(std::string_view s)
{
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
            i++;
        size_t b = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n')
            i++;
        if (i > b)
            out.emplace_back(s.substr(b, i - b));
    }
    return out;
}

bool starts_with(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix)
{
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool parse_u64(std::string_view s, uint64_t &out)
{
    if (s.empty() || s.size() > 20)
        return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        uint64_t d = uint64_t(c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

bool parse_i64(std::string_view s, int64_t &out)
{
    bool neg = !s.empty() && s[0] == '-';
    uint64_t v;
    if (!parse_u64(neg ? s.substr(1) : s, v))
        return false;
    if (neg ? v > uint64_t(INT64_MAX) + 1 : v > uint64_t(INT64_MAX))
        return false;
    out = neg ? int64_t(0 - v) : int64_t(v);
    return true;
}

bool parse_decimal(std::string_view s, double &out)
{
    size_t dot = s.find('.');
    uint64_t ip = 0;
    if (!parse_u64(s.substr(0, dot), ip))
        return false;
    double v = double(ip);
    if (dot != std::string_view::npos) {
        std::string_view frac = s.substr(dot + 1);
        if (frac.empty() || frac.size() > 9)
            return false;
        double scale = 0.1;
        for (char c : frac) {
            if (c < '0' || c > '9')
                return false;
            v += (c - '0') * scale;
            scale /= 10;
        }
    }
    out = v;
    return true;
}

bool parse_uci_bool(std::string_view s, bool &out)
{
    static const char *const yes[] = {"1", "yes", "on", "true", "enabled"};
    static const char *const no[] = {"0", "no", "off", "false", "disabled"};
    std::string v(s);
    for (const char *y : yes)
        if (strcasecmp(v.c_str(), y) == 0) {
            out = true;
            return true;
        }
    for (const char *n : no)
        if (strcasecmp(v.c_str(), n) == 0) {
            out = false;
            return true;
        }
    return false;
}

std::string strprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[256];
    int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return std::string();
    if (size_t(n) < sizeof(buf))
        return std::string(buf, size_t(n));
    std::string out(size_t(n), '\0');
    va_start(ap, fmt);
    std::vsnprintf(&out[0], size_t(n) + 1, fmt, ap);
    va_end(ap);
    return out;
}

std::string truncate_for_log(std::string_view s, size_t max_bytes)
{
    if (s.size() <= max_bytes)
        return std::string(s);
    size_t cut = max_bytes;
    // Step back over UTF-8 continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80)
        cut--;
    return strprintf("%.*s... (%zu bytes)", int(cut), s.data(), s.size());
}

} // namespace core
