// Fuzz target: the rtnetlink parser (nl::parse) and the device table it feeds
// (nl::DeviceTable), i.e. the whole path from a recv() buffer to the link changes the
// trackers act on. The kernel is the only sender, but a bug there (or a message type the
// parser was not written for) must not corrupt the daemon.
//
// The input is one receive buffer, in an exact-size heap block (malloc alignment covers
// netlink's 4 bytes). Every record goes into a fresh table; NLMSG_DONE ends a dump of the
// kind its sequence number selects (mark and sweep). Properties: record fields are in
// range (ifindex > 0, prefix lengths, name lengths); the statistics add up; the table's
// name and index maps agree; changes name present devices consistently.
#include "fuzz_util.h"
#include "netlink/parse.h"
#include "netlink/table.h"

#include <cstring>
#include <net/if.h>
#include <sys/socket.h>
#include <vector>

namespace {

class Sink final : public nl::Sink {
public:
    nl::DeviceTable table;
    unsigned links = 0, addrs = 0, routes = 0, malformed = 0;

    void on_link(const nl::MsgInfo &, const nl::LinkRecord &r) override
    {
        links++;
        FUZZ_CHECK(r.ifindex > 0);
        if (r.has_name)
            FUZZ_CHECK(!r.name.empty() && r.name.size() < IFNAMSIZ);
        table.apply(r);
    }
    void on_addr(const nl::MsgInfo &, const nl::AddrRecord &r) override
    {
        addrs++;
        FUZZ_CHECK(r.ifindex > 0);
        FUZZ_CHECK(r.family == AF_INET || r.family == AF_INET6);
        FUZZ_CHECK(r.prefixlen <= (r.family == AF_INET ? 32 : 128));
        table.apply(r);
    }
    void on_route(const nl::MsgInfo &, const nl::RouteRecord &r) override
    {
        routes++;
        FUZZ_CHECK(r.family == AF_INET || r.family == AF_INET6);
        FUZZ_CHECK(r.dst_len <= (r.family == AF_INET ? 32 : 128));
        FUZZ_CHECK(r.multipath || r.nexthops.size() <= 1);
        table.apply(r);
    }
    void on_done(const nl::MsgInfo &m, int) override
    {
        table.dump_end(nl::DeviceTable::Kind(m.seq % 3));
    }
    void on_malformed(const nl::MsgInfo &, const char *why) override
    {
        malformed++;
        FUZZ_CHECK(why && *why);
    }
};

void check_table(const nl::DeviceTable &t)
{
    size_t n = 0;
    t.for_each_device([&](const nl::DeviceState &st) {
        n++;
        FUZZ_CHECK(st.present && !st.name.empty());
        const nl::DeviceState *by_name = t.find(st.name);
        const nl::DeviceState *by_index = t.find(st.ifindex);
        FUZZ_CHECK(by_name && by_index && by_name == by_index);
        FUZZ_CHECK(st.usable == nl::device_usable(st.flags, st.operstate, st.carrier));
        for (int family : {AF_INET, AF_INET6}) {
            const nl::Address *a = st.preferred_address(family);
            FUZZ_CHECK(!a || a->family() == family);
            (void)st.gateway(family);
        }
    });
    FUZZ_CHECK(n == t.device_count());
    for (const nl::DefaultRoute &r : t.default_routes())
        FUZZ_CHECK(r.family == AF_INET || r.family == AF_INET6);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *buf = std::malloc(size ? size : 1);
    if (size)
        std::memcpy(buf, data, size);
    FUZZ_CHECK(reinterpret_cast<uintptr_t>(buf) % 4 == 0);

    Sink sink;
    sink.table.dump_begin(nl::DeviceTable::Kind::Links);
    sink.table.dump_begin(nl::DeviceTable::Kind::Addrs);
    sink.table.dump_begin(nl::DeviceTable::Kind::Routes);
    nl::ParseStats st = nl::parse(buf, size, sink);
    FUZZ_CHECK(st.links == sink.links && st.addrs == sink.addrs && st.routes == sink.routes);
    FUZZ_CHECK(st.malformed == sink.malformed);
    FUZZ_CHECK(st.links + st.addrs + st.routes + st.ignored + st.malformed <= st.messages);
    check_table(sink.table);

    std::vector<nl::LinkChange> changes;
    sink.table.take_changes(changes);
    FUZZ_CHECK(!sink.table.has_changes());
    for (const nl::LinkChange &c : changes) {
        FUZZ_CHECK(!c.name.empty() && c.what != 0);
        FUZZ_CHECK(c.state.present == (c.ifindex != 0));
        if (c.state.present)
            FUZZ_CHECK(c.state.name == c.name && c.state.ifindex == c.ifindex);
        (void)nl::change_names(c.what);
    }

    // The same buffer again, on top: updates and deletions of what exists.
    nl::parse(buf, size, sink);
    check_table(sink.table);
    sink.table.clear();
    FUZZ_CHECK(sink.table.device_count() == 0);
    std::free(buf);
    return 0;
}
