#include "api/pins.h"

#include "api/token.h"
#include "core/files.h"
#include "core/str.h"

#include <cerrno>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <sys/stat.h>

namespace api {

namespace {

int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool parse_hex_pin(std::string_view s, Pin &out)
{
    size_t n = 0;
    int hi = -1;
    for (char c : s) {
        if (c == ':' && hi < 0)
            continue;
        int v = hexval(c);
        if (v < 0 || n >= out.size())
            return false;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = uint8_t(hi << 4 | v);
            hi = -1;
        }
    }
    return n == out.size() && hi < 0;
}

} // namespace

bool parse_pin(std::string_view s, Pin &out)
{
    s = core::trim(s);
    if (core::starts_with(s, "sha256//")) {
        std::string raw;
        if (!base64_decode(s.substr(8), raw) || raw.size() != out.size())
            return false;
        for (size_t i = 0; i < out.size(); i++)
            out[i] = uint8_t(raw[i]);
        return true;
    }
    if (core::starts_with(s, "sha256:"))
        s.remove_prefix(7);
    return parse_hex_pin(s, out);
}

std::string pin_to_string(const Pin &p)
{
    static const char hex[] = "0123456789abcdef";
    std::string s = "sha256:";
    for (uint8_t b : p) {
        s.push_back(hex[b >> 4]);
        s.push_back(hex[b & 15]);
    }
    return s;
}

Pin pin_of_spki(const uint8_t *der, size_t len)
{
    Pin p{};
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)mbedtls_sha256(der, len, p.data(), 0);
#else
    (void)mbedtls_sha256_ret(der, len, p.data(), 0);
#endif
    return p;
}

bool PinStore::valid_name(std::string_view name)
{
    if (name.empty() || name.size() > 128)
        return false;
    for (char c : name) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.' || c == ':';
        if (!ok)
            return false;
    }
    return true;
}

bool PinStore::load(std::string *err)
{
    entries_.clear();
    usable_ = true;
    problem_.clear();
    if (path_.empty())
        return true;
    struct stat st;
    if (stat(path_.c_str(), &st) < 0 && errno == ENOENT)
        return true;
    std::string text;
    std::string rerr;
    if (!core::read_file(path_, text, kMaxFileBytes, &rerr)) {
        usable_ = false;
        problem_ = rerr;
        if (err)
            *err = problem_;
        return false;
    }
    int lineno = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line(text.data() + pos,
                              (nl == std::string::npos ? text.size() : nl) - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        lineno++;
        line = core::trim(line);
        if (line.empty() || line[0] == '#')
            continue;
        std::vector<std::string> w = core::split_words(line);
        Pin pin;
        const char *why = nullptr;
        if (w.size() != 2)
            why = "expected 'NAME sha256:HEX'";
        else if (!valid_name(w[0]))
            why = "bad server name";
        else if (!parse_pin(w[1], pin))
            why = "bad pin";
        else if (find(w[0]))
            why = "duplicate server name";
        else if (entries_.size() >= kMaxEntries)
            why = "too many pins";
        if (why) {
            usable_ = false;
            problem_ = core::strprintf("%s:%d: %s", path_.c_str(), lineno, why);
            continue;
        }
        entries_.push_back(Entry{w[0], pin});
    }
    if (!usable_ && err)
        *err = problem_;
    return usable_;
}

const Pin *PinStore::find(std::string_view name) const
{
    for (const Entry &e : entries_)
        if (e.name == name)
            return &e.pin;
    return nullptr;
}

bool PinStore::save(std::string *err)
{
    if (path_.empty())
        return true;
    std::string text = "# omr-trackerd: SHA-256 of each VPS's TLS public key, trusted on first "
                       "use.\n# Delete a line to accept a new key for that server.\n";
    for (const Entry &e : entries_) {
        text += e.name;
        text += ' ';
        text += pin_to_string(e.pin);
        text += '\n';
    }
    return core::write_file_atomic(path_, text, 0600, err);
}

bool PinStore::remember(std::string_view name, const Pin &pin, std::string *err)
{
    if (!usable_) {
        if (err)
            *err = core::strprintf("pin store unusable: %s", problem_.c_str());
        return false;
    }
    if (!valid_name(name)) {
        if (err)
            *err = "bad server name for a pin";
        return false;
    }
    if (const Pin *old = find(name)) {
        if (*old == pin)
            return true;
        if (err)
            *err = "a different pin is already stored";
        return false;
    }
    if (entries_.size() >= kMaxEntries) {
        if (err)
            *err = "too many pins";
        return false;
    }
    entries_.push_back(Entry{std::string(name), pin});
    return save(err);
}

bool PinStore::forget(std::string_view name, std::string *err)
{
    for (size_t i = 0; i < entries_.size(); i++) {
        if (entries_[i].name == name) {
            entries_.erase(entries_.begin() + long(i));
            if (usable_)
                (void)save(err);
            return true;
        }
    }
    return false;
}

} // namespace api
