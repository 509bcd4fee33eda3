// Small string helpers shared by the parsers (config, control requests, API replies).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace core {

std::string_view trim(std::string_view s);
// Splits on runs of spaces/tabs (UCI list-in-option style, OMR host lists).
std::vector<std::string> split_words(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

// Strict decimal parse of the whole string (no sign, no spaces, no suffix).
bool parse_u64(std::string_view s, uint64_t &out);
bool parse_i64(std::string_view s, int64_t &out);
// A decimal number with an optional fraction ("1.5"); whole string.
bool parse_decimal(std::string_view s, double &out);

// UCI booleans as OpenWrt's /lib/functions.sh and uci_validate accept them:
// 1/yes/on/true/enabled and 0/no/off/false/disabled (case-insensitive).
bool parse_uci_bool(std::string_view s, bool &out);

// printf into a std::string.
std::string strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Shortens |s| for logs and messages ("abc…" + count), never cutting a UTF-8 sequence.
std::string truncate_for_log(std::string_view s, size_t max_bytes);

} // namespace core
