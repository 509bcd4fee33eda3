// File helpers with explicit error reporting (no exceptions).
#pragma once

#include <cstddef>
#include <string>

namespace core {

// Writes |data| to |path| atomically: a temporary file in the same directory, fsync,
// rename (STYLE.md §12). Readers see the old or the new content, never a mix.
// On failure returns false and sets |err| to a sentence naming the path and errno;
// the old file is left untouched and the temporary removed.
bool write_file_atomic(const std::string &path, const std::string &data, unsigned mode,
                       std::string *err);

// Reads a whole (small) file; false if it cannot be opened or exceeds |max_bytes|.
bool read_file(const std::string &path, std::string &out, size_t max_bytes, std::string *err);

} // namespace core
