// Splits a hook's output stream into bounded, printable log lines: a pure structure.
//
// Memory is bounded by |max_line_bytes| whatever the input: a longer line is cut (and
// flagged), and once |max_lines| lines were handed out the rest are only counted, not
// copied, so a hook printing megabytes costs a memchr per chunk and no allocation.
// Control characters (except tab) and DEL become '?', a trailing CR is dropped, and
// empty or blank lines are skipped: they carry nothing for a log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hooks {

class LineSplitter {
public:
    // Receives one line (not NUL-terminated, no newline); |truncated| when it was cut.
    using Emit = void (*)(void *ctx, const char *line, size_t len, bool truncated) noexcept;

    LineSplitter(size_t max_line_bytes, unsigned max_lines);
    void feed(const char *data, size_t n, Emit emit, void *ctx);
    // End of stream: a last line without newline is handed out too.
    void finish(Emit emit, void *ctx);

    unsigned emitted() const { return emitted_; }
    uint64_t suppressed() const { return suppressed_; }
    uint64_t bytes() const { return bytes_; }
    // Never more than max_line_bytes: what the bound on memory rests on.
    size_t buffered() const { return buf_.size(); }

private:
    void end_line(Emit emit, void *ctx);

    std::string buf_;
    size_t max_bytes_;
    unsigned max_lines_;
    unsigned emitted_ = 0;
    uint64_t suppressed_ = 0;
    uint64_t bytes_ = 0;
    bool in_line_ = false; // bytes of the current line were seen
    bool truncated_ = false;
};

} // namespace hooks
