#include "api/token.h"

#include "api/http.h"
#include "core/json.h"
#include "core/str.h"

#include <cmath>

namespace api {

namespace {

int b64_value(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

bool decode(std::string_view in, std::string &out, bool url, bool padding_required)
{
    out.clear();
    size_t pad = 0;
    while (!in.empty() && in.back() == '=' && pad < 2) {
        in.remove_suffix(1);
        pad++;
    }
    if (pad > 0 && (in.size() + pad) % 4 != 0)
        return false;
    if (padding_required && in.size() % 4 != 0 && pad == 0)
        return false;
    if (in.size() % 4 == 1)
        return false; // 6 bits cannot make a byte
    out.reserve(in.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = b64_value(c, url);
        if (v < 0)
            return false;
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char((acc >> bits) & 0xff));
        }
    }
    // RFC 4648 §3.5: the pad bits must be zero (one encoding per value).
    return (acc & ((1u << bits) - 1)) == 0;
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view t)
{
    size_t i = 0;
    for (; i < t.size(); i++) {
        char c = t[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
        if (!ok)
            break;
    }
    if (i == 0)
        return false;
    for (; i < t.size(); i++)
        if (t[i] != '=')
            return false;
    return true;
}

bool iequals_bearer(const std::string &s)
{
    static const char want[] = "bearer";
    if (s.size() != 6)
        return false;
    for (size_t i = 0; i < 6; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = char(c - 'A' + 'a');
        if (c != want[i])
            return false;
    }
    return true;
}

} // namespace

bool base64url_decode(std::string_view in, std::string &out)
{
    return decode(in, out, true, false);
}

bool base64_decode(std::string_view in, std::string &out)
{
    return decode(in, out, false, true);
}

bool parse_token_reply(std::string_view body, std::string &token, std::string *err)
{
    token.clear();
    core::JsonValue v;
    std::string jerr;
    core::JsonLimits lim;
    lim.max_depth = 4;
    lim.max_elements = 64;
    if (!core::json_parse(body, v, &jerr, lim)) {
        if (err)
            *err = core::strprintf("invalid JSON (%s)", jerr.c_str());
        return false;
    }
    if (!v.is_object()) {
        if (err)
            *err = "not a JSON object";
        return false;
    }
    const std::string *t = v.get_string("access_token");
    if (!t) {
        if (err)
            *err = "no access_token";
        return false;
    }
    if (t->size() > kMaxTokenBytes || !is_b64token(*t)) {
        if (err)
            *err = "malformed access_token";
        return false;
    }
    if (const core::JsonValue *tt = v.get("token_type")) {
        if (!tt->is_string() || !iequals_bearer(tt->as_string())) {
            if (err)
                *err = "token_type is not bearer";
            return false;
        }
    }
    token = *t;
    return true;
}

bool jwt_exp(std::string_view token, int64_t &exp_s)
{
    size_t d1 = token.find('.');
    if (d1 == std::string_view::npos)
        return false;
    size_t d2 = token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
        return false;
    std::string payload;
    if (!base64url_decode(token.substr(d1 + 1, d2 - d1 - 1), payload))
        return false;
    core::JsonValue v;
    core::JsonLimits lim;
    lim.max_bytes = 4096;
    lim.max_depth = 4;
    lim.max_elements = 128;
    if (!core::json_parse(payload, v, nullptr, lim) || !v.is_object())
        return false;
    const core::JsonValue *e = v.get("exp");
    if (!e || !e->is_number())
        return false;
    double x = e->as_number();
    // NumericDate: seconds, possibly fractional (RFC 7519 §2); stay far from overflow.
    if (!std::isfinite(x) || x < 0 || x > 1e12)
        return false;
    exp_s = int64_t(x);
    return true;
}

int64_t token_usable_us(std::string_view token, omrt::WallUs now_wall_us)
{
    constexpr int64_t kMaxMarginUs = 5 * 60 * omrt::kUsPerS;
    constexpr int64_t kMaxLifetimeUs = 30LL * 24 * 3600 * omrt::kUsPerS;
    int64_t lifetime = kDefaultTokenLifetimeUs;
    int64_t exp_s = 0;
    if (now_wall_us >= kPlausibleWallS * omrt::kUsPerS && jwt_exp(token, exp_s)) {
        int64_t left = exp_s * omrt::kUsPerS - now_wall_us;
        if (left > 0 && left <= kMaxLifetimeUs)
            lifetime = left;
    }
    int64_t margin = lifetime / 10 < kMaxMarginUs ? lifetime / 10 : kMaxMarginUs;
    return lifetime - margin;
}

std::string api_error_detail(std::string_view body)
{
    core::JsonValue v;
    core::JsonLimits lim;
    lim.max_depth = 6;
    lim.max_elements = 256;
    if (!core::json_parse(body, v, nullptr, lim) || !v.is_object())
        return std::string();
    const core::JsonValue *d = v.get("detail");
    if (!d)
        return std::string();
    if (d->is_string())
        return printable(d->as_string(), 120);
    if (d->is_array() && d->size() > 0 && d->at(0).is_object()) {
        const core::JsonValue &e = d->at(0);
        const std::string *msg = e.get_string("msg");
        if (!msg)
            return std::string();
        // Only "msg" and the field name: pydantic also echoes the "input" value, which
        // may be the password.
        const core::JsonValue *loc = e.get("loc");
        if (loc && loc->is_array() && loc->size() > 0 && loc->at(loc->size() - 1).is_string()) {
            std::string m = loc->at(loc->size() - 1).as_string();
            m += ": ";
            m += *msg;
            return printable(m, 120);
        }
        return printable(*msg, 120);
    }
    return std::string();
}

} // namespace api
