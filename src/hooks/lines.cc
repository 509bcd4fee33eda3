#include "hooks/lines.h"

#include <cstring>

namespace hooks {

LineSplitter::LineSplitter(size_t max_line_bytes, unsigned max_lines)
    : max_bytes_(max_line_bytes ? max_line_bytes : 1), max_lines_(max_lines)
{
    buf_.reserve(max_bytes_);
}

void LineSplitter::feed(const char *data, size_t n, Emit emit, void *ctx)
{
    bytes_ += n;
    while (n > 0) {
        const char *nl = static_cast<const char *>(std::memchr(data, '\n', n));
        size_t seg = nl ? size_t(nl - data) : n;
        if (seg > 0)
            in_line_ = true;
        if (emitted_ < max_lines_) {
            size_t room = max_bytes_ - buf_.size();
            if (seg > room) {
                truncated_ = true;
                buf_.append(data, room);
            } else {
                buf_.append(data, seg);
            }
        }
        if (!nl)
            return;
        end_line(emit, ctx);
        data += seg + 1;
        n -= seg + 1;
    }
}

void LineSplitter::finish(Emit emit, void *ctx)
{
    if (in_line_)
        end_line(emit, ctx);
}

void LineSplitter::end_line(Emit emit, void *ctx)
{
    bool truncated = truncated_;
    in_line_ = false;
    truncated_ = false;
    if (emitted_ >= max_lines_) {
        // Counted, never copied. Blank lines cannot be told apart here; they count too.
        suppressed_++;
        buf_.clear();
        return;
    }
    if (!buf_.empty() && buf_.back() == '\r')
        buf_.pop_back();
    bool blank = true;
    for (char &c : buf_) {
        unsigned char u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f)
            c = '?';
        if (c != ' ' && c != '\t')
            blank = false;
    }
    if (!blank) {
        emitted_++;
        emit(ctx, buf_.data(), buf_.size(), truncated);
    }
    buf_.clear();
}

} // namespace hooks
