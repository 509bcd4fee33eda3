// Dropping root (DESIGN.md "Privileges"): become |user| (its uid, gid, supplementary
// groups) and keep only CAP_NET_RAW, which raw ICMP sockets need (and SO_BINDTODEVICE on
// kernels before 5.7). Datagram ping sockets need no capability but a ping_group_range
// that covers the user's group. Hooks then run as |user| too: OMR's stock hooks change
// routes and UCI and need root, so the drop is for set-ups without them.
#pragma once

#include <string>

namespace daemon_ {

// False with |err| set when the user is unknown or a call fails; nothing half-done is
// left in a state that keeps root: on a failure after setuid the process must exit.
bool drop_privileges(const std::string &user, std::string *err);

// "uid 65534, gid 65534, capabilities: cap_net_raw" for the start-up log.
std::string describe_credentials();

} // namespace daemon_
