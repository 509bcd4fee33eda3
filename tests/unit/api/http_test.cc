#include "api/http.h"

#include <gtest/gtest.h>

#include <string>

using api::HttpLimits;
using api::ResponseParser;
using Status = api::ResponseParser::Status;

namespace {

struct Parsed {
    Status status = Status::need_more;
    size_t consumed = 0;
    api::HttpResponse resp;
    std::string error;
};

// Feeds |text| in pieces cut at |cuts| (ascending offsets), then EOF if |eof|.
Parsed parse_pieces(const std::string &text, const std::vector<size_t> &cuts, bool eof,
                    const HttpLimits &lim = HttpLimits())
{
    ResponseParser p(lim);
    Parsed out;
    size_t pos = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(text.size());
    for (size_t end : ends) {
        size_t used = 0;
        out.status = p.feed(text.data() + pos, end - pos, &used);
        out.consumed += used;
        pos = end;
        if (out.status != Status::need_more)
            break;
    }
    if (eof && out.status == Status::need_more)
        out.status = p.finish_eof();
    out.resp = p.response();
    out.error = p.error();
    return out;
}

Parsed parse(const std::string &text, bool eof = false, const HttpLimits &lim = HttpLimits())
{
    return parse_pieces(text, {}, eof, lim);
}

// Every split point and byte by byte must give the same result as one piece.
void expect_split_invariant(const std::string &text, bool eof)
{
    Parsed whole = parse(text, eof);
    for (size_t i = 0; i <= text.size(); i++) {
        Parsed two = parse_pieces(text, {i}, eof);
        ASSERT_EQ(two.status, whole.status) << "split at " << i;
        ASSERT_EQ(two.resp.status, whole.resp.status) << "split at " << i;
        ASSERT_EQ(two.resp.body, whole.resp.body) << "split at " << i;
        ASSERT_EQ(two.resp.keep_alive, whole.resp.keep_alive) << "split at " << i;
        ASSERT_EQ(two.consumed, whole.consumed) << "split at " << i;
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < text.size(); i++)
        every.push_back(i);
    Parsed bytes = parse_pieces(text, every, eof);
    EXPECT_EQ(bytes.status, whole.status);
    EXPECT_EQ(bytes.resp.body, whole.resp.body);
}

const char kUvicornToken[] = "HTTP/1.1 200 OK\r\n"
                             "date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                             "server: uvicorn\r\n"
                             "content-length: 46\r\n"
                             "content-type: application/json\r\n"
                             "\r\n"
                             "{\"access_token\":\"a.b.c\",\"token_type\":\"bearer\"}";

} // namespace

TEST(ApiHttpParser, ContentLengthResponseLikeUvicorn)
{
    Parsed r = parse(kUvicornToken);
    ASSERT_EQ(r.status, Status::done) << r.error;
    EXPECT_EQ(r.resp.status, 200);
    EXPECT_EQ(r.resp.reason, "OK");
    EXPECT_EQ(r.resp.version_minor, 1);
    EXPECT_EQ(r.resp.body, "{\"access_token\":\"a.b.c\",\"token_type\":\"bearer\"}");
    EXPECT_TRUE(r.resp.keep_alive);
    ASSERT_NE(r.resp.header("content-type"), nullptr);
    EXPECT_EQ(*r.resp.header("content-type"), "application/json");
    EXPECT_EQ(r.resp.header("Content-Type"), nullptr) << "lookups take lower-case names";
    EXPECT_EQ(r.consumed, sizeof(kUvicornToken) - 1);
}

TEST(ApiHttpParser, EverySplitPointGivesTheSameResult)
{
    expect_split_invariant(kUvicornToken, false);
    expect_split_invariant("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                           "0\r\nX-Trailer: yes\r\n\r\n",
                           false);
    expect_split_invariant("HTTP/1.0 200 OK\r\n\r\nuntil the close", true);
    expect_split_invariant("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false);
}

TEST(ApiHttpParser, TruncatedAtEverySplitPointIsAnErrorAtEof)
{
    std::string full = kUvicornToken;
    for (size_t i = 0; i < full.size(); i++) {
        Parsed r = parse(full.substr(0, i), true);
        ASSERT_EQ(r.status, Status::error) << "cut at " << i;
        EXPECT_FALSE(r.error.empty());
    }
    EXPECT_EQ(parse("", true).error, "connection closed before any response");
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true).error,
              "connection closed after 3 of 10 body bytes");
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true).error,
              "connection closed in the chunked body");
}

TEST(ApiHttpParser, ChunkedWithExtensionsAndTrailers)
{
    Parsed r = parse("HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
                     "4 ; ext=1;x=\"q\"\r\nWiki\r\n"
                     "5\r\npedia\r\n"
                     "E\r\n in\r\n\r\nchunks.\r\n"
                     "0\r\nExpires: never\r\nX-Other: 1\r\n\r\n");
    ASSERT_EQ(r.status, Status::done) << r.error;
    EXPECT_EQ(r.resp.body, "Wikipedia in\r\n\r\nchunks.");
    EXPECT_TRUE(r.resp.keep_alive);
    EXPECT_EQ(r.resp.header("expires"), nullptr) << "trailers are not kept";
}

TEST(ApiHttpParser, ChunkedMalformed)
{
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    EXPECT_EQ(parse(head + "zz\r\n").status, Status::error);
    EXPECT_EQ(parse(head + "\r\n").status, Status::error);
    EXPECT_EQ(parse(head + "5x\r\n").status, Status::error);
    EXPECT_EQ(parse(head + "3\r\nabcX\r\n").error, "chunk data not followed by CRLF");
    EXPECT_EQ(parse(head + "FFFFFFFFFFFFFFFFFFFF\r\n").error, "response body exceeds 65536 bytes");
    EXPECT_EQ(parse(head + "1;\x01\r\n").error, "control character in a chunk extension");
}

TEST(ApiHttpParser, BareLfLineEndingsAreAccepted)
{
    Parsed r = parse("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
    ASSERT_EQ(r.status, Status::done) << r.error;
    EXPECT_EQ(r.resp.body, "ok");
}

TEST(ApiHttpParser, BadStatusLines)
{
    EXPECT_EQ(parse("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n").error,
              "bad status line 'SSH-2.0-OpenSSH_9.2p1 Debian-2'");
    EXPECT_EQ(parse("HTTP/2.0 200 OK\r\n").error, "unsupported HTTP version 'HTTP/2.0'");
    EXPECT_EQ(parse("HTTP/1.1 2x0 OK\r\n").status, Status::error);
    EXPECT_EQ(parse("HTTP/1.1 099 Low\r\n").error, "status code 99 out of range");
    EXPECT_EQ(parse("HTTP/1.1 600 High\r\n").error, "status code 600 out of range");
    EXPECT_EQ(parse("HTTP/1.1 200OK\r\n").status, Status::error);
    EXPECT_EQ(parse("HTTP/1.1  200 OK\r\n").status, Status::error);
    EXPECT_EQ(parse("http/1.1 200 OK\r\n").status, Status::error);
    EXPECT_EQ(parse("HTTP/1.1 200 O\x01K\r\n").error, "control character in the reason phrase");
    // No reason phrase at all is fine (RFC 9112 §4).
    Parsed r = parse("HTTP/1.1 204\r\n\r\n");
    EXPECT_EQ(r.status, Status::done) << r.error;
    EXPECT_EQ(r.resp.reason, "");
    // Binary garbage (a TLS alert read as plain text) is quoted printably.
    EXPECT_EQ(parse(std::string("\x15\x03\x03\x00\x02\x02\x28\n", 8)).error,
              "bad status line '" + std::string(6, '?') + "('");
}

TEST(ApiHttpParser, BadHeaders)
{
    const std::string st = "HTTP/1.1 200 OK\r\n";
    EXPECT_EQ(parse(st + "X-A: 1\r\n folded\r\n\r\n").error,
              "obsolete line folding in the headers");
    EXPECT_EQ(parse(st + "\tfolded\r\n\r\n").error, "obsolete line folding in the headers");
    EXPECT_EQ(parse(st + "NoColon\r\n\r\n").status, Status::error);
    EXPECT_EQ(parse(st + ": empty name\r\n\r\n").status, Status::error);
    EXPECT_EQ(parse(st + "Bad Name: x\r\n\r\n").error, "bad header name 'Bad Name'");
    EXPECT_EQ(parse(st + "Name : x\r\n\r\n").status, Status::error) << "no space before ':'";
    EXPECT_EQ(parse(st + "X-A: a\x00"
                         "b\r\n\r\n")
                      .status,
              Status::need_more)
            << "string literal stops at NUL";
    EXPECT_EQ(parse(st + std::string("X-A: a\0b\r\n\r\n", 12)).error,
              "control character in header 'X-A'");
    EXPECT_EQ(parse(st + "X-A: a\rb\r\n\r\n").error, "control character in header 'X-A'");
    // Values are trimmed of optional white space; obs-text is kept.
    Parsed r = parse(st + "X-A: \t spaced out \t\r\nX-B: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(r.status, Status::done) << r.error;
    EXPECT_EQ(*r.resp.header("x-a"), "spaced out");
    EXPECT_EQ(*r.resp.header("x-b"), "caf\xc3\xa9");
}

TEST(ApiHttpParser, HeaderLimits)
{
    HttpLimits lim;
    lim.max_line_bytes = 100;
    lim.max_header_bytes = 300;
    lim.max_headers = 5;
    const std::string st = "HTTP/1.1 200 OK\r\n";
    EXPECT_EQ(parse(st + "X-Long: " + std::string(200, 'a') + "\r\n\r\n", false, lim).error,
              "header line exceeds 100 bytes");
    // The limit holds while the line is still incomplete: no unbounded buffering.
    EXPECT_EQ(parse(st + "X-Long: " + std::string(5000, 'a'), false, lim).status, Status::error);
    EXPECT_EQ(parse("HTTP/1.1 200 " + std::string(200, 'r') + "\r\n", false, lim).error,
              "status line exceeds 100 bytes");
    std::string many = st;
    for (int i = 0; i < 6; i++)
        many += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(parse(many + "\r\n", false, lim).error, "more than 5 header fields");
    std::string big = st;
    for (int i = 0; i < 5; i++)
        big += "X-" + std::to_string(i) + ": " + std::string(70, 'v') + "\r\n";
    EXPECT_EQ(parse(big + "\r\n", false, lim).error, "header section exceeds 300 bytes");
    // Trailers count against the same limits.
    std::string tr = st + "Transfer-Encoding: chunked\r\n\r\n0\r\n";
    for (int i = 0; i < 6; i++)
        tr += "T-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(parse(tr + "\r\n", false, lim).error, "more than 5 header fields");
}

TEST(ApiHttpParser, BodyLimitStopsEarly)
{
    HttpLimits lim;
    lim.max_body_bytes = 1000;
    // Content-Length above the limit is refused before any body byte is stored.
    Parsed r = parse("HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n", false, lim);
    EXPECT_EQ(r.error, "response body of 8388608 bytes exceeds 1000 bytes");
    // Exactly at the limit is fine.
    r = parse("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'), false,
              lim);
    EXPECT_EQ(r.status, Status::done) << r.error;
    // Body until close and chunked bodies are cut off as soon as they pass the limit.
    ResponseParser p(lim);
    std::string head = "HTTP/1.0 200 OK\r\n\r\n";
    size_t used;
    ASSERT_EQ(p.feed(head.data(), head.size(), &used), Status::need_more);
    std::string block(600, 'y');
    EXPECT_EQ(p.feed(block.data(), block.size(), &used), Status::need_more);
    EXPECT_EQ(p.feed(block.data(), block.size(), &used), Status::error);
    EXPECT_EQ(p.error(), "response body exceeds 1000 bytes");
    EXPECT_TRUE(p.response().body.empty());
    EXPECT_LT(p.response().body.capacity(), 64u) << "the partial body is released";
    r = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" +
                      std::string(600, 'z') + "\r\n258\r\n",
              false, lim);
    EXPECT_EQ(r.error, "response body exceeds 1000 bytes");
}

TEST(ApiHttpParser, ContentLengthRules)
{
    const std::string st = "HTTP/1.1 200 OK\r\n";
    // Identical duplicates, in one field or several, are one value (RFC 9110 §8.6).
    Parsed r = parse(st + "Content-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok");
    ASSERT_EQ(r.status, Status::done) << r.error;
    EXPECT_EQ(r.resp.body, "ok");
    EXPECT_EQ(parse(st + "Content-Length: 2\r\nContent-Length: 3\r\n\r\nok").error,
              "bad or conflicting Content-Length");
    EXPECT_EQ(parse(st + "Content-Length: 2, 3\r\n\r\nok").status, Status::error);
    EXPECT_EQ(parse(st + "Content-Length: -1\r\n\r\n").status, Status::error);
    EXPECT_EQ(parse(st + "Content-Length: 0x10\r\n\r\n").status, Status::error);
    EXPECT_EQ(parse(st + "Content-Length:\r\n\r\n").status, Status::error);
    EXPECT_EQ(parse(st + "Content-Length: 99999999999999999999999\r\n\r\n").status, Status::error);
    EXPECT_EQ(parse(st + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n").error,
              "both Transfer-Encoding and Content-Length");
    EXPECT_EQ(parse(st + "Transfer-Encoding: gzip, chunked\r\n\r\n").error,
              "unsupported Transfer-Encoding");
    EXPECT_EQ(parse(st + "Transfer-Encoding: chunked, chunked\r\n\r\n").error,
              "unsupported Transfer-Encoding");
    // Content-Length: 0 ends the response at once.
    r = parse(st + "Content-Length: 0\r\n\r\n");
    EXPECT_EQ(r.status, Status::done);
    EXPECT_TRUE(r.resp.keep_alive);
}

TEST(ApiHttpParser, NoBodyStatusesIgnoreLength)
{
    Parsed r = parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n");
    EXPECT_EQ(r.status, Status::done);
    EXPECT_EQ(r.resp.body, "");
    EXPECT_TRUE(r.resp.keep_alive);
    r = parse("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n");
    EXPECT_EQ(r.status, Status::done);
    EXPECT_EQ(r.consumed, 27u) << "stops at the end of the response";
}

TEST(ApiHttpParser, InterimResponsesAreSkipped)
{
    Parsed r = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    ASSERT_EQ(r.status, Status::done) << r.error;
    EXPECT_EQ(r.resp.status, 200);
    EXPECT_EQ(r.resp.header("link"), nullptr);
    EXPECT_EQ(parse("HTTP/1.1 101 Switching Protocols\r\n\r\n").error,
              "unexpected 101 Switching Protocols");
    std::string many;
    for (int i = 0; i < 5; i++)
        many += "HTTP/1.1 100 Continue\r\n\r\n";
    EXPECT_EQ(parse(many).error, "too many interim (1xx) responses");
}

TEST(ApiHttpParser, KeepAliveDecisions)
{
    auto ka = [](const std::string &text, bool eof = false) {
        Parsed r = parse(text, eof);
        EXPECT_EQ(r.status, Status::done) << text << ": " << r.error;
        return r.resp.keep_alive;
    };
    EXPECT_TRUE(ka("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_FALSE(ka("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_FALSE(ka("HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_FALSE(ka("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_TRUE(ka("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_FALSE(
            ka("HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_TRUE(ka("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
    // Delimited by the close: never reusable.
    EXPECT_FALSE(ka("HTTP/1.1 200 OK\r\n\r\nbody", true));
}

TEST(ApiHttpParser, ResetMakesItReusable)
{
    ResponseParser p;
    size_t used;
    std::string a = "garbage\r\n";
    EXPECT_EQ(p.feed(a.data(), a.size(), &used), Status::error);
    EXPECT_EQ(p.feed(a.data(), a.size(), &used), Status::error) << "error is sticky";
    EXPECT_EQ(used, 0u);
    p.reset();
    EXPECT_FALSE(p.started());
    std::string b = kUvicornToken;
    EXPECT_EQ(p.feed(b.data(), b.size(), &used), Status::done);
    EXPECT_TRUE(p.started());
    EXPECT_EQ(p.response().status, 200);
}

TEST(ApiHttpRequest, FormatsRequestLineHeadersAndBody)
{
    std::string r = api::http_request("POST", "/token", "192.0.2.1:65500", "X-Extra: 1\r\n",
                                      "application/x-www-form-urlencoded", "a=b");
    EXPECT_EQ(r.substr(0, 45), "POST /token HTTP/1.1\r\nHost: 192.0.2.1:65500\r\n");
    EXPECT_NE(r.find("\r\nContent-Type: application/x-www-form-urlencoded\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nContent-Length: 3\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nX-Extra: 1\r\n\r\na=b"), std::string::npos);
    EXPECT_EQ(r.substr(r.size() - 7), "\r\n\r\na=b");
    std::string g = api::http_request("GET", "/", "h:1", "", "", "");
    EXPECT_EQ(g.find("Content-Length"), std::string::npos);
    EXPECT_EQ(g.substr(g.size() - 4), "\r\n\r\n");
}

TEST(ApiHttpRequest, HostPort)
{
    EXPECT_EQ(api::host_port("192.0.2.1", 65500), "192.0.2.1:65500");
    EXPECT_EQ(api::host_port("2001:db8::1", 443), "[2001:db8::1]:443");
    EXPECT_EQ(api::host_port("vps.example", 1), "vps.example:1");
}

TEST(ApiUrlEncode, ReservedSpacesAndUtf8)
{
    EXPECT_EQ(api::url_encode("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(api::url_encode("a b"), "a%20b") << "space is %20, never '+'";
    EXPECT_EQ(api::url_encode("a+b"), "a%2Bb");
    EXPECT_EQ(api::url_encode("p&w=d%x"), "p%26w%3Dd%25x");
    EXPECT_EQ(api::url_encode(":/?#[]@!$'()*,;"), "%3A%2F%3F%23%5B%5D%40%21%24%27%28%29%2A%2C%3B");
    EXPECT_EQ(api::url_encode("caf\xc3\xa9"), "caf%C3%A9");
    EXPECT_EQ(api::url_encode(std::string("\0\n\x7f\xff", 4)), "%00%0A%7F%FF");
    EXPECT_EQ(api::url_encode(""), "");
}

TEST(ApiUrlEncode, FormFields)
{
    EXPECT_EQ(api::form_encode({{"username", "openmptcprouter"}, {"password", "p&ss w=rd"}}),
              "username=openmptcprouter&password=p%26ss%20w%3Drd");
    EXPECT_EQ(api::form_encode({}), "");
}
