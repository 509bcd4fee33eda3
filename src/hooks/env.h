// The variables handed to one hook run (reference §4.2).
//
// Data reaches a hook only through its environment, never through a command string
// (issue 10, "Security"): a value may hold any byte except NUL, spaces, quotes, newlines,
// `$(...)`, and arrives verbatim. Names are shell identifiers chosen by our own code;
// the few names a shell or the dynamic loader would act on at start-up (BASH_ENV, ENV,
// SHELLOPTS, LD_*, ...) are refused as defence in depth.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hooks {

class HookEnv {
public:
    // Sets or replaces |name|. False (and nothing changes) when the name is not a shell
    // identifier, is one of the refused names, or the value contains a NUL byte.
    bool set(std::string_view name, std::string_view value);
    // The value of |name| (NUL-terminated, inside this object), or nullptr.
    const char *get(std::string_view name) const;
    bool unset(std::string_view name);
    void clear() { entries_.clear(); }
    size_t size() const { return entries_.size(); }
    // "NAME=VALUE" strings, in insertion order: what execve() receives.
    const std::vector<std::string> &entries() const { return entries_; }

    static bool valid_name(std::string_view name);

private:
    int find(std::string_view name) const;
    std::vector<std::string> entries_;
};

} // namespace hooks
