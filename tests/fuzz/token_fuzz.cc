// Fuzz target: JSON and the VPS API's token handling, i.e. everything the daemon does with
// the body of an API reply: core::json_parse (also the control socket's requests),
// api::parse_token_reply, api::jwt_exp, api::token_usable_us, api::api_error_detail and
// the base64 decoders.
//
// Properties, besides memory safety and bounded recursion:
//  - JSON round trip: a document that parsed, written back with core::JsonWriter, parses
//    again to the same tree (strings and keys byte for byte; numbers within the writer's
//    precision) — so nothing a peer sends can make the status JSON unreadable;
//  - the limits hold (elements, depth);
//  - an accepted token is a b64token of at most kMaxTokenBytes; a rejected reply's error
//    text is a fixed sentence (nothing of the body, so never a token, is quoted); a
//    token's usable time is within (0, 30 days];
//  - an error detail is printable ASCII of at most 123 bytes ("..." appended).
#include "api/token.h"
#include "core/json.h"
#include "fuzz_util.h"

#include <cmath>
#include <cstring>
#include <string>

namespace {

size_t count_and_depth(const core::JsonValue &v, unsigned depth, unsigned &max_depth)
{
    if (depth > max_depth)
        max_depth = depth;
    size_t n = 1;
    if (v.is_array() || v.is_object())
        for (size_t i = 0; i < v.size(); i++)
            n += count_and_depth(v.at(i), depth + 1, max_depth);
    return n;
}

void write(core::JsonWriter &w, const core::JsonValue &v)
{
    switch (v.type()) {
    case core::JsonValue::Type::Null:
        w.null();
        break;
    case core::JsonValue::Type::Bool:
        w.value(v.as_bool());
        break;
    case core::JsonValue::Type::Number:
        w.value(v.as_number(), 6);
        break;
    case core::JsonValue::Type::String:
        w.value(v.as_string());
        break;
    case core::JsonValue::Type::Array:
        w.begin_array();
        for (size_t i = 0; i < v.size(); i++)
            write(w, v.at(i));
        w.end_array();
        break;
    case core::JsonValue::Type::Object:
        w.begin_object();
        for (size_t i = 0; i < v.size(); i++) {
            w.key(v.key_at(i));
            write(w, v.at(i));
        }
        w.end_object();
        break;
    }
}

void same_tree(const core::JsonValue &a, const core::JsonValue &b)
{
    if (a.is_number()) {
        // The writer prints %.6f: compare where that is exact enough to mean something;
        // non-finite numbers (1e999) are written as null.
        double x = a.as_number();
        if (!std::isfinite(x)) {
            FUZZ_CHECK(b.is_null());
            return;
        }
        FUZZ_CHECK(b.is_number());
        if (std::fabs(x) < 1e9)
            FUZZ_CHECK(std::fabs(x - b.as_number()) <= 1e-6 + 1e-9 * std::fabs(x));
        return;
    }
    FUZZ_CHECK(a.type() == b.type());
    if (a.is_bool())
        FUZZ_CHECK(a.as_bool() == b.as_bool());
    if (a.is_string())
        FUZZ_CHECK(a.as_string() == b.as_string());
    if (a.is_array() || a.is_object()) {
        FUZZ_CHECK(a.size() == b.size());
        for (size_t i = 0; i < a.size(); i++) {
            if (a.is_object())
                FUZZ_CHECK(a.key_at(i) == b.key_at(i));
            same_tree(a.at(i), b.at(i));
        }
    }
}

void check_json(std::string_view text, const core::JsonLimits &lim)
{
    core::JsonValue v;
    std::string err;
    if (!core::json_parse(text, v, &err, lim)) {
        FUZZ_CHECK(!err.empty());
        return;
    }
    unsigned depth = 0;
    FUZZ_CHECK(count_and_depth(v, 0, depth) <= lim.max_elements);
    FUZZ_CHECK(depth <= lim.max_depth);
    FUZZ_CHECK(text.size() <= lim.max_bytes);

    core::JsonWriter w;
    write(w, v);
    core::JsonValue again;
    core::JsonLimits big;
    big.max_bytes = 64u << 20;
    big.max_depth = lim.max_depth;
    big.max_elements = lim.max_elements;
    bool ok = core::json_parse(w.str(), again, &err, big);
    if (!ok)
        std::fprintf(stderr, "written back: %s\nerror: %s\n", w.str().c_str(), err.c_str());
    FUZZ_CHECK(ok);
    same_tree(v, again);
}

bool is_printable_ascii(const std::string &s)
{
    for (char c : s)
        if (c < 0x20 || c > 0x7e)
            return false;
    return true;
}

bool is_fixed_error(const std::string &err)
{
    for (const char *fixed : {"not a JSON object", "no access_token", "malformed access_token",
                              "token_type is not bearer"})
        if (err == fixed)
            return true;
    const std::string head = "invalid JSON (";
    if (err.compare(0, head.size(), head) != 0 || err.back() != ')')
        return false;
    size_t at = err.rfind(" at offset ");
    if (at == std::string::npos || at < head.size())
        return false;
    for (size_t i = head.size(); i < at; i++)
        if (err[i] == '\0' || !std::strchr("abcdefghijklmnopqrstuvwxyz ',:{}[]\\", err[i]))
            return false;
    for (size_t i = at + 11; i + 1 < err.size(); i++)
        if (err[i] < '0' || err[i] > '9')
            return false;
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view text(reinterpret_cast<const char *>(data), size);

    check_json(text, core::JsonLimits());
    core::JsonLimits tiny;
    tiny.max_bytes = 256;
    tiny.max_depth = 3;
    tiny.max_elements = 12;
    check_json(text, tiny);

    std::string token, err;
    if (api::parse_token_reply(text, token, &err)) {
        FUZZ_CHECK(!token.empty() && token.size() <= api::kMaxTokenBytes);
        for (char c : token)
            FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ',');
        for (omrt::WallUs wall : {omrt::WallUs(0), omrt::WallUs(1700000000) * omrt::kUsPerS,
                                  omrt::WallUs(4102444800) * omrt::kUsPerS}) {
            int64_t us = api::token_usable_us(token, wall);
            FUZZ_CHECK(us > 0 && us <= 30LL * 24 * 3600 * omrt::kUsPerS);
        }
    } else {
        FUZZ_CHECK(token.empty() && !err.empty());
        // The error text is one of the fixed sentences (the JSON parser's own are fixed
        // words and an offset): nothing of the body, so never a token, is quoted.
        FUZZ_CHECK(is_fixed_error(err));
    }

    int64_t exp_s = -1;
    if (api::jwt_exp(text, exp_s))
        FUZZ_CHECK(exp_s >= 0 && exp_s <= 1000000000000LL);
    (void)api::token_usable_us(text, omrt::WallUs(1700000000) * omrt::kUsPerS);

    std::string detail = api::api_error_detail(text);
    FUZZ_CHECK(detail.size() <= 123 && is_printable_ascii(detail));

    std::string out;
    if (api::base64url_decode(text, out))
        FUZZ_CHECK(out.size() <= text.size() * 3 / 4 + 1);
    if (api::base64_decode(text, out))
        FUZZ_CHECK(out.size() <= text.size() * 3 / 4);
    return 0;
}
