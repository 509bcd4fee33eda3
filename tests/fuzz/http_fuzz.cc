// Fuzz target: the HTTP/1.1 response parser (api::ResponseParser) that reads whatever a VPS
// (or anything answering on its address) sends.
//
// Input: one mode byte, four bytes seeding the chunk splits, then the response bytes.
// The response is parsed twice: in one feed() and in random chunks of 1..64 bytes (TLS
// records and TCP segments split a reply anywhere). Properties:
//  - both ways end in the same status; a finished response is identical (status line,
//    headers, body, keep-alive, bytes consumed), an error has the same message;
//  - the limits hold: headers <= max_headers, body <= max_body_bytes;
//  - after done or error, feed() consumes nothing and keeps the status;
//  - reset() makes the parser usable again (the bytes after a response are parsed as the
//    next one).
// Mode bit 0 selects tiny limits, so the limit paths are reached with short inputs;
// bit 1 ends the input with finish_eof() (the server closed the connection).
#include "api/http.h"
#include "fuzz_util.h"

#include <string>

namespace {

struct Outcome {
    api::ResponseParser::Status status;
    size_t consumed = 0;
};

Outcome feed_whole(api::ResponseParser &p, std::string_view bytes, bool eof)
{
    Outcome o;
    o.status = p.feed(bytes.data(), bytes.size(), &o.consumed);
    if (eof && o.status == api::ResponseParser::Status::need_more)
        o.status = p.finish_eof();
    return o;
}

Outcome feed_split(api::ResponseParser &p, std::string_view bytes, bool eof, uint32_t seed)
{
    Outcome o;
    o.status = api::ResponseParser::Status::need_more;
    size_t off = 0;
    while (off < bytes.size()) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 64;
        if (n > bytes.size() - off)
            n = bytes.size() - off;
        size_t used = 0;
        auto before = p.status();
        o.status = p.feed(bytes.data() + off, n, &used);
        FUZZ_CHECK(used <= n);
        if (before != api::ResponseParser::Status::need_more) {
            FUZZ_CHECK(used == 0 && o.status == before);
        }
        o.consumed += used;
        off += n;
    }
    if (eof && o.status == api::ResponseParser::Status::need_more)
        o.status = p.finish_eof();
    return o;
}

void check_limits(const api::ResponseParser &p, const api::HttpLimits &lim)
{
    const api::HttpResponse &r = p.response();
    FUZZ_CHECK(r.headers.size() <= lim.max_headers);
    FUZZ_CHECK(r.body.size() <= lim.max_body_bytes);
    if (p.status() == api::ResponseParser::Status::done) {
        FUZZ_CHECK(r.status >= 100 && r.status <= 599);
        for (const api::HttpHeader &h : r.headers) {
            FUZZ_CHECK(!h.name.empty());
            for (char c : h.name)
                FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
        }
    }
    if (p.status() == api::ResponseParser::Status::error)
        FUZZ_CHECK(!p.error().empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz::Input in(data, size);
    const uint8_t mode = in.u8();
    const uint32_t seed = uint32_t(in.u16()) << 16 | in.u16();
    std::string_view bytes = in.rest();

    api::HttpLimits lim;
    if (mode & 1) {
        lim.max_line_bytes = 48;
        lim.max_header_bytes = 160;
        lim.max_headers = 4;
        lim.max_body_bytes = 100;
    }
    const bool eof = (mode & 2) != 0;

    api::ResponseParser whole(lim), split(lim);
    Outcome a = feed_whole(whole, bytes, eof);
    Outcome b = feed_split(split, bytes, eof, seed);
    check_limits(whole, lim);
    check_limits(split, lim);
    FUZZ_CHECK(a.status == b.status);
    FUZZ_CHECK(whole.started() == split.started());
    if (a.status == api::ResponseParser::Status::error)
        FUZZ_CHECK(whole.error() == split.error());
    if (a.status == api::ResponseParser::Status::done) {
        const api::HttpResponse &x = whole.response(), &y = split.response();
        FUZZ_CHECK(a.consumed == b.consumed);
        FUZZ_CHECK(x.status == y.status && x.version_minor == y.version_minor);
        FUZZ_CHECK(x.reason == y.reason && x.body == y.body && x.keep_alive == y.keep_alive);
        FUZZ_CHECK(x.headers.size() == y.headers.size());
        for (size_t i = 0; i < x.headers.size(); i++) {
            FUZZ_CHECK(x.headers[i].name == y.headers[i].name);
            FUZZ_CHECK(x.headers[i].value == y.headers[i].value);
        }
        (void)x.header("content-type");
        (void)api::printable(x.body, 80);

        // The bytes after a complete response, as the start of the next one.
        whole.reset();
        FUZZ_CHECK(whole.status() == api::ResponseParser::Status::need_more && !whole.started());
        std::string_view next = bytes.substr(a.consumed);
        feed_whole(whole, next, eof);
        check_limits(whole, lim);
    }
    if (a.status == api::ResponseParser::Status::need_more)
        FUZZ_CHECK(a.consumed == bytes.size() && b.consumed == bytes.size());
    return 0;
}
