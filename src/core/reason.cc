#include "omrt/reason.h"

namespace omrt {

namespace {
const char *const kReasonNames[] = {
#define OMRT_REASON_NAME(id, name) name,
        OMRT_REASONS(OMRT_REASON_NAME)
#undef OMRT_REASON_NAME
};
constexpr unsigned kReasonCount = sizeof(kReasonNames) / sizeof(kReasonNames[0]);
} // namespace

const char *reason_name(Reason r)
{
    unsigned i = unsigned(r);
    return i < kReasonCount ? kReasonNames[i] : "internal";
}

bool reason_from_name(std::string_view name, Reason &out)
{
    for (unsigned i = 0; i < kReasonCount; i++)
        if (name == kReasonNames[i]) {
            out = Reason(i);
            return true;
        }
    return false;
}

const char *health_name(Health h)
{
    switch (h) {
    case Health::Ok:
        return "OK";
    case Health::Error:
        return "ERROR";
    case Health::Unknown:
        break;
    }
    return "UNKNOWN";
}

} // namespace omrt
