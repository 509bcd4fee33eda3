// omrt-bench-floor: the memory floor of a process like omr-trackerd on this machine, for
// tools/bench (section 2). It is linked against the same shared libraries as the daemon
// (libstdc++, libev, libmnl, libudns, mbedTLS; the build forces them in with
// --no-as-needed), touches a std::string so libstdc++ is really used, and waits for a
// signal. Its RSS is what the C library, the C++ runtime and the libraries cost before
// the daemon does anything: VmRSS minus this is the daemon's own share.
#include <csignal>
#include <cstdio>
#include <string>
#include <unistd.h>

int main()
{
    std::string s(64, 'x'); // libstdc++ in use, like any C++ program
    std::printf("%zu\n", s.size());
    std::fflush(stdout);
    pause();
    return 0;
}
