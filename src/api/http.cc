#include "api/http.h"

#include "core/str.h"
#include "omrt/version.h"

#include <cassert>
#include <cstring>

namespace api {

namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// field-vchar / SP / HTAB / obs-text (RFC 9110 §5.5): everything but other controls.
bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

std::string_view trim_ows(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// The next element of the comma-separated list |rest| (RFC 9110 §5.6.1) into |e| and
// removes it from |rest|: elements trimmed, empty ones skipped. False at the end.
bool next_element(std::string_view &rest, std::string_view &e)
{
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        e = trim_ows(rest.substr(0, comma));
        rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
        if (!e.empty())
            return true;
    }
    return false;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// url_encode(), appended to |out|.
void url_encode_to(std::string &out, std::string_view s)
{
    static const char hex[] = "0123456789ABCDEF";
    out.reserve(out.size() + s.size() * 3);
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(char(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
}

} // namespace

const std::string *HttpResponse::header(std::string_view lname) const
{
    for (const HttpHeader &h : headers)
        if (h.name == lname)
            return &h.value;
    return nullptr;
}

std::string printable(std::string_view s, size_t max_bytes)
{
    std::string out;
    size_t n = s.size() < max_bytes ? s.size() : max_bytes;
    out.reserve(n + 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        out.push_back((c >= 0x20 && c < 0x7f) ? char(c) : '?');
    }
    if (n < s.size())
        out += "...";
    return out;
}

void ResponseParser::reset()
{
    state_ = State::status_line;
    status_ = Status::need_more;
    resp_ = HttpResponse();
    line_.clear();
    error_.clear();
    header_bytes_ = 0;
    header_count_ = 0;
    interim_ = 0;
    remaining_ = 0;
    line_too_long_ = false;
    started_ = false;
}

ResponseParser::Status ResponseParser::fail(std::string_view msg)
{
    state_ = State::error;
    status_ = Status::error;
    error_.assign(msg);
    line_.clear();
    line_.shrink_to_fit();
    resp_.body.clear();
    resp_.body.shrink_to_fit();
    return status_;
}

ResponseParser::Status ResponseParser::fail_quoted(const char *prefix, std::string_view s,
                                                   size_t max_bytes)
{
    std::string q = printable(s, max_bytes); // |s| may point into line_, which fail() frees
    fail(prefix);
    error_ += q;
    error_ += '\'';
    return status_;
}

ResponseParser::Status ResponseParser::fail_body_limit()
{
    return fail(core::strprintf("response body exceeds %zu bytes", limits_.max_body_bytes));
}

bool ResponseParser::take_line(const char *&p, const char *end, bool counts_as_header)
{
    const void *nl = std::memchr(p, '\n', size_t(end - p));
    size_t take = nl ? size_t(static_cast<const char *>(nl) - p) + 1 : size_t(end - p);
    if (counts_as_header)
        header_bytes_ += take;
    // +2: the CR LF that ends the line is not part of the limit.
    if (line_.size() + take > limits_.max_line_bytes + 2) {
        line_too_long_ = true;
        p += take;
        return true; // the caller sees line_too_long_ and fails
    }
    line_.append(p, take);
    p += take;
    if (!nl)
        return false;
    line_.pop_back(); // '\n'
    // RFC 9112 §2.2: a recipient MAY accept a bare LF as the line terminator.
    if (!line_.empty() && line_.back() == '\r')
        line_.pop_back();
    return true;
}

ResponseParser::Status ResponseParser::feed(const char *data, size_t n, size_t *consumed)
{
    const char *p = data;
    const char *end = data + n;
    if (n > 0 && state_ == State::status_line)
        started_ = true;
    while (status_ == Status::need_more && p < end) {
        switch (state_) {
        case State::status_line:
        case State::header_line:
        case State::trailer_line: {
            if (!take_line(p, end, true))
                break;
            if (line_too_long_)
                fail(core::strprintf("%s line exceeds %zu bytes",
                                     state_ == State::status_line ? "status" : "header",
                                     limits_.max_line_bytes));
            else if (header_bytes_ > limits_.max_header_bytes)
                fail(core::strprintf("header section exceeds %zu bytes", limits_.max_header_bytes));
            else if (state_ == State::status_line)
                on_status_line();
            else
                on_header_line(state_ == State::trailer_line);
            line_.clear();
            break;
        }
        case State::chunk_size:
            if (!take_line(p, end, false))
                break;
            if (line_too_long_)
                fail("chunk size line too long");
            else
                on_chunk_size_line();
            line_.clear();
            break;
        case State::chunk_data_end:
            if (!take_line(p, end, false))
                break;
            if (line_too_long_ || !line_.empty())
                fail("chunk data not followed by CRLF");
            else
                state_ = State::chunk_size;
            line_.clear();
            break;
        case State::body_length:
        case State::chunk_data: {
            size_t avail = size_t(end - p);
            size_t take = remaining_ < avail ? size_t(remaining_) : avail;
            if (append_body(p, take) != Status::need_more)
                break;
            p += take;
            remaining_ -= take;
            if (remaining_ == 0) {
                if (state_ == State::chunk_data) {
                    state_ = State::chunk_data_end;
                } else {
                    state_ = State::done;
                    status_ = Status::done;
                }
            }
            break;
        }
        case State::body_until_close:
            if (append_body(p, size_t(end - p)) == Status::need_more)
                p = end;
            break;
        case State::done:
        case State::error:
            break;
        }
    }
    if (consumed)
        *consumed = size_t(p - data);
    return status_;
}

ResponseParser::Status ResponseParser::finish_eof()
{
    switch (state_) {
    case State::done:
    case State::error:
        return status_;
    case State::body_until_close:
        state_ = State::done;
        status_ = Status::done;
        return status_;
    case State::status_line:
        return fail(started_ ? "connection closed in the status line"
                             : "connection closed before any response");
    case State::header_line:
        return fail("connection closed in the headers");
    case State::body_length:
        return fail(core::strprintf("connection closed after %zu of %zu body bytes",
                                    resp_.body.size(), resp_.body.size() + size_t(remaining_)));
    default:
        return fail("connection closed in the chunked body");
    }
}

ResponseParser::Status ResponseParser::on_status_line()
{
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]  (RFC 9112 §4)
    std::string_view l = line_;
    if (l.size() < 12 || l.compare(0, 5, "HTTP/") != 0 || l[6] != '.' || l[5] < '0' || l[5] > '9' ||
        l[7] < '0' || l[7] > '9' || l[8] != ' ')
        return fail_quoted("bad status line '", l, 40);
    if (l[5] != '1')
        return fail_quoted("unsupported HTTP version '", std::string_view(l.data(), 8), 8);
    int code = 0;
    for (size_t i = 9; i < 12; i++) {
        if (l[i] < '0' || l[i] > '9')
            return fail_quoted("bad status code in '", l, 40);
        code = code * 10 + (l[i] - '0');
    }
    if (code < 100 || code > 599)
        return fail(core::strprintf("status code %d out of range", code));
    std::string_view reason;
    if (l.size() > 12) {
        if (l[12] != ' ')
            return fail_quoted("bad status line '", l, 40);
        reason = std::string_view(l.data() + 13, l.size() - 13);
        for (char c : reason)
            if (!is_field_char(static_cast<unsigned char>(c)))
                return fail("control character in the reason phrase");
    }
    resp_.version_minor = l[7] - '0';
    resp_.status = code;
    resp_.reason.assign(reason);
    state_ = State::header_line;
    return status_;
}

ResponseParser::Status ResponseParser::on_header_line(bool trailer)
{
    std::string_view l = line_;
    if (l.empty()) {
        if (!trailer)
            return on_headers_end();
        state_ = State::done;
        status_ = Status::done;
        return status_;
    }
    if (l[0] == ' ' || l[0] == '\t')
        return fail("obsolete line folding in the headers"); // RFC 9112 §5.2
    size_t colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0)
        return fail_quoted("bad header line '", l, 40);
    std::string_view name(l.data(), colon);
    for (char c : name)
        if (!is_tchar(static_cast<unsigned char>(c)))
            return fail_quoted("bad header name '", name, 40);
    std::string_view value = trim_ows(std::string_view(l.data() + colon + 1, l.size() - colon - 1));
    for (char c : value)
        if (!is_field_char(static_cast<unsigned char>(c)))
            return fail_quoted("control character in header '", name, 40);
    if (++header_count_ > limits_.max_headers)
        return fail(core::strprintf("more than %u header fields", limits_.max_headers));
    if (trailer)
        return status_; // trailer fields are counted, not kept: nothing here needs them
    HttpHeader h;
    h.name.assign(name);
    for (char &c : h.name)
        c = lower(c);
    h.value.assign(value);
    resp_.headers.push_back(std::move(h));
    return status_;
}

ResponseParser::Status ResponseParser::on_headers_end()
{
    if (resp_.status < 200) {
        // Interim responses (100 Continue, 103 Early Hints) precede the real one.
        if (resp_.status == 101)
            return fail("unexpected 101 Switching Protocols");
        if (++interim_ > 4)
            return fail("too many interim (1xx) responses");
        resp_.headers.clear();
        header_count_ = 0;
        state_ = State::status_line;
        return status_;
    }

    bool has_te = false;
    bool chunked = false;
    bool te_ok = true;
    bool has_cl = false;
    bool cl_ok = true;
    uint64_t cl = 0;
    bool conn_close = false;
    bool conn_keep = false;
    enum { te, cl_field, conn };
    for (const HttpHeader &h : resp_.headers) {
        std::string_view name = h.name;
        int kind = name == "transfer-encoding" ? te
                   : name == "content-length"  ? cl_field
                   : name == "connection"      ? conn
                                               : -1;
        if (kind < 0)
            continue;
        has_te |= kind == te;
        bool any = false;
        std::string_view rest = h.value;
        std::string_view e;
        while (next_element(rest, e)) {
            if (kind == te) {
                // Only "chunked", once, as the whole coding (RFC 9112 §6.1).
                if (!iequals(e, "chunked") || chunked)
                    te_ok = false;
                chunked = true;
            } else if (kind == cl_field) {
                // "42, 42" or repeated fields with one value are allowed (RFC 9110 §8.6).
                uint64_t v = 0;
                if (e.size() > 18 || !core::parse_u64(e, v)) {
                    cl_ok = false;
                    continue;
                }
                if (has_cl && v != cl)
                    cl_ok = false;
                has_cl = true;
                any = true;
                cl = v;
            } else if (iequals(e, "close")) {
                conn_close = true;
            } else if (iequals(e, "keep-alive")) {
                conn_keep = true;
            }
        }
        if (kind == cl_field && !any)
            cl_ok = false;
    }
    if (!cl_ok)
        return fail("bad or conflicting Content-Length");
    if (has_te && !te_ok)
        return fail("unsupported Transfer-Encoding");
    if (has_te && has_cl)
        // RFC 9112 §6.3: "ought to be handled as an error"; a smuggling sign.
        return fail("both Transfer-Encoding and Content-Length");
    resp_.keep_alive = !conn_close && (resp_.version_minor >= 1 || conn_keep);

    if (resp_.status == 204 || resp_.status == 304) {
        state_ = State::done;
        status_ = Status::done;
        return status_;
    }
    if (chunked) {
        state_ = State::chunk_size;
        return status_;
    }
    if (has_cl) {
        if (cl > limits_.max_body_bytes)
            return fail(core::strprintf("response body of %llu bytes exceeds %zu bytes",
                                        static_cast<unsigned long long>(cl),
                                        limits_.max_body_bytes));
        remaining_ = cl;
        if (cl == 0) {
            state_ = State::done;
            status_ = Status::done;
        } else {
            resp_.body.reserve(size_t(cl));
            state_ = State::body_length;
        }
        return status_;
    }
    resp_.keep_alive = false;
    state_ = State::body_until_close;
    return status_;
}

ResponseParser::Status ResponseParser::on_chunk_size_line()
{
    // chunk = chunk-size [ chunk-ext ] CRLF ...  (RFC 9112 §7.1)
    std::string_view l = line_;
    size_t i = 0;
    uint64_t size = 0;
    while (i < l.size() && hex_value(l[i]) >= 0) {
        size = size * 16 + uint64_t(hex_value(l[i]));
        if (size > limits_.max_body_bytes)
            return fail_body_limit();
        i++;
    }
    if (i == 0)
        return fail_quoted("bad chunk size line '", l, 40);
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t'))
        i++;
    if (i < l.size()) {
        if (l[i] != ';')
            return fail_quoted("bad chunk size line '", l, 40);
        for (; i < l.size(); i++)
            if (!is_field_char(static_cast<unsigned char>(l[i])))
                return fail("control character in a chunk extension");
    }
    if (resp_.body.size() + size > limits_.max_body_bytes)
        return fail_body_limit();
    if (size == 0) {
        state_ = State::trailer_line;
        return status_;
    }
    remaining_ = size;
    state_ = State::chunk_data;
    return status_;
}

ResponseParser::Status ResponseParser::append_body(const char *p, size_t n)
{
    if (resp_.body.size() + n > limits_.max_body_bytes)
        return fail_body_limit();
    resp_.body.append(p, n);
    return status_;
}

// ---------------------------------------------------------------------------

std::string http_request(std::string_view method, std::string_view target, std::string_view host,
                         std::string_view extra_headers, std::string_view content_type,
                         std::string_view body)
{
    auto one_line = [](std::string_view s) {
        return s.find_first_of("\r\n") == std::string_view::npos;
    };
    assert(one_line(method) && one_line(target) && one_line(host) && one_line(content_type));
    (void)one_line;
    std::string r;
    r.reserve(160 + extra_headers.size() + body.size());
    r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
    r.append("\r\nUser-Agent: omr-trackerd/" OMRT_VERSION "\r\nAccept: application/json\r\n");
    if (!content_type.empty()) {
        r.append("Content-Type: ").append(content_type).append("\r\n");
        r.append(core::strprintf("Content-Length: %zu\r\n", body.size()));
    }
    r.append(extra_headers);
    r.append("\r\n");
    r.append(body);
    return r;
}

std::string url_encode(std::string_view s)
{
    std::string out;
    url_encode_to(out, s);
    return out;
}

std::string form_encode(const std::vector<std::pair<std::string_view, std::string_view>> &fields)
{
    std::string out;
    for (const auto &f : fields) {
        if (!out.empty())
            out.push_back('&');
        url_encode_to(out, f.first);
        out.push_back('=');
        url_encode_to(out, f.second);
    }
    return out;
}

std::string host_port(std::string_view host, unsigned port)
{
    if (host.find(':') != std::string_view::npos)
        return core::strprintf("[%.*s]:%u", int(host.size()), host.data(), port);
    return core::strprintf("%.*s:%u", int(host.size()), host.data(), port);
}

} // namespace api
