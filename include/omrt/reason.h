// Stable reason codes: why an interface or a server is in its state (status "reason",
// logs, hooks' OMR_TRACKER_REASON, metrics labels). The names are an interface to
// users' scripts: never rename one; add new ones at the end of their group.
#pragma once

#include <cstdint>
#include <string_view>

namespace omrt {

#define OMRT_REASONS(X)                                                                            \
    /* general */                                                                                  \
    X(ok, "ok")                                                                                    \
    X(pending, "pending") /* not checked yet */                                                    \
    X(disabled, "disabled")                                                                        \
    X(config, "config")     /* configuration prevents checking */                                  \
    X(internal, "internal") /* a local failure: socket, permission, resources */                   \
    /* interface tracker */                                                                        \
    X(link_down, "link_down")                                                                      \
    X(no_device, "no_device")                                                                      \
    X(no_address, "no_address")                                                                    \
    X(no_gateway, "no_gateway")                                                                    \
    X(gateway_unreachable, "gateway_unreachable")                                                  \
    X(target_timeout, "target_timeout")                                                            \
    X(quality_loss, "quality_loss")                                                                \
    X(quality_latency, "quality_latency")                                                          \
    X(flap_damped, "flap_damped") /* answers, but held down by flap damping */                     \
    X(no_target, "no_target")     /* nothing to probe: no server address, no usable host */        \
    /* DNS */                                                                                      \
    X(dns_nxdomain, "dns_nxdomain")                                                                \
    X(dns_nodata, "dns_nodata")                                                                    \
    X(dns_servfail, "dns_servfail")                                                                \
    X(dns_refused, "dns_refused")                                                                  \
    X(dns_timeout, "dns_timeout")                                                                  \
    X(dns_truncated, "dns_truncated")                                                              \
    X(dns_bad_reply, "dns_bad_reply")                                                              \
    X(dns_no_servers, "dns_no_servers")                                                            \
    X(dns_bad_address, "dns_bad_address")                                                          \
    /* network / TLS / HTTP / VPS API */                                                           \
    X(net_unreachable, "net_unreachable")                                                          \
    X(tcp_refused, "tcp_refused")                                                                  \
    X(tcp_timeout, "tcp_timeout")                                                                  \
    X(tls_handshake, "tls_handshake")                                                              \
    X(tls_cert_invalid, "tls_cert_invalid")                                                        \
    X(tls_pin_mismatch, "tls_pin_mismatch")                                                        \
    X(http_status, "http_status")                                                                  \
    X(http_bad_response, "http_bad_response")                                                      \
    X(api_auth_rejected, "api_auth_rejected")                                                      \
    X(api_timeout, "api_timeout")

enum class Reason : uint8_t {
#define OMRT_REASON_ENUM(id, name) id,
    OMRT_REASONS(OMRT_REASON_ENUM)
#undef OMRT_REASON_ENUM
};

const char *reason_name(Reason r);
// False if |name| is not a known code.
bool reason_from_name(std::string_view name, Reason &out);

// What the status contract calls "status".
enum class Health : uint8_t { Unknown, Ok, Error };
const char *health_name(Health h); // "UNKNOWN", "OK", "ERROR"

} // namespace omrt
