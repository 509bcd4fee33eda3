// The rpcd "exec plugin" protocol, so that `ubus call omr-tracker status` works: rpcd runs
// /usr/libexec/rpcd/omr-tracker (a two-line script that execs `omr-trackerctl rpcd "$@"`)
// with `list` once at start-up, and with `call METHOD` for each call, the call's argument
// object as JSON on stdin. Each run must print one JSON object; rpcd ignores the exit status
// and turns anything that is not an object into UBUS_STATUS_INVALID_ARGUMENT, so failures
// are reported as {"ok": false, "error": "..."}.
//
// Methods:
//   status            the status document (DESIGN.md "Status"), as `omr-trackerctl status --json`
//   recheck {name}    check NAME now (an interface or server; absent or "": everything)
//   reload            re-read the configuration; {"ok":false,"error",..."errors":[...]} if invalid
#pragma once

#include <string>
#include <string_view>

namespace core {
class JsonValue;
}

namespace ctl {

// The `list` answer: method names and argument signatures (rpcd maps "str" to a string).
std::string rpcd_signatures();

// The call's arguments: a JSON object (empty or blank text counts as {}). False, with a
// message, for anything else.
bool rpcd_parse_args(std::string_view text, core::JsonValue &args, std::string *err);

// {"ok":false,"error":MESSAGE}
std::string rpcd_error(std::string_view message);

} // namespace ctl
