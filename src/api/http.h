// A bounded HTTP/1.1 client core (RFC 9110, RFC 9112): a response parser fed with whatever
// bytes arrive, a request writer and form encoding. Pure: no I/O, no clock, no logging,
// so every split point of every input can be tested.
//
// Limits are hard: a peer cannot make the parser keep more than max_line_bytes of a line,
// max_header_bytes of header section (trailers included) or max_body_bytes of body, and
// it says which limit was hit. Deliberately not supported (the VPS API never needs them):
// transfer codings other than chunked, 101 Switching Protocols, pipelining.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace api {

struct HttpLimits {
    size_t max_line_bytes = 8 * 1024;    // status line, one header line, one chunk-size line
    size_t max_header_bytes = 16 * 1024; // whole header section; trailers count too
    unsigned max_headers = 64;           // header fields (and trailer fields)
    size_t max_body_bytes = 64 * 1024;   // decoded body
};

struct HttpHeader {
    std::string name; // lower-cased
    std::string value;
};

struct HttpResponse {
    int version_minor = 1; // HTTP/1.x
    int status = 0;
    std::string reason;
    std::vector<HttpHeader> headers;
    std::string body;
    // May the connection carry another request (RFC 9112 §9.3)? False for "Connection:
    // close", for HTTP/1.0 without "keep-alive", and for a body delimited by the close.
    bool keep_alive = false;

    // The first field called |lname| (lower-case), or nullptr.
    const std::string *header(std::string_view lname) const;
};

class ResponseParser {
public:
    enum class Status { need_more, done, error };

    explicit ResponseParser(const HttpLimits &limits = HttpLimits()) : limits_(limits) {}
    // Ready for a new response (keeps the limits).
    void reset();
    void set_limits(const HttpLimits &limits) { limits_ = limits; }

    // Consumes up to |n| bytes. |consumed| gets how many were used: all of them unless
    // the response ended inside the chunk (bytes after it belong to nobody: the caller
    // must not reuse the connection). After done or error, further calls consume nothing
    // and return the same status.
    Status feed(const char *data, size_t n, size_t *consumed);
    // The peer closed the connection: done if the body runs until the close, an error
    // naming what was cut short otherwise.
    Status finish_eof();

    Status status() const { return status_; }
    // Whether any byte of a response was seen (a reused keep-alive connection that the
    // server closed before answering may be retried; one that answered may not).
    bool started() const { return started_; }
    const HttpResponse &response() const { return resp_; }
    HttpResponse &response() { return resp_; }
    // Why the response was rejected: "bad status line 'SSH-2.0-OpenSSH_9.2'",
    // "response body exceeds 65536 bytes", ...
    const std::string &error() const { return error_; }

private:
    enum class State {
        status_line,
        header_line,
        body_length,
        body_until_close,
        chunk_size,
        chunk_data,
        chunk_data_end,
        trailer_line,
        done,
        error
    };

    Status fail(std::string_view msg);
    // fail() with "<prefix><printable(s, max_bytes)>'".
    Status fail_quoted(const char *prefix, std::string_view s, size_t max_bytes);
    Status fail_body_limit(); // "response body exceeds N bytes"
    // Collects bytes up to '\n' into line_; true with a complete line (without CR LF).
    bool take_line(const char *&p, const char *end, bool counts_as_header);
    Status on_status_line();
    Status on_header_line(bool trailer);
    Status on_headers_end();
    Status on_chunk_size_line();
    Status append_body(const char *p, size_t n);

    HttpLimits limits_;
    State state_ = State::status_line;
    Status status_ = Status::need_more;
    HttpResponse resp_;
    std::string line_;
    std::string error_;
    size_t header_bytes_ = 0;
    unsigned header_count_ = 0;
    unsigned interim_ = 0;   // 1xx responses skipped
    uint64_t remaining_ = 0; // body_length / chunk_data: bytes still expected
    bool line_too_long_ = false;
    bool started_ = false;
};

// A complete request. |target| is an origin-form path ("/token"); |host| the Host field
// value ("192.0.2.1:65500", "[2001:db8::1]:65500"); |extra_headers| whole lines ending
// in CRLF (e.g. the Authorization line); |content_type| empty when there is no body.
// Inputs are our own; a CR or LF inside one of the single-line values is a bug (asserted).
std::string http_request(std::string_view method, std::string_view target, std::string_view host,
                         std::string_view extra_headers, std::string_view content_type,
                         std::string_view body);

// Percent-encodes everything but RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~).
// Bytes are encoded as they are, so UTF-8 becomes one %XX per byte. A space becomes %20,
// never '+': both mean space in application/x-www-form-urlencoded (WHATWG URL
// §5.1, which Starlette/python-multipart follow), and %20 cannot be misread by a decoder
// that only knows RFC 3986.
std::string url_encode(std::string_view s);

// "k1=v1&k2=v2" with url_encode() on every name and value.
std::string form_encode(const std::vector<std::pair<std::string_view, std::string_view>> &fields);

// "host:port" for IPv4 and names, "[v6]:port" for IPv6 literals.
std::string host_port(std::string_view host, unsigned port);

// Printable ASCII only, for messages built from peer data; other bytes become '?'.
std::string printable(std::string_view s, size_t max_bytes);

} // namespace api
