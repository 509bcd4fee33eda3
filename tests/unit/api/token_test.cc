#include "api/token.h"

#include <gtest/gtest.h>

#include <string>

namespace {

std::string b64url(const std::string &s)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
        uint32_t v = uint32_t(uint8_t(s[i])) << 16 | uint32_t(uint8_t(s[i + 1])) << 8 |
                     uint8_t(s[i + 2]);
        for (int k = 3; k >= 0; k--)
            out.push_back(tbl[(v >> (6 * k)) & 63]);
    }
    if (s.size() - i == 1) {
        uint32_t v = uint32_t(uint8_t(s[i])) << 16;
        out.push_back(tbl[(v >> 18) & 63]);
        out.push_back(tbl[(v >> 12) & 63]);
    } else if (s.size() - i == 2) {
        uint32_t v = uint32_t(uint8_t(s[i])) << 16 | uint32_t(uint8_t(s[i + 1])) << 8;
        out.push_back(tbl[(v >> 18) & 63]);
        out.push_back(tbl[(v >> 12) & 63]);
        out.push_back(tbl[(v >> 6) & 63]);
    }
    return out;
}

std::string jwt(const std::string &payload)
{
    return b64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + b64url(payload) + ".c2ln";
}

constexpr int64_t kNow = 1700000000; // a plausible wall clock, seconds

} // namespace

TEST(ApiBase64, UrlAlphabetWithAndWithoutPadding)
{
    std::string out;
    ASSERT_TRUE(api::base64url_decode("aGVsbG8", out));
    EXPECT_EQ(out, "hello");
    ASSERT_TRUE(api::base64url_decode("aGVsbG8=", out));
    EXPECT_EQ(out, "hello");
    ASSERT_TRUE(api::base64url_decode("-_8", out));
    EXPECT_EQ(out, "\xfb\xff");
    ASSERT_TRUE(api::base64url_decode("", out));
    EXPECT_EQ(out, "");
    EXPECT_FALSE(api::base64url_decode("+/8", out)) << "standard alphabet is not base64url";
    EXPECT_FALSE(api::base64url_decode("aGVsbG8==", out)) << "wrong padding";
    EXPECT_FALSE(api::base64url_decode("a", out)) << "6 bits are no byte";
    EXPECT_FALSE(api::base64url_decode("aGV sbG8", out));
    EXPECT_FALSE(api::base64url_decode("aGVsbG9", out)) << "non-zero trailing bits";
    EXPECT_FALSE(api::base64url_decode("a=GV", out));
}

TEST(ApiBase64, StandardNeedsPadding)
{
    std::string out;
    ASSERT_TRUE(api::base64_decode("+/8=", out));
    EXPECT_EQ(out, "\xfb\xff");
    EXPECT_FALSE(api::base64_decode("+/8", out));
    EXPECT_FALSE(api::base64_decode("-_8=", out));
}

TEST(ApiTokenReply, RealApiShape)
{
    std::string tok;
    std::string err;
    std::string t = jwt("{\"sub\":\"openmptcprouter\",\"exp\":1700086400}");
    ASSERT_TRUE(api::parse_token_reply(
            "{\"access_token\": \"" + t + "\", \"token_type\": \"bearer\"}", tok, &err))
            << err;
    EXPECT_EQ(tok, t);
    ASSERT_TRUE(api::parse_token_reply("{\"token_type\":\"Bearer\",\"access_token\":\"abc\"}", tok,
                                       &err));
    EXPECT_EQ(tok, "abc");
    ASSERT_TRUE(api::parse_token_reply("{\"access_token\":\"abc==\"}", tok, &err))
            << "token_type is optional";
}

TEST(ApiTokenReply, Rejections)
{
    std::string tok = "old";
    std::string err;
    EXPECT_FALSE(api::parse_token_reply("{\"detail\": \"truncated", tok, &err));
    EXPECT_EQ(err.substr(0, 13), "invalid JSON ");
    EXPECT_EQ(tok, "") << "cleared on failure";
    EXPECT_FALSE(api::parse_token_reply("\"Welcome to OpenMPTCProuter Server part\"", tok, &err));
    EXPECT_EQ(err, "not a JSON object");
    EXPECT_FALSE(api::parse_token_reply("{\"token_type\":\"bearer\"}", tok, &err));
    EXPECT_EQ(err, "no access_token");
    EXPECT_FALSE(api::parse_token_reply("{\"access_token\":42}", tok, &err));
    EXPECT_EQ(err, "no access_token");
    // It goes into a header line: no CR/LF, spaces or other junk.
    EXPECT_FALSE(api::parse_token_reply("{\"access_token\":\"a\\r\\nX-Evil: 1\"}", tok, &err));
    EXPECT_EQ(err, "malformed access_token");
    EXPECT_EQ(err.find("Evil"), std::string::npos) << "never quotes the token";
    EXPECT_FALSE(api::parse_token_reply("{\"access_token\":\"a b\"}", tok, &err));
    EXPECT_FALSE(api::parse_token_reply("{\"access_token\":\"\"}", tok, &err));
    EXPECT_FALSE(api::parse_token_reply("{\"access_token\":\"=abc\"}", tok, &err));
    EXPECT_FALSE(api::parse_token_reply(
            "{\"access_token\":\"" + std::string(api::kMaxTokenBytes + 1, 'a') + "\"}", tok, &err));
    EXPECT_FALSE(
            api::parse_token_reply("{\"access_token\":\"abc\",\"token_type\":\"mac\"}", tok, &err));
    EXPECT_EQ(err, "token_type is not bearer");
}

TEST(ApiJwt, ExpFromPayload)
{
    int64_t exp = 0;
    ASSERT_TRUE(api::jwt_exp(jwt("{\"sub\":\"u\",\"exp\":1700086400}"), exp));
    EXPECT_EQ(exp, 1700086400);
    ASSERT_TRUE(api::jwt_exp(jwt("{\"exp\":1700086400.75}"), exp))
            << "NumericDate may be fractional";
    EXPECT_EQ(exp, 1700086400);
}

TEST(ApiJwt, BadTokens)
{
    int64_t exp = 0;
    EXPECT_FALSE(api::jwt_exp("not-a-jwt", exp));
    EXPECT_FALSE(api::jwt_exp("a.b", exp));
    EXPECT_FALSE(api::jwt_exp("a.b.c.d", exp));
    EXPECT_FALSE(api::jwt_exp("x.!!!.y", exp)) << "bad base64url";
    EXPECT_FALSE(api::jwt_exp("x." + b64url("not json") + ".y", exp));
    EXPECT_FALSE(api::jwt_exp(jwt("{\"sub\":\"u\"}"), exp)) << "no exp";
    EXPECT_FALSE(api::jwt_exp(jwt("{\"exp\":\"soon\"}"), exp));
    EXPECT_FALSE(api::jwt_exp(jwt("{\"exp\":-5}"), exp));
    EXPECT_FALSE(api::jwt_exp(jwt("{\"exp\":1e300}"), exp));
    EXPECT_FALSE(api::jwt_exp(jwt("[1,2]"), exp));
}

TEST(ApiJwt, UsableLifetime)
{
    const int64_t s = omrt::kUsPerS;
    const int64_t now = kNow * s;
    // 24 h token: used for 24 h minus 5 min.
    EXPECT_EQ(api::token_usable_us(jwt("{\"exp\":1700086400}"), now), 86400 * s - 300 * s);
    // 10 min token: minus a tenth.
    EXPECT_EQ(api::token_usable_us(jwt("{\"exp\":1700000600}"), now), 540 * s);
    // No exp, or not a JWT: 24 h minus the margin.
    const int64_t dflt = 86400 * s - 300 * s;
    EXPECT_EQ(api::token_usable_us("opaque-token", now), dflt);
    EXPECT_EQ(api::token_usable_us(jwt("{\"sub\":\"u\"}"), now), dflt);
    // Expired or absurdly far by our clock: our clock is wrong, assume the default.
    EXPECT_EQ(api::token_usable_us(jwt("{\"exp\":1600000000}"), now), dflt);
    EXPECT_EQ(api::token_usable_us(jwt("{\"exp\":1900000000}"), now), dflt);
    // A router in 1970 (no RTC, NTP not yet synced) cannot judge "exp" at all.
    EXPECT_EQ(api::token_usable_us(jwt("{\"exp\":1700086400}"), 1000 * s), dflt);
}

TEST(ApiErrorDetail, FastApiShapes)
{
    EXPECT_EQ(api::api_error_detail("{\"detail\":\"Incorrect username or password\"}"),
              "Incorrect username or password");
    EXPECT_EQ(api::api_error_detail(
                      "{\"detail\":[{\"loc\":[\"body\",\"password\"],\"msg\":\"field required\","
                      "\"type\":\"value_error.missing\"}]}"),
              "password: field required");
    // pydantic 2 echoes the input: only "msg" and the field name are used.
    std::string d = api::api_error_detail(
            "{\"detail\":[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"password\"],"
            "\"msg\":\"String should have at least 1 character\",\"input\":\"s3cr3t-pw\"}]}");
    EXPECT_EQ(d, "password: String should have at least 1 character");
    EXPECT_EQ(api::api_error_detail("Internal Server Error"), "");
    EXPECT_EQ(api::api_error_detail("{\"error\":\"x\"}"), "");
    EXPECT_EQ(api::api_error_detail("{\"detail\":\"bell\\u0007\\nnext\"}"), "bell??next");
    EXPECT_EQ(api::api_error_detail("{\"detail\":\"" + std::string(300, 'x') + "\"}").size(), 123u);
}
