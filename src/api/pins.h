// Public-key pins for the `pin` certificate policy: the SHA-256 of a server certificate's
// SubjectPublicKeyInfo (DER), like curl's --pinnedpubkey and RFC 7469's pin-sha256.
// Hashing the key rather than the certificate lets a VPS renew its self-signed
// certificate with the same key without tripping the pin.
//
// Trust on first use: the first key seen for a server is stored in a small state file,
// then enforced. The file is text, one pin a line, rewritten atomically:
//   # comment
//   vps sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
// To accept a new key after a legitimate change, delete the server's line (or the file).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace api {

using Pin = std::array<uint8_t, 32>;

// Accepts "sha256:<64 hex>" (any case, ':' between bytes allowed), bare <64 hex>, and
// curl's "sha256//<base64>".
bool parse_pin(std::string_view s, Pin &out);
// "sha256:<64 lower-case hex>".
std::string pin_to_string(const Pin &p);
// SHA-256 of |der| (the SubjectPublicKeyInfo).
Pin pin_of_spki(const uint8_t *der, size_t len);

class PinStore {
public:
    static constexpr size_t kMaxFileBytes = 64 * 1024;
    static constexpr size_t kMaxEntries = 256;

    // |path| empty: pins live in memory only (tests, or no state directory).
    explicit PinStore(std::string path = std::string()) : path_(std::move(path)) {}

    // Reads the file. A missing file is an empty store. A corrupt one (bad line, too big)
    // makes the store unusable: lookups still answer for the lines that parsed, but
    // nothing new is trusted and the file is never rewritten, so a damaged file cannot
    // silently turn into "trust whatever comes next". |err| names the file and line.
    bool load(std::string *err);
    bool usable() const { return usable_; }
    // Why the store is unusable ("" if it is usable).
    const std::string &problem() const { return problem_; }
    const std::string &path() const { return path_; }

    const Pin *find(std::string_view name) const;
    // Stores a first-use pin and rewrites the file. False (|err| set) when the store is
    // unusable, |name| is not a plain word, it already has a different pin, or the
    // write failed (the pin then stays in memory for this run).
    bool remember(std::string_view name, const Pin &pin, std::string *err);
    // Drops a pin (and rewrites the file); true if there was one.
    bool forget(std::string_view name, std::string *err);
    size_t size() const { return entries_.size(); }

    // Names are what UCI allows for section names plus '.', ':' and '-'.
    static bool valid_name(std::string_view name);

private:
    bool save(std::string *err);

    struct Entry {
        std::string name;
        Pin pin;
    };
    std::string path_;
    std::vector<Entry> entries_;
    bool usable_ = true;
    std::string problem_;
};

} // namespace api
