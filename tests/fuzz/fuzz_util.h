// Shared by the fuzz targets: the libFuzzer entry point's declaration, an invariant check
// that aborts (libFuzzer and the replay driver both report an abort as a crash, with the
// input saved), and a reader that takes typed values off the front of the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// A property the code under test promises for every input. Not assert(): it must hold in
// release builds too.
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

namespace fuzz {

// Consumes the input from the front; past the end every read returns 0 / empty.
class Input {
public:
    Input(const uint8_t *data, size_t size) : p_(data), n_(size) {}

    uint8_t u8()
    {
        if (n_ == 0)
            return 0;
        n_--;
        return *p_++;
    }
    uint16_t u16() { return uint16_t(u8() << 8 | u8()); }
    // Up to |max| bytes, as a view into the input.
    std::string_view bytes(size_t max)
    {
        size_t k = max < n_ ? max : n_;
        std::string_view v(reinterpret_cast<const char *>(p_), k);
        p_ += k;
        n_ -= k;
        return v;
    }
    std::string_view rest() { return bytes(n_); }
    const uint8_t *data() const { return p_; }
    size_t size() const { return n_; }

private:
    const uint8_t *p_;
    size_t n_;
};

} // namespace fuzz
