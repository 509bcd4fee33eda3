// The address book: every host name the configuration uses (servers' `ip` entries,
// interfaces' `hosts`/`hosts6`) kept resolved by the DNS module, without ever blocking,
// and the consumers told when an address set changes (DDNS).
//
// Resolution is done by the system resolver (/etc/resolv.conf, or the configured file),
// or — with `option dns_per_wan '1'` — through each WAN: one udns context per WAN
// device, bound to it (SO_BINDTODEVICE) and using that WAN's name servers (netifd's
// resolv.conf.auto block, else the system's), so a name is resolved through the link
// being judged. A server's addresses are then the union of what the WANs answered.
#pragma once

#include "config/config.h"
#include "core/loop.h"
#include "dns/names.h"
#include "dns/resolver.h"
#include "omrt/clock.h"
#include "omrt/ipaddr.h"

#include <memory>
#include <string>
#include <vector>

namespace core {
class JsonWriter;
}

namespace sched {

class AddressListener {
public:
    // The addresses of |host| changed (first answer included).
    virtual void on_addresses_changed(const std::string &host,
                                      const std::vector<omrt::IpAddr> &old_addrs,
                                      const std::vector<omrt::IpAddr> &new_addrs) = 0;

protected:
    ~AddressListener() = default;
};

// Where a host stands, for the consumers' status (servers' DNS diagnosis).
struct HostAddresses {
    std::vector<omrt::IpAddr> addrs; // union over the resolver contexts
    // ok when some context's last refresh succeeded, else the first context's failure.
    omrt::Reason reason = omrt::Reason::pending;
    std::string message;
    bool stale = false; // no context has a fresh answer: addrs are kept from earlier ones
    bool literal = false;
};

// Told when a host's DNS state (reason, staleness) changes without its addresses
// changing: a refresh started failing (the last good answer is kept) or works again.
class HostStateObserver {
public:
    virtual void on_host_state_changed(const std::string &host) = 0;

protected:
    ~HostStateObserver() = default;
};

class AddressBook final : private dns::NameListener {
public:
    AddressBook(core::Loop &loop, const omrt::Clock &clock, AddressListener &listener);
    ~AddressBook();
    AddressBook(const AddressBook &) = delete;
    AddressBook &operator=(const AddressBook &) = delete;

    // Watches every name of |c| (and forgets the ones gone). |wans|: WAN name -> device,
    // for per-WAN resolution.
    void configure(const cfg::Config &c,
                   const std::vector<std::pair<std::string, std::string>> &wans);
    // Addresses of |host| (a literal resolves to itself), all contexts together.
    HostAddresses lookup(const std::string &host) const;
    // At most one; null to stop. Must outlive the book or be unset first.
    void set_state_observer(HostStateObserver *o) { observer_ = o; }
    // Re-resolve soon (rate-limited by the DNS module).
    void refresh(const std::string &host, const char *why);
    void refresh_wan(const std::string &wan, const char *why);
    void refresh_all(const char *why);
    // The DNS status of |host| as JSON: one object per resolver context.
    void write_json(core::JsonWriter &w, const std::string &host) const;
    // Total queries sent (A + AAAA), for metrics.
    uint64_t queries() const;

private:
    struct Watch {
        std::string host;
        std::string wan; // "" = system resolver
        dns::NameId id = 0;
    };
    struct Context {
        std::string wan; // "" = system
        std::string device;
        std::unique_ptr<dns::Resolver> resolver;
    };

    void on_name_changed(dns::NameId id, const dns::NameStatus &st,
                         const dns::AddrList &old_addrs) override;
    void on_name_refreshed(dns::NameId id, const dns::NameStatus &st) override;
    const std::string *host_of(dns::NameId id) const;
    Context &context_for(const std::string &wan, const std::string &device);
    dns::ResolverOptions options_for(const std::string &wan, const std::string &device) const;
    std::vector<omrt::IpAddr> union_of(const std::string &host) const;

    core::Loop &loop_;
    const omrt::Clock &clock_;
    AddressListener &listener_;
    dns::NameTracker names_;
    dns::ResolverOptions base_;
    std::string auto_path_;
    bool per_wan_ = false;
    dns::Family family_ = dns::Family::both;
    std::vector<std::unique_ptr<Context>> contexts_;
    std::vector<Watch> watches_;
    HostStateObserver *observer_ = nullptr;
    struct Seen {
        std::string host;
        omrt::Reason reason;
        bool stale;
    };
    std::vector<Seen> seen_; // the state last told to the observer, per host
};

} // namespace sched
