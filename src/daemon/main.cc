// omr-trackerd: tracks the health of a multi-WAN OpenMPTCProuter router's links and VPS
// servers in one libev loop. Stays in the foreground for procd; see README.md.
#include "core/log.h"
#include "core/loop.h"
#include "core/proctitle.h"
#include "daemon/daemon.h"
#include "omrt/clock.h"
#include "omrt/version.h"

#include <cstdio>
#include <cstring>
#include <getopt.h>

namespace {

void usage(FILE *f)
{
    std::fputs(
            "usage: omr-trackerd [options]\n"
            "  -C, --config-dir DIR   UCI directory (default /etc/config)\n"
            "  -f, --foreground       log to stderr instead of syslog\n"
            "  -l, --log-level LEVEL  debug|info|notice|warning|err (default: daemon.log_level)\n"
            "  -s, --socket PATH      control socket (default: daemon.socket_path)\n"
            "  -o, --status-file PATH status file (default: daemon.status_file)\n"
            "  -u, --user USER        run as USER keeping only CAP_NET_RAW\n"
            "                         (default: daemon.user)\n"
            "      --check-config     print the effective configuration and exit\n"
            "                         (0 valid, 1 invalid)\n"
            "  -V, --version          print the version and exit\n"
            "  -h, --help             this text\n"
            "signals: TERM/INT exit, HUP reload, USR1 recheck everything now\n",
            f);
}

} // namespace

int main(int argc, char **argv)
{
    // Before anything reads argv: the title area is set aside (omr-schedule's pgrep -f).
    core::proctitle_init(argc, argv);
    enum { OPT_CHECK = 1000 };
    static const struct option longopts[] = {
            {"config-dir", required_argument, nullptr, 'C'},
            {"foreground", no_argument, nullptr, 'f'},
            {"log-level", required_argument, nullptr, 'l'},
            {"socket", required_argument, nullptr, 's'},
            {"status-file", required_argument, nullptr, 'o'},
            {"user", required_argument, nullptr, 'u'},
            {"check-config", no_argument, nullptr, OPT_CHECK},
            {"version", no_argument, nullptr, 'V'},
            {"help", no_argument, nullptr, 'h'},
            {nullptr, 0, nullptr, 0},
    };
    daemon_::Options opts;
    bool check = false;
    int c;
    while ((c = getopt_long(argc, argv, "C:fl:s:o:u:Vh", longopts, nullptr)) != -1) {
        switch (c) {
        case 'C':
            opts.config_dir = optarg;
            break;
        case 'f':
            opts.log_stderr = true;
            break;
        case 'l':
            opts.log_level = core::log_level_from_name(optarg);
            if (opts.log_level < 0) {
                std::fprintf(stderr,
                             "omr-trackerd: invalid log level '%s' "
                             "(expected debug, info, notice, warning or err)\n",
                             optarg);
                return 2;
            }
            break;
        case 's':
            opts.socket_override = optarg;
            break;
        case 'o':
            opts.status_override = optarg;
            break;
        case 'u':
            opts.user = optarg;
            break;
        case OPT_CHECK:
            check = true;
            break;
        case 'V':
            std::printf("omr-trackerd %s\n", OMRT_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "omr-trackerd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    if (check)
        return daemon_::check_config(opts.config_dir);

    core::log_init("omr-trackerd", opts.log_stderr ? core::LogSink::Stderr : core::LogSink::Syslog,
                   opts.log_level >= 0 ? opts.log_level : LOG_INFO);

    omrt::SystemClock clock;
    core::Loop loop;
    daemon_::Daemon d(loop, clock, opts);
    if (!d.start())
        return 1;
    loop.run();
    LOGN("stopped");
    return 0;
}
