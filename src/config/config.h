// The daemon's configuration: OMR's UCI files, read unchanged (reference §2), turned into
// one immutable, validated Config (STYLE.md §14).
//
// Sources, all under one directory (default /etc/config, -C DIR in tests and the lab):
//   omr-tracker     sections defaults / interface / server / proxy / gre (+ our `daemon`)
//   openmptcprouter sections server (the VPSes), settings, interface-named sections
//   network         interfaces and globals
// Loading is pure apart from reading the three files: load_config() returns either a
// Config or the complete list of errors, each naming file:line, section, option, value
// and the allowed range. Nothing is applied until the whole set is valid, so a bad file
// on SIGHUP leaves the running configuration in place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cfg {

// One problem found while loading. |line| is 0 when the file itself is the problem.
struct Diag {
    std::string file;
    int line = 0;
    std::string section; // "interface 'wan1'" style, may be empty
    std::string option;  // may be empty
    std::string value;   // the offending value, may be empty
    std::string message; // what is wrong and what is allowed
    bool warning = false;
    // "/etc/config/omr-tracker:12: interface 'wan1': option 'tries': invalid value 'x'
    // (expected an integer 1..100)"
    std::string format() const;
};

enum class Family : uint8_t { ipv4, ipv6, ipv4ipv6 };
enum class ProbeType : uint8_t { none, ping, httping, dns, glorytun_udp };
enum class ServerCheck : uint8_t { api, ping, apiping, none };

const char *family_name(Family f);            // "ipv4", "ipv6", "ipv4ipv6"
const char *probe_type_name(ProbeType t);     // "none", "ping", "httping", "dns", "glorytun-udp"
const char *server_check_name(ServerCheck t); // "api", "ping", "apiping", "none"

// Interface-tracker options: `defaults` merged with `interface NAME` (reference §2.1).
// Durations keep the shell tracker's unit, seconds, and say so in their names.
struct TrackerOptions {
    bool enabled = true;
    std::vector<std::string> hosts;
    std::vector<std::string> hosts6;
    ProbeType type = ProbeType::ping;
    Family family = Family::ipv4;
    unsigned timeout_s = 2;
    unsigned count = 2;
    unsigned size = 56;
    unsigned max_ttl = 60;
    unsigned tries = 5;
    unsigned tries_up = 5; // = tries when unset (reference §2.1 "C = tries")
    unsigned interval_s = 2;
    unsigned interval_tries_s = 1;
    // 0: use interval_s. load_config() resolves it (unset or 0 → interval_s), so a loaded
    // Config never holds 0 here.
    unsigned failure_interval_s = 0;
    unsigned wait_test_s = 0;
    bool check_quality = false;
    unsigned failure_loss_pct = 40;
    unsigned failure_latency_ms = 1000;
    unsigned recovery_loss_pct = 10;
    unsigned recovery_latency_ms = 500;
    bool server_test = false;
    bool server_http_test = false;
    // Accepted for compatibility; the shell tracker never used them (reference §2.1,
    // Appendix A.9). A later issue may give them a meaning.
    unsigned reliability = 1;
    std::string initial_state = "online";
    bool keep_failure_interval = false;
    std::string options;
    // Read by OMR's hooks, carried so hooks and alerts see them.
    bool restart_down = false;
    bool mail_alert = false;
    std::string script_alert_up;
    std::string script_alert_down;
    // omr-trackerd's extensions (DESIGN.md "Interface tracker"); their defaults keep the
    // shell tracker's behaviour.
    unsigned window = 20;       // probe outcomes kept per target for the statistics
    bool up_hysteresis = false; // ERROR -> OK needs `tries_up` good attempts in a row
    bool flap_damping = false;  // hold a flapping interface down (penalty/half-life)
    unsigned flap_half_life_s = 60;
    bool adaptive_timeout = false; // probe timeout = RFC 6298 RTO, within min..timeout
    unsigned min_timeout_ms = 500;
    bool hooks_on_change_only = false;              // run post-tracking hooks on transitions only
    std::string dns_query_name = "one.one.one.one"; // type dns: the name asked (§3.3)

    bool operator==(const TrackerOptions &o) const;
    bool operator!=(const TrackerOptions &o) const { return !(*this == o); }
};

// `network` interface fields the trackers and hooks use (reference §2.5).
struct NetworkIface {
    std::string device; // `device`, else `ifname` (OpenWrt < 21 name)
    std::string proto;
    std::string multipath; // on|master|backup|handover|off|""
    std::string gateway;
    std::string ip6gw;
    std::string ipv6; // "0", "1", "auto" or ""
    unsigned metric = 0;
    bool auto_up = true;
    bool disabled = false;

    bool operator==(const NetworkIface &o) const;
};

// One tracked interface: the result of the `_launch_tracker` selection (reference §1.2).
struct Interface {
    std::string name; // netifd/UCI interface name, e.g. "wan1"
    NetworkIface net;
    TrackerOptions opts;
    int line = 0; // where its omr-tracker section starts (0: defaults only)

    bool operator==(const Interface &o) const
    {
        return name == o.name && net == o.net && opts == o.opts;
    }
};

// An interface of /etc/config/network that is not tracked, and why (--check-config).
struct Skipped {
    std::string name;
    std::string why;
};

// `server` section of omr-tracker merged over `defaults` (reference §2.3).
struct ServerTrackerOptions {
    bool enabled = true;
    ServerCheck type = ServerCheck::apiping;
    unsigned tries = 4;
    unsigned timeout_s = 5;
    unsigned interval_s = 10;
    unsigned interval_tries_s = 2;
    unsigned wait_test_s = 0;
    bool mail_alert = false;

    bool operator==(const ServerTrackerOptions &o) const;
};

// A VPS: `config server NAME` of /etc/config/openmptcprouter.
struct Server {
    std::string name;               // section name, e.g. "vps"
    std::vector<std::string> hosts; // `list ip`: addresses or host names, in order
    unsigned port = 65500;
    std::string username = "openmptcprouter";
    std::string password; // the "VPS key"; never logged or printed
    bool master = false;
    bool backup = false;
    // omr-trackerd: the API's certificate policy: insecure (the shell's curl -k), pin
    // (SHA-256 of the public key, trusted on first use or given in tls_pin), ca (tls_ca_file
    // + tls_name, default the first host name of `ip`).
    std::string tls_policy = "insecure";
    std::string tls_pin;
    std::string tls_ca_file;
    std::string tls_name;
    int line = 0;

    bool operator==(const Server &o) const;
};

// openmptcprouter.settings (reference §2.5): only what the daemon reads.
struct OmrSettings {
    // OMR ships disable_ipv6=1. load_config() follows the shell: only a true value in the
    // file disables IPv6, an unset option (or no file) leaves it on.
    bool disable_ipv6 = true;
    std::string vpn;
    std::string proxy;
    std::string master;
};

// Options of omr-trackerd itself: an optional `config daemon 'daemon'` section in
// /etc/config/omr-tracker (the shell tracker ignores unknown sections).
struct DaemonOptions {
    std::string socket_path = "/var/run/omr-trackerd.sock";
    std::string status_file = "/var/run/omr-trackerd.json";
    std::string log_level = "info";
    std::string hooks_dir = "/usr/share/omr/post-tracking.d";
    std::string server_hooks_dir = "/usr/share/omr/server-post-tracking.d";
    unsigned hook_timeout_s = 300; // then SIGTERM, and SIGKILL 5 s later
    // Run as this user after start-up, keeping only CAP_NET_RAW ("": stay root). Read at
    // start only: a dropped process cannot take root back on reload.
    std::string user;
    // Trust-on-first-use certificate pins (tls_policy pin); on flash, written only when a
    // server is first seen.
    std::string pin_file = "/etc/omr-trackerd.pins";
    // DNS (DESIGN.md "DNS"): where names are resolved and how long answers are trusted.
    std::string dns_resolv_conf = "/etc/resolv.conf";
    std::string dns_resolv_auto = "/tmp/resolv.conf.d/resolv.conf.auto"; // netifd, per WAN
    std::string dns_hosts_file = "/etc/hosts";
    bool dns_per_wan = false; // resolve through each WAN, bound to its device
    unsigned dns_ttl_floor_s = 5;
    unsigned dns_ttl_ceiling_s = 3600;
    bool dns_serve_stale = true;
    unsigned dns_timeout_s = 2;

    bool operator==(const DaemonOptions &o) const;
};

struct Config {
    std::string dir; // where the files were read from
    DaemonOptions daemon;
    OmrSettings settings;
    bool multipath_enabled = true; // network.globals.multipath == "enable"
    TrackerOptions defaults;
    std::vector<Interface> interfaces; // tracked, in network file order
    std::vector<Skipped> skipped;
    ServerTrackerOptions server_opts;
    std::vector<Server> servers;          // enabled (not `disabled`), in file order
    std::vector<Skipped> skipped_servers; // disabled, or without any `ip`
    std::vector<Diag> warnings;           // accepted but worth saying (unknown options, dead ones)

    const Interface *find_interface(const std::string &name) const;
    const Server *find_server(const std::string &name) const;
};

// Reads omr-tracker, openmptcprouter and network from |dir| and validates them.
// A missing omr-tracker or network file is an error; a missing openmptcprouter means
// no servers. Returns false with every error in |errors|, followed by the warnings
// (Diag::warning set), and leaves |out| untouched; on success the warnings go to
// out.warnings. Diags are sorted by file (omr-tracker, openmptcprouter, network), then line.
bool load_config(const std::string &dir, Config &out, std::vector<Diag> &errors);

// The effective configuration in UCI syntax, defaults filled in, secrets masked: what
// `omr-trackerd --check-config` prints.
std::string dump_config(const Config &c);

} // namespace cfg
