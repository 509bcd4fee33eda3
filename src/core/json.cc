#include "core/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace core {

// --------------------------------------------------------------------------- writer

void json_quote(std::string &out, std::string_view s)
{
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else {
                out += char(c);
            }
        }
    }
    out += '"';
}

void JsonWriter::sep()
{
    if (comma_)
        out_ += ',';
    comma_ = true;
}

void JsonWriter::begin_object()
{
    sep();
    out_ += '{';
    comma_ = false;
}

void JsonWriter::end_object()
{
    out_ += '}';
    comma_ = true;
}

void JsonWriter::begin_array()
{
    sep();
    out_ += '[';
    comma_ = false;
}

void JsonWriter::end_array()
{
    out_ += ']';
    comma_ = true;
}

void JsonWriter::key(std::string_view k)
{
    sep();
    json_quote(out_, k);
    out_ += ':';
    comma_ = false;
}

void JsonWriter::value(std::string_view s)
{
    sep();
    json_quote(out_, s);
}

void JsonWriter::value(bool b)
{
    sep();
    out_ += b ? "true" : "false";
}

void JsonWriter::raw_int(long long v)
{
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%lld", v);
    out_ += buf;
}

void JsonWriter::raw_uint(unsigned long long v)
{
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%llu", v);
    out_ += buf;
}

void JsonWriter::value(double v, int decimals)
{
    sep();
    if (!std::isfinite(v)) {
        out_ += "null";
        return;
    }
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    // Trim "12.500" to "12.5" and "3.000" to "3": shorter status, same value.
    if (std::strchr(buf, '.')) {
        char *e = buf + std::strlen(buf) - 1;
        while (*e == '0')
            *e-- = '\0';
        if (*e == '.')
            *e = '\0';
    }
    if (std::strcmp(buf, "-0") == 0)
        std::strcpy(buf, "0");
    out_ += buf;
}

void JsonWriter::null()
{
    sep();
    out_ += "null";
}

void JsonWriter::value(int v)
{
    sep();
    raw_int(v);
}
void JsonWriter::value(unsigned v)
{
    sep();
    raw_uint(v);
}
void JsonWriter::value(long v)
{
    sep();
    raw_int(v);
}
void JsonWriter::value(unsigned long v)
{
    sep();
    raw_uint(v);
}
void JsonWriter::value(long long v)
{
    sep();
    raw_int(v);
}
void JsonWriter::value(unsigned long long v)
{
    sep();
    raw_uint(v);
}

// --------------------------------------------------------------------------- parser

const JsonValue *JsonValue::get(std::string_view k) const
{
    if (type_ != Type::Object)
        return nullptr;
    for (size_t i = 0; i < keys_.size(); i++)
        if (keys_[i] == k)
            return &items_[i];
    return nullptr;
}

const std::string *JsonValue::get_string(std::string_view k) const
{
    const JsonValue *v = get(k);
    return (v && v->is_string()) ? &v->str_ : nullptr;
}

class JsonParser {
public:
    JsonParser(std::string_view t, const JsonLimits &l) : s_(t), lim_(l) {}

    bool run(JsonValue &out, std::string *err)
    {
        if (s_.size() > lim_.max_bytes)
            return fail(err, "document too large");
        ws();
        if (!value(out, 0))
            return fail(err, err_);
        ws();
        if (p_ != s_.size())
            return fail(err, "trailing data");
        return true;
    }

private:
    bool fail(std::string *err, const char *what)
    {
        if (err) {
            char buf[96];
            std::snprintf(buf, sizeof(buf), "%s at offset %zu", what, p_);
            *err = buf;
        }
        return false;
    }
    bool error(const char *what)
    {
        err_ = what;
        return false;
    }
    void ws()
    {
        while (p_ < s_.size() &&
               (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r'))
            p_++;
    }
    bool lit(const char *word)
    {
        size_t n = std::strlen(word);
        if (s_.substr(p_, n) != word)
            return error("invalid literal");
        p_ += n;
        return true;
    }

    bool value(JsonValue &v, unsigned depth)
    {
        if (++count_ > lim_.max_elements)
            return error("too many elements");
        if (p_ >= s_.size())
            return error("unexpected end");
        char c = s_[p_];
        switch (c) {
        case '{':
            return object(v, depth + 1);
        case '[':
            return array(v, depth + 1);
        case '"':
            v.type_ = JsonValue::Type::String;
            return string(v.str_);
        case 't':
            v.type_ = JsonValue::Type::Bool;
            v.b_ = true;
            return lit("true");
        case 'f':
            v.type_ = JsonValue::Type::Bool;
            v.b_ = false;
            return lit("false");
        case 'n':
            v.type_ = JsonValue::Type::Null;
            return lit("null");
        default:
            if (c == '-' || (c >= '0' && c <= '9'))
                return number(v);
            return error("unexpected character");
        }
    }

    bool object(JsonValue &v, unsigned depth)
    {
        if (depth > lim_.max_depth)
            return error("nesting too deep");
        v.type_ = JsonValue::Type::Object;
        p_++; // '{'
        ws();
        if (p_ < s_.size() && s_[p_] == '}') {
            p_++;
            return true;
        }
        for (;;) {
            ws();
            if (p_ >= s_.size() || s_[p_] != '"')
                return error("expected string key");
            std::string k;
            if (!string(k))
                return false;
            ws();
            if (p_ >= s_.size() || s_[p_] != ':')
                return error("expected ':'");
            p_++;
            ws();
            v.keys_.push_back(std::move(k));
            v.items_.emplace_back();
            if (!value(v.items_.back(), depth))
                return false;
            ws();
            if (p_ >= s_.size())
                return error("unexpected end");
            if (s_[p_] == ',') {
                p_++;
                continue;
            }
            if (s_[p_] == '}') {
                p_++;
                return true;
            }
            return error("expected ',' or '}'");
        }
    }

    bool array(JsonValue &v, unsigned depth)
    {
        if (depth > lim_.max_depth)
            return error("nesting too deep");
        v.type_ = JsonValue::Type::Array;
        p_++; // '['
        ws();
        if (p_ < s_.size() && s_[p_] == ']') {
            p_++;
            return true;
        }
        for (;;) {
            ws();
            v.items_.emplace_back();
            if (!value(v.items_.back(), depth))
                return false;
            ws();
            if (p_ >= s_.size())
                return error("unexpected end");
            if (s_[p_] == ',') {
                p_++;
                continue;
            }
            if (s_[p_] == ']') {
                p_++;
                return true;
            }
            return error("expected ',' or ']'");
        }
    }

    static int hexval(char c)
    {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    }

    bool hex4(unsigned &cp)
    {
        if (s_.size() - p_ < 4)
            return error("truncated \\u escape");
        cp = 0;
        for (int i = 0; i < 4; i++) {
            int h = hexval(s_[p_++]);
            if (h < 0)
                return error("bad \\u escape");
            cp = cp << 4 | unsigned(h);
        }
        return true;
    }

    static void utf8(std::string &out, unsigned cp)
    {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xc0 | cp >> 6);
            out += char(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += char(0xe0 | cp >> 12);
            out += char(0x80 | (cp >> 6 & 0x3f));
            out += char(0x80 | (cp & 0x3f));
        } else {
            out += char(0xf0 | cp >> 18);
            out += char(0x80 | (cp >> 12 & 0x3f));
            out += char(0x80 | (cp >> 6 & 0x3f));
            out += char(0x80 | (cp & 0x3f));
        }
    }

    bool string(std::string &out)
    {
        p_++; // opening quote
        for (;;) {
            if (p_ >= s_.size())
                return error("unterminated string");
            char c = s_[p_++];
            if (c == '"')
                return true;
            if (static_cast<unsigned char>(c) < 0x20)
                return error("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (p_ >= s_.size())
                return error("unterminated string");
            char e = s_[p_++];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                out += e;
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                unsigned cp;
                if (!hex4(cp))
                    return false;
                if (cp >= 0xd800 && cp < 0xdc00) {
                    unsigned lo;
                    if (s_.substr(p_, 2) != "\\u")
                        return error("unpaired surrogate");
                    p_ += 2;
                    if (!hex4(lo))
                        return false;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return error("unpaired surrogate");
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp < 0xe000) {
                    return error("unpaired surrogate");
                }
                utf8(out, cp);
                break;
            }
            default:
                return error("bad escape");
            }
        }
    }

    bool number(JsonValue &v)
    {
        size_t start = p_;
        if (s_[p_] == '-')
            p_++;
        auto digits = [&] {
            size_t d = p_;
            while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9')
                p_++;
            return p_ - d;
        };
        if (p_ < s_.size() && s_[p_] == '0')
            p_++;
        else if (digits() == 0)
            return error("bad number");
        if (p_ < s_.size() && s_[p_] == '.') {
            p_++;
            if (digits() == 0)
                return error("bad number");
        }
        if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
            p_++;
            if (p_ < s_.size() && (s_[p_] == '+' || s_[p_] == '-'))
                p_++;
            if (digits() == 0)
                return error("bad number");
        }
        size_t n = p_ - start;
        if (n > 64)
            return error("number too long");
        char buf[72];
        std::memcpy(buf, s_.data() + start, n);
        buf[n] = '\0';
        v.type_ = JsonValue::Type::Number;
        v.num_ = std::strtod(buf, nullptr);
        return true;
    }

    std::string_view s_;
    const JsonLimits &lim_;
    size_t p_ = 0;
    size_t count_ = 0;
    const char *err_ = "parse error";
};

bool json_parse(std::string_view text, JsonValue &out, std::string *err, const JsonLimits &limits)
{
    out = JsonValue();
    JsonParser p(text, limits);
    return p.run(out, err);
}

} // namespace core
