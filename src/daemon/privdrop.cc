#include "daemon/privdrop.h"

#include "core/str.h"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace daemon_ {

namespace {

bool set_caps(uint32_t permitted, uint32_t effective)
{
    struct __user_cap_header_struct hdr = {};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    struct __user_cap_data_struct data[2] = {};
    data[0].permitted = permitted;
    data[0].effective = effective;
    return syscall(SYS_capset, &hdr, data) == 0;
}

bool get_caps(uint32_t &permitted, uint32_t &effective)
{
    struct __user_cap_header_struct hdr = {};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    struct __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &hdr, data) != 0)
        return false;
    permitted = data[0].permitted;
    effective = data[0].effective;
    return true;
}

} // namespace

bool drop_privileges(const std::string &user, std::string *err)
{
    errno = 0;
    struct passwd *pw = getpwnam(user.c_str());
    if (!pw) {
        *err = core::strprintf("unknown user '%s'", user.c_str());
        return false;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    const uint32_t raw = 1u << CAP_NET_RAW;
    // Keep the permitted set across setuid(), then trim it to CAP_NET_RAW.
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || initgroups(user.c_str(), gid) != 0 ||
        setgid(gid) != 0 || setuid(uid) != 0) {
        *err = core::strprintf("cannot become %s (uid %u gid %u): %s", user.c_str(), unsigned(uid),
                               unsigned(gid), std::strerror(errno));
        return false;
    }
    if (!set_caps(raw, raw)) {
        *err = core::strprintf("became %s but cannot keep CAP_NET_RAW: %s", user.c_str(),
                               std::strerror(errno));
        return false;
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    // Setting uid 0 back must fail now: prove the drop.
    if (uid != 0 && setuid(0) == 0) {
        *err = "setuid(0) still works after the drop";
        return false;
    }
    return true;
}

std::string describe_credentials()
{
    uint32_t perm = 0, eff = 0;
    get_caps(perm, eff);
    std::string caps;
    if (eff == 0)
        caps = "none";
    else if (eff == (1u << CAP_NET_RAW))
        caps = "cap_net_raw";
    else
        caps = core::strprintf("0x%08x", eff);
    return core::strprintf("uid %u, gid %u, capabilities: %s", unsigned(getuid()),
                           unsigned(getgid()), caps.c_str());
}

} // namespace daemon_
