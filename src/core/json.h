// Minimal JSON for the control socket, the status file and the VPS API (RFC 8259).
//
// Writer: appends to a std::string, inserts commas itself, escapes every string.
// Parser: a small DOM with hard limits on depth, size and element count, so input from a
// peer (API replies, control requests) cannot make the daemon recurse or allocate
// without bound. Numbers are doubles. It never aborts on bad input: parse() returns false
// with a message naming the offset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace core {

class JsonWriter {
public:
    void begin_object();
    void end_object();
    void begin_array();
    void end_array();
    void key(std::string_view k);

    void value(std::string_view s);
    void value(const char *s) { value(std::string_view(s)); }
    void value(const std::string &s) { value(std::string_view(s)); }
    void value(bool b);
    void value(int v);
    void value(unsigned v);
    void value(long v);
    void value(unsigned long v);
    void value(long long v);
    void value(unsigned long long v);
    void value(double v, int decimals = 3);
    void null();

    // key + value in one call.
    template <class T>
    void kv(std::string_view k, const T &v)
    {
        key(k);
        value(v);
    }
    void kv(std::string_view k, double v, int decimals)
    {
        key(k);
        value(v, decimals);
    }

    const std::string &str() const { return out_; }
    std::string take() { return std::move(out_); }
    void clear()
    {
        out_.clear();
        comma_ = false;
    }

private:
    void sep();
    void raw_int(long long v);
    void raw_uint(unsigned long long v);
    std::string out_;
    bool comma_ = false;
};

// Appends |s| as a quoted JSON string to |out|.
void json_quote(std::string &out, std::string_view s);

class JsonValue {
public:
    enum class Type { Null, Bool, Number, String, Array, Object };

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::Null; }
    bool is_bool() const { return type_ == Type::Bool; }
    bool is_number() const { return type_ == Type::Number; }
    bool is_string() const { return type_ == Type::String; }
    bool is_array() const { return type_ == Type::Array; }
    bool is_object() const { return type_ == Type::Object; }

    bool as_bool() const { return b_; }
    double as_number() const { return num_; }
    const std::string &as_string() const { return str_; }

    // Arrays and objects: elements in document order.
    size_t size() const { return items_.size(); }
    const JsonValue &at(size_t i) const { return items_[i]; }
    // Objects: key of element i.
    const std::string &key_at(size_t i) const { return keys_[i]; }
    // Objects: the first member called |k|, or nullptr.
    const JsonValue *get(std::string_view k) const;
    // Convenience: member |k| when it is a string, else nullptr.
    const std::string *get_string(std::string_view k) const;

private:
    friend class JsonParser;
    Type type_ = Type::Null;
    bool b_ = false;
    double num_ = 0;
    std::string str_;
    std::vector<std::string> keys_;
    std::vector<JsonValue> items_;
};

struct JsonLimits {
    size_t max_bytes = 64 * 1024;
    unsigned max_depth = 16;
    size_t max_elements = 4096; // values in the whole document
};

// Parses exactly one JSON value (surrounding whitespace allowed). On failure returns
// false and sets |err| (e.g. "expected ':' at offset 12").
bool json_parse(std::string_view text, JsonValue &out, std::string *err,
                const JsonLimits &limits = JsonLimits());

} // namespace core
