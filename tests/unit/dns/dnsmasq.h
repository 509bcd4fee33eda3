// A private dnsmasq for tests: loopback address, random port, a `test` zone answered
// from a hostsdir (inotify: an atomically replaced file is re-read without a signal),
// every query logged to a file so tests can count them.
#pragma once

#include "dns/sysconf.h"
#include "test_util.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace dnstest {

inline std::string find_dnsmasq()
{
    for (const char *p : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"})
        if (access(p, X_OK) == 0)
            return p;
    return std::string();
}

// A UDP and TCP port free right now on |ip|.
inline uint16_t free_port(const char *ip)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &sin.sin_addr);
    socklen_t len = sizeof sin;
    uint16_t port = 0;
    if (bind(fd, reinterpret_cast<sockaddr *>(&sin), sizeof sin) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr *>(&sin), &len) == 0)
        port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

class Dnsmasq {
public:
    ~Dnsmasq()
    {
        stop();
        if (!dir_.empty()) {
            std::string cmd = "rm -rf '" + dir_ + "'";
            if (system(cmd.c_str()) != 0) {
            }
        }
    }

    // Starts dnsmasq on |ip| and a free port with the given hosts file content.
    bool start(const char *ip, unsigned local_ttl, const std::string &hosts, std::string *err)
    {
        std::string bin = find_dnsmasq();
        if (bin.empty()) {
            *err = "dnsmasq not installed";
            return false;
        }
        char tmpl[] = "/tmp/omrt-dns-dnsmasq-XXXXXX";
        if (!mkdtemp(tmpl)) {
            *err = "mkdtemp failed";
            return false;
        }
        dir_ = tmpl;
        hostsdir_ = dir_ + "/hostsdir";
        log_ = dir_ + "/dnsmasq.log";
        mkdir(hostsdir_.c_str(), 0755);
        write_hosts(hosts);
        ip_ = ip;
        port_ = free_port(ip);
        std::vector<std::string> args = {
                bin,
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--bind-interfaces",
                "--listen-address=" + ip_,
                "--port=" + std::to_string(port_),
                "--local=/test/",
                "--local-ttl=" + std::to_string(local_ttl),
                "--hostsdir=" + hostsdir_,
                "--host-record=static.test,198.51.100.20,2001:db8:100::20",
                "--log-queries",
                "--log-facility=" + log_,
                "--pid-file=" + dir_ + "/dnsmasq.pid",
        };
        if (getuid() == 0) {
            args.push_back("--user=root");
            args.push_back("--group=root");
        }
        pid_ = fork();
        if (pid_ == 0) {
            std::vector<char *> argv;
            for (std::string &a : args)
                argv.push_back(&a[0]);
            argv.push_back(nullptr);
            int devnull = ::open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execv(argv[0], argv.data());
            _exit(127);
        }
        if (pid_ < 0) {
            *err = "fork failed";
            return false;
        }
        // Ready once it logged its start line (sockets are bound before that).
        core::Loop loop;
        bool up = run_until(
                loop, [&] { return count("started, version") > 0 || !alive(); }, 5);
        if (!up || !alive()) {
            *err = "dnsmasq did not start: " + read_log();
            return false;
        }
        return true;
    }

    bool alive()
    {
        if (pid_ <= 0)
            return false;
        int st;
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }

    void stop()
    {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            int st;
            waitpid(pid_, &st, 0);
            pid_ = -1;
        }
    }

    // Replaces the hosts file atomically (written beside the directory, then renamed
    // into it, so dnsmasq never reads half a file).
    void write_hosts(const std::string &content)
    {
        std::string tmp = dir_ + "/vps.hosts.tmp";
        {
            std::ofstream f(tmp);
            f << content;
        }
        if (rename(tmp.c_str(), (hostsdir_ + "/vps").c_str()) != 0)
            perror("rename");
    }

    std::string read_log() const
    {
        std::ifstream f(log_);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }
    // Lines of the log containing |needle|.
    unsigned count(const std::string &needle) const
    {
        std::ifstream f(log_);
        std::string line;
        unsigned n = 0;
        while (std::getline(f, line))
            if (line.find(needle) != std::string::npos)
                n++;
        return n;
    }
    // Queries dnsmasq logged for |name| and |type| ("A", "AAAA").
    unsigned queries(const std::string &name, const std::string &type) const
    {
        return count("query[" + type + "] " + name + " from");
    }

    dns::ServerAddr server() const
    {
        dns::ServerAddr s;
        dns::parse_ip(ip_, s.addr);
        s.port = port_;
        return s;
    }

private:
    pid_t pid_ = -1;
    std::string dir_, hostsdir_, log_, ip_;
    uint16_t port_ = 0;
};

} // namespace dnstest
