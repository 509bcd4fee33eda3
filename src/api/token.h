// The VPS API's bearer token (reference §5.6): parsing the /token reply, reading the
// JWT's expiry, deciding how long to keep it, and reading FastAPI error details. Pure.
#pragma once

#include "omrt/clock.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace api {

// Longest token accepted: omr-admin's HS256 JWTs are ~150 bytes.
constexpr size_t kMaxTokenBytes = 4096;
// Lifetime assumed when the token carries no usable "exp": omr-admin's
// ACCESS_TOKEN_EXPIRE_MINUTES = 1440.
constexpr int64_t kDefaultTokenLifetimeUs = 24 * 3600 * omrt::kUsPerS;
// Wall clocks before this (2020-01-01T00:00:00Z) are taken as "not set yet": a router
// without RTC boots in 1970 or at its firmware's build date until NTP answers.
constexpr int64_t kPlausibleWallS = 1577836800;

// base64url (RFC 4648 §5), '=' padding optional (JWTs omit it, RFC 7515 §2). False on a
// character outside the alphabet, a bad length or non-zero trailing bits.
bool base64url_decode(std::string_view in, std::string &out);
// Standard base64 (RFC 4648 §4), padding required: curl-style "sha256//..." pins.
bool base64_decode(std::string_view in, std::string &out);

// The 200 reply of POST /token: {"access_token": "<JWT>", "token_type": "bearer"}.
// The token must be a b64token (RFC 6750 §2.1) of at most kMaxTokenBytes, since it goes
// into a header line; token_type, when present, must be "bearer" (any case).
// On failure |err| says what is wrong, never quoting the token.
bool parse_token_reply(std::string_view body, std::string &token, std::string *err);

// The "exp" claim (RFC 7519 §4.1.4) of a JWT's payload, in seconds since the epoch.
// False if |token| is not three dot-separated parts, the payload is not base64url JSON
// or has no numeric "exp".
bool jwt_exp(std::string_view token, int64_t &exp_s);

// How long (µs, monotonic) a token received at wall time |now_wall_us| stays usable:
// until its "exp" minus a margin (a tenth of the lifetime, at most 5 min), or, without
// "exp", with an implausible clock, or an "exp" in the past or more than 30 days ahead
// (the clock is wrong, not the server), kDefaultTokenLifetimeUs minus the margin. The
// API also says when a token is no longer good (401/403), which renews it anyway.
int64_t token_usable_us(std::string_view token, omrt::WallUs now_wall_us);

// The human part of a FastAPI error body: {"detail":"Incorrect username or password"}
// or, for validation errors (422), the first {"detail":[{"msg":...,"loc":[...,"password"]}]}
// as "password: field required". Printable ASCII, at most 120 bytes; "" if none.
std::string api_error_detail(std::string_view body);

} // namespace api
