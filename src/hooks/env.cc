#include "hooks/env.h"

#include <cstring>

namespace hooks {

namespace {

// Variables a shell or ld.so acts on before the hook's first line runs.
bool refused_name(std::string_view n)
{
    static const char *const refused[] = {"BASH_ENV", "ENV",           "SHELLOPTS",
                                          "BASHOPTS", "BASH_XTRACEFD", "PS4"};
    for (const char *r : refused)
        if (n == r)
            return true;
    return n.substr(0, 3) == "LD_" || n.substr(0, 10) == "BASH_FUNC_";
}

} // namespace

bool HookEnv::valid_name(std::string_view name)
{
    if (name.empty() || name.size() > 128)
        return false;
    for (size_t i = 0; i < name.size(); i++) {
        char c = name[i];
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && i > 0))
            return false;
    }
    return !refused_name(name);
}

int HookEnv::find(std::string_view name) const
{
    for (size_t i = 0; i < entries_.size(); i++) {
        const std::string &e = entries_[i];
        if (e.size() > name.size() && e[name.size()] == '=' &&
            std::memcmp(e.data(), name.data(), name.size()) == 0)
            return int(i);
    }
    return -1;
}

bool HookEnv::set(std::string_view name, std::string_view value)
{
    if (!valid_name(name) || value.find('\0') != std::string_view::npos)
        return false;
    std::string entry;
    entry.reserve(name.size() + 1 + value.size());
    entry.append(name).append(1, '=').append(value);
    int i = find(name);
    if (i >= 0)
        entries_[size_t(i)] = std::move(entry);
    else
        entries_.push_back(std::move(entry));
    return true;
}

const char *HookEnv::get(std::string_view name) const
{
    int i = find(name);
    return i < 0 ? nullptr : entries_[size_t(i)].c_str() + name.size() + 1;
}

bool HookEnv::unset(std::string_view name)
{
    int i = find(name);
    if (i < 0)
        return false;
    entries_.erase(entries_.begin() + i);
    return true;
}

} // namespace hooks
