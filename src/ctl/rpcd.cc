#include "ctl/rpcd.h"

#include "core/json.h"
#include "core/str.h"

namespace ctl {

std::string rpcd_signatures()
{
    core::JsonWriter w;
    w.begin_object();
    w.key("status");
    w.begin_object();
    w.end_object();
    w.key("recheck");
    w.begin_object();
    w.kv("name", "str");
    w.end_object();
    w.key("reload");
    w.begin_object();
    w.end_object();
    w.end_object();
    return w.take();
}

bool rpcd_parse_args(std::string_view text, core::JsonValue &args, std::string *err)
{
    if (core::trim(text).empty())
        text = "{}";
    core::JsonLimits lim;
    lim.max_bytes = 64 * 1024;
    lim.max_depth = 8;
    lim.max_elements = 1024;
    std::string e;
    if (!core::json_parse(text, args, &e, lim)) {
        if (err)
            *err = "bad JSON arguments: " + e;
        return false;
    }
    if (!args.is_object()) {
        if (err)
            *err = "the arguments must be a JSON object";
        return false;
    }
    return true;
}

std::string rpcd_error(std::string_view message)
{
    core::JsonWriter w;
    w.begin_object();
    w.kv("ok", false);
    w.kv("error", message);
    w.end_object();
    return w.take();
}

} // namespace ctl
